import { describe, expect, it } from 'vitest';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { useSystem } from '../support/system.ts';

/**
 * The OpenAPI document is what clients are generated from: it must pass a validator of the OpenAPI schema, every
 * schema in it must compile (ajv, strict), and every operation must have the name a generator gives its method.
 */
const system = useSystem({ messages: false });

type Schema = Record<string, unknown>;
interface Operation {
  operationId?: string;
  requestBody?: { content: Record<string, { schema: Schema }> };
  parameters?: { schema: Schema }[];
  responses: Record<string, { headers?: Record<string, { schema: Schema }>; content?: Record<string, { schema: Schema }> }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/**
 * OpenAPI 3.0's schema dialect as JSON Schema for ajv: component refs into one schema of definitions, and the
 * draft-4 boolean `exclusiveMinimum`/`exclusiveMaximum` as numbers. `nullable` is ajv's own (it needs a `type`).
 */
function forAjv(schema: unknown): Schema {
  return JSON.parse(
    JSON.stringify(schema).replaceAll('"#/components/schemas/', '"components#/definitions/'),
    function (this: Schema, _key, value: unknown) {
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const node = { ...(value as Schema) };
        for (const [flag, bound] of [
          ['exclusiveMinimum', 'minimum'],
          ['exclusiveMaximum', 'maximum'],
        ] as const) {
          if (typeof node[flag] === 'boolean') {
            if (node[flag]) node[flag] = node[bound];
            else delete node[flag];
            if (node[flag] !== undefined) delete node[bound];
          }
        }
        return node;
      }
      return value;
    },
  ) as Schema;
}

function ajvWithComponents(doc: Document): Ajv {
  const ajv = new Ajv({ strict: true, allErrors: true });
  addFormats(ajv);
  // OpenAPI's own format for file bytes.
  ajv.addFormat('binary', true);
  ajv.addSchema({ $id: 'components', definitions: forAjv(doc.components.schemas) });
  return ajv;
}

async function fetchDocument(): Promise<Document> {
  const response = await fetch(`${system.gateway.url}/openapi.json`);
  expect(response.status).toBe(200);
  return (await response.json()) as Document;
}

const operations = (doc: Document) =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
  );

describe('OpenAPI document', () => {
  it('passes the OpenAPI validator', async () => {
    const doc = await fetchDocument();
    expect(doc.openapi).toMatch(/^3\.0\./);
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
  });

  it('names every operation, once', async () => {
    const ops = operations(await fetchDocument());
    expect(ops.length).toBeGreaterThanOrEqual(5);
    const ids = ops.map(({ operation }) => operation.operationId);
    for (const [i, id] of ids.entries()) expect(id, `${ops[i]!.method} ${ops[i]!.path}`).toMatch(/^[a-z][A-Za-z]+$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('shares the message, conversation, envelope and error schemas as components', async () => {
    const doc = await fetchDocument();
    const schemas = doc.components.schemas;
    for (const id of [
      'Message',
      'ConversationSummary',
      'ErrorEnvelope',
      'ConversationListEnvelope',
      'MessagesPageEnvelope',
      'UploadedFileEnvelope',
    ]) {
      expect(schemas[id], id).toBeDefined();
    }
    const byId = Object.fromEntries(operations(doc).map(({ operation }) => [operation.operationId, operation]));
    const json = (op: string, status: string) => byId[op]!.responses[status]!.content!['application/json']!.schema;
    expect(json('listConversations', '200')).toEqual({ $ref: '#/components/schemas/ConversationListEnvelope' });
    expect(json('getConversationMessages', '200')).toEqual({ $ref: '#/components/schemas/MessagesPageEnvelope' });
    expect(json('getConversationMessages', '404')).toEqual({ $ref: '#/components/schemas/ErrorEnvelope' });
    expect(JSON.stringify(schemas.MessagesPage)).toContain('"#/components/schemas/Message"');
    expect(JSON.stringify(schemas.ConversationListEnvelope)).toContain('"#/components/schemas/ConversationSummary"');
    // No unused copies for generators to turn into types.
    const referenced = JSON.stringify(doc);
    for (const id of Object.keys(schemas).filter((name) => name.endsWith('Input')))
      expect(referenced).toContain(`"#/components/schemas/${id}"`);
  });

  it('describes the upload body and both download answers', async () => {
    const byId = Object.fromEntries(operations(await fetchDocument()).map(({ operation }) => [operation.operationId, operation]));
    const upload = byId.uploadFile!;
    expect(upload.requestBody?.content['multipart/form-data']?.schema).toMatchObject({
      type: 'object',
      properties: { file: { type: 'string', format: 'binary' } },
      required: ['file'],
    });
    expect(upload.responses['200']!.content!['application/json']!.schema).toEqual({ $ref: '#/components/schemas/UploadedFileEnvelope' });
    const download = byId.downloadFile!;
    expect(download.responses['200']!.content).toEqual({ 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } });
    expect(download.responses['302']!.content).toBeUndefined();
    expect(download.responses['302']!.headers?.location?.schema).toMatchObject({ type: 'string', format: 'uri' });
    expect(download.responses['404']!.content!['application/json']!.schema).toEqual({ $ref: '#/components/schemas/ErrorEnvelope' });
  });

  it('has only schemas ajv compiles in strict mode', async () => {
    const doc = await fetchDocument();
    const ajv = ajvWithComponents(doc);
    const compiled: string[] = [];
    const compile = (where: string, schema: Schema) => {
      expect(() => ajv.compile(forAjv(schema)), where).not.toThrow();
      compiled.push(where);
    };
    for (const id of Object.keys(doc.components.schemas)) compile(`components.schemas.${id}`, { $ref: `components#/definitions/${id}` });
    for (const { path, method, operation } of operations(doc)) {
      const where = `${method} ${path}`;
      for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) compile(`${where} body ${type}`, media.schema);
      for (const [i, parameter] of (operation.parameters ?? []).entries()) compile(`${where} parameter ${i}`, parameter.schema);
      for (const [status, response] of Object.entries(operation.responses)) {
        for (const [type, media] of Object.entries(response.content ?? {})) compile(`${where} ${status} ${type}`, media.schema);
        for (const [name, header] of Object.entries(response.headers ?? {})) compile(`${where} ${status} header ${name}`, header.schema);
      }
    }
    expect(compiled).toContain('components.schemas.Message');
  });

  it('accepts a stored offer message with offerDetails against the Message schema', async () => {
    const doc = await fetchDocument();
    const validate = ajvWithComponents(doc).compile({ $ref: 'components#/definitions/Message' });
    const message = {
      _id: '65f0c0ffee0000000000abcd',
      conversationId: 'alice_bob',
      senderId: 'alice',
      receiverId: 'bob',
      clientMessageId: 'c-1',
      messageType: 'offer',
      content: { offerAmount: 10, currency: 'EUR', offerDetails: { note: 'x', none: null, tags: ['a', 1] } },
      status: 'sent',
      seq: 1,
      timestamp: '2026-01-01T00:00:00.000Z',
      createdAt: '2026-01-01T00:00:00.000Z',
    };
    expect(validate(message), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...message, content: { ...message.content, offerDetails: { bad: { nested: true } } } })).toBe(false);
  });
});
