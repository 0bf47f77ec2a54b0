import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { restSchemaRegistry } from '@chat/contracts';

type JsonSchema = Record<string, unknown>;
type OverrideContext = { zodSchema: { _zod: { def: { type: string } } }; jsonSchema: JsonSchema };

/** zod's openapi-3.0 rendering of `z.null()`: the only schema that accepts `null` alone. */
const isNullBranch = (schema: JsonSchema): boolean =>
  schema.nullable === true && Array.isArray(schema.enum) && schema.enum.length === 1 && schema.enum[0] === null;

/** OpenAPI 3.0's schema of `null` alone (what zod and @fastify/swagger write for `z.null()`). */
const NULL_ONLY = { type: 'object', nullable: true, enum: [null] };

/**
 * OpenAPI 3.0 applies `nullable` only beside a `type`; ajv refuses to compile it otherwise, and generators read
 * it as "not nullable". The provider's default folds a union's `null` branch into `nullable: true` next to
 * `anyOf` (offerDetails' values), and zod writes a nullable `$ref` as `nullable` next to `allOf`. This override
 * folds `null` only into a single branch that has a `type`, and otherwise keeps (or adds) it as an `anyOf` branch.
 */
function override({ zodSchema, jsonSchema }: OverrideContext): void {
  if (zodSchema._zod.def.type === 'union' && Array.isArray(jsonSchema.anyOf)) {
    const anyOf = (jsonSchema.anyOf as JsonSchema[]).filter((branch) => Object.keys(branch).length > 0);
    const others = anyOf.filter((branch) => !isNullBranch(branch));
    jsonSchema.anyOf = anyOf;
    const only = others[0];
    if (others.length === 1 && others.length < anyOf.length && only !== undefined && only.type !== undefined) {
      delete jsonSchema.anyOf;
      Object.assign(jsonSchema, only, { nullable: true });
    }
  }
  if (jsonSchema.nullable === true && jsonSchema.type === undefined) {
    delete jsonSchema.nullable;
    const { allOf, ...rest } = jsonSchema;
    const inner =
      Array.isArray(allOf) && allOf.length === 1 && Object.keys(rest).length === 0 ? (allOf[0] as JsonSchema) : { ...jsonSchema };
    for (const key of Object.keys(jsonSchema)) delete jsonSchema[key];
    jsonSchema.anyOf = [inner, NULL_ONLY];
  }
}

const config = { schemaRegistry: restSchemaRegistry, zodToJsonConfig: { override: override as never } };

/** Route schemas (zod) to OpenAPI, with the contracts' named schemas as `$ref`s. */
export const openapiTransform: ReturnType<typeof createJsonSchemaTransform> = createJsonSchemaTransform(config);

const refsIn = (value: unknown): string[] =>
  [...JSON.stringify(value).matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((match) => match[1]!);

/**
 * Adds the named schemas to `components.schemas`. The provider adds an `…Input` copy of each (requests are
 * validated as zod input); the copies no route refers to are left out, so that generated clients get no unused types.
 */
const transformObject = createJsonSchemaTransformObject(config);
export const openapiTransformObject: typeof transformObject = (document) => {
  const object = transformObject(document);
  const schemas = (object as { components?: { schemas?: Record<string, unknown> } }).components?.schemas;
  if (!schemas) return object;
  const queue = [...refsIn({ ...object, components: {} }), ...Object.keys(schemas).filter((id) => !id.endsWith('Input'))];
  const reachable = new Set<string>();
  for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
    if (reachable.has(id) || !(id in schemas)) continue;
    reachable.add(id);
    queue.push(...refsIn(schemas[id]));
  }
  for (const id of Object.keys(schemas)) if (!reachable.has(id)) delete schemas[id];
  return object;
};

type TransformInput = Parameters<typeof openapiTransform>[0];

/**
 * A route's own `swaggerTransform` (route `config`): the zod schemas as usual, plus documentation that cannot be
 * a validating schema: a multipart body the route leaves to the uploads service, binary and redirect answers.
 */
export function documented(extra: { body?: JsonSchema; response?: Record<string, JsonSchema> }) {
  return (input: TransformInput) => {
    const { schema, url } = openapiTransform(input);
    const base = (schema ?? {}) as JsonSchema & { response?: Record<string, unknown> };
    return {
      url,
      schema: {
        ...base,
        ...(extra.body ? { body: extra.body } : {}),
        ...(extra.response ? { response: { ...base.response, ...extra.response } } : {}),
      },
    };
  };
}
