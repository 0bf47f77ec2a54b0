import { z } from 'zod';

/**
 * The two shapes of every NATS contract, at the bottom of the contracts (they import nothing else): a `Channel`
 * (a subject and what travels on it) and an `Endpoint` (a service's request/reply: both schemas together).
 */

export const NamespaceSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'a namespace is 1-32 lower-case letters, digits or "-", starting with a letter');
/** Every subject is under one: several deployments (or test runs) can share one NATS. */
export type Namespace = z.infer<typeof NamespaceSchema>;

/** A subject together with the schema of what travels on it. */
export interface Channel<T> {
  readonly subject: string;
  readonly schema: z.ZodType<T>;
  /**
   * The subject with its ids and namespace left out (`deliver.user`, `evt.message.created`): span names and
   * metric labels use it, so that they stay low-cardinality.
   */
  readonly template: string;
}

export const channel = <T>(subject: string, schema: z.ZodType<T>, template: string): Channel<T> => ({ subject, schema, template });

/** One request/reply endpoint of a NATS micro service: what is asked and what is answered, in one place. */
export interface Endpoint<Req, Res> {
  readonly subject: string;
  /** The service that serves it (its name in NATS' service discovery). */
  readonly service: string;
  /** Its name in the service's info and stats, and the `endpoint` label of `chat_rpc_requests_total`. */
  readonly name: string;
  readonly request: z.ZodType<Req>;
  readonly reply: z.ZodType<Res>;
  /** `rpc.<service>.<name>`: span names. */
  readonly template: string;
  /** What it answers, in a line (AsyncAPI, the services' READMEs). */
  readonly summary: string;
  /** The services that call it. */
  readonly callers: readonly string[];
}

/** The request and reply types of an endpoint. */
export type RequestOf<E> = E extends Endpoint<infer Req, unknown> ? Req : never;
export type ReplyOf<E> = E extends Endpoint<unknown, infer Res> ? Res : never;

/** Builds the endpoints of one service: `<ns>.rpc.<service>.<name>`. */
export function endpointsOf(ns: Namespace, service: string) {
  return <Req, Res>(
    name: string,
    request: z.ZodType<Req>,
    reply: z.ZodType<Res>,
    { summary, callers }: { summary: string; callers: readonly string[] },
  ): Endpoint<Req, Res> => ({
    subject: `${ns}.rpc.${service}.${name}`,
    service,
    name,
    request,
    reply,
    template: `rpc.${service}.${name}`,
    summary,
    callers,
  });
}
