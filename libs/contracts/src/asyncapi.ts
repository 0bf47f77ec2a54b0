import { z } from 'zod';
import { busNames } from './bus.ts';
import type { Channel } from './channel.ts';
import { ErrorPayloadSchema } from './errors.ts';
import { MessageSchema } from './message.ts';
import { clientEvents, DELIVERY_ACK_TIMEOUT_MS, DELIVERY_ACKS_AUTH_FIELD, serverEvents } from './socket-events.ts';
import { busTopology, endpointKey } from './topology.ts';

/**
 * The AsyncAPI 3 document of the system, generated from the contracts (zod → JSON Schema with `z.toJSONSchema`):
 * the Socket.IO events in both directions with their acknowledgements, and the NATS subjects, streams and service
 * endpoints between the services. Subjects are the real ones, built by `busNames` from placeholder tokens.
 */

type Json = Record<string, unknown>;
type Registry = z.core.$ZodRegistry<{ id: string }>;

const pascal = (name: string) => name.replace(/(^|[_.-])([a-z])/g, (_m, _s, c: string) => c.toUpperCase());
const ref = (path: string) => ({ $ref: path });
const escapePointer = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/** Names a schema in a registry (once: a schema shared by several events keeps its first name) and returns its name. */
function name(registry: Registry, schema: z.ZodType, id: string): string {
  const existing = registry.get(schema);
  if (existing) return existing.id;
  registry.add(schema, { id });
  return id;
}

/** Every named schema of a registry as JSON Schema (draft-07, AsyncAPI's schema dialect), referring to each other. */
function schemasOf(registry: Registry, io: 'input' | 'output'): Record<string, Json> {
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-07',
    io,
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      const { $schema: _, $id: __, ...rest } = schema as Json;
      return [id, rest];
    }),
  );
}

/** A `{token}` in an address is a channel parameter. */
function parametersOf(address: string, descriptions: Record<string, string>): Json | undefined {
  const tokens = [...address.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!);
  if (tokens.length === 0) return undefined;
  return Object.fromEntries(tokens.map((token) => [token, { description: descriptions[token] ?? token }]));
}

const PARAMETERS: Record<string, string> = {
  ns: 'The deployment namespace (CHAT_NAMESPACE): 1-32 lower-case letters, digits or "-"',
  partition: 'The partition of the conversation: partitionOf(conversationId, MESSAGE_PARTITIONS)',
  conversationId: 'The conversation id (the two user ids, sorted, joined by "_")',
  type: 'The command type: send, delivered or read',
  userId: 'A user id',
  fileId: 'An uploaded file id',
};

interface NatsChannel {
  key: string;
  channel: Pick<Channel<unknown>, 'subject' | 'schema' | 'template'>;
  from: string;
  to: string;
  summary: string;
  /** The JetStream stream that stores it; none for core NATS. */
  stream?: string;
  /** A service endpoint (request/reply): the schema of a successful answer. */
  reply?: z.ZodType;
}

export interface AsyncApiOptions {
  /** The gateway's version (`info.version`). */
  version: string;
  /** Where the gateway listens, for `servers.gateway.host` (default `localhost:4000`). */
  gatewayHost?: string;
  /** Where NATS listens, for `servers.nats.host` (default `localhost:4222`). */
  natsHost?: string;
}

/** The AsyncAPI 3.0 document (plain JSON). */
export function asyncApiDocument({ version, gatewayHost = 'localhost:4000', natsHost = 'localhost:4222' }: AsyncApiOptions): Json {
  // Client → server payloads are what clients send (zod input); what the server emits is zod output.
  const inputs: Registry = z.registry<{ id: string }>();
  const outputs: Registry = z.registry<{ id: string }>();
  const messages: Record<string, Json> = {};
  const socketMessages: Record<string, Json> = {};
  const operations: Record<string, Json> = {};
  const channels: Record<string, Json> = {};

  name(outputs, MessageSchema, 'Message');
  name(outputs, ErrorPayloadSchema, 'ErrorPayload');

  const socketChannel = '#/channels/socketio';
  const addSocketMessage = (key: string, json: Json) => {
    messages[key] = json;
    socketMessages[key] = ref(`#/components/messages/${key}`);
    return ref(`${socketChannel}/messages/${key}`);
  };

  for (const [event, { payload, ack }] of Object.entries(clientEvents)) {
    const payloadId = name(inputs, payload, `${pascal(event)}Payload`);
    const ackData = name(outputs, ack, `${pascal(event)}AckData`);
    const ackSchema = z.union([
      z.object({ ok: z.literal(true), data: ack }),
      z.object({ ok: z.literal(false), error: ErrorPayloadSchema }),
    ]);
    const ackId = name(outputs, ackSchema, `${pascal(event)}Ack`);
    const message = addSocketMessage(event, {
      name: event,
      title: `${event} (client → server)`,
      payload: ref(`#/components/schemas/${payloadId}`),
    });
    const reply = addSocketMessage(`${event}_ack`, {
      name: `${event}_ack`,
      title: `${event} acknowledgement`,
      summary: `The callback's single argument: { ok: true, data: ${ackData} } or { ok: false, error } (the same payload as the error event).`,
      payload: ref(`#/components/schemas/${ackId}`),
    });
    operations[event] = {
      action: 'receive',
      title: `Client emits ${event}`,
      summary: `Emitted by a client, acknowledged through the Socket.IO callback.`,
      channel: ref(socketChannel),
      messages: [message],
      reply: { channel: ref(socketChannel), messages: [reply] },
    };
  }

  for (const [event, payload] of Object.entries(serverEvents)) {
    const payloadId = name(outputs, payload, `${pascal(event)}Payload`);
    const message = addSocketMessage(`server_${event}`, {
      name: event,
      title: `${event} (server → client)`,
      payload: ref(`#/components/schemas/${payloadId}`),
    });
    operations[`emit_${event}`] = {
      action: 'send',
      title: `Server emits ${event}`,
      ...(event === 'new_message'
        ? {
            description: `With the handshake option \`auth.${DELIVERY_ACKS_AUTH_FIELD}: true\` the client calls the callback passed with it (no arguments) once its device has the message; a message not acknowledged within ${DELIVERY_ACK_TIMEOUT_MS} ms stays undelivered and is sent again on the next connect.`,
          }
        : {}),
      channel: ref(socketChannel),
      messages: [message],
    };
  }

  channels.socketio = {
    address: '/',
    title: 'Socket.IO default namespace',
    description:
      'Socket.IO v4 (Engine.IO over WebSocket or long-polling, path /socket.io/). Authenticate with `auth: { token }` in the handshake or the `authenticate` event. Every client event takes an optional acknowledgement callback.',
    servers: [ref('#/servers/gateway')],
    messages: socketMessages,
  };

  // ---- NATS ----
  const { channels: topology, endpoints } = busTopology();
  const nats: NatsChannel[] = [
    ...topology.map((entry) => ({ ...entry, from: entry.from.join(', '), to: entry.to.join(', ') })),
    ...endpoints.map((endpoint) => ({
      key: endpointKey(endpoint),
      channel: { ...endpoint, schema: endpoint.request },
      from: endpoint.callers.join(', '),
      to: endpoint.service,
      reply: endpoint.reply,
      summary: endpoint.summary,
    })),
  ];
  for (const entry of nats) {
    const payloadId = name(inputs, entry.channel.schema, `${pascal(entry.key)}Payload`);
    const address = entry.channel.subject;
    const parameters = parametersOf(address, PARAMETERS);
    messages[entry.key] = { name: entry.key, payload: ref(`#/components/schemas/${payloadId}`) };
    channels[entry.key] = {
      address,
      title: entry.channel.template,
      summary: entry.summary,
      servers: [ref('#/servers/nats')],
      messages: { [entry.key]: ref(`#/components/messages/${entry.key}`) },
      ...(parameters ? { parameters } : {}),
      ...(entry.stream ? { 'x-jetstream-stream': entry.stream } : { 'x-core-nats': true }),
    };
    const operation: Json = {
      action: 'send',
      title: `${entry.from} → ${entry.to}`,
      summary: entry.summary,
      channel: ref(`#/channels/${escapePointer(entry.key)}`),
      messages: [ref(`#/channels/${escapePointer(entry.key)}/messages/${escapePointer(entry.key)}`)],
      'x-publishers': entry.from,
      'x-subscribers': entry.to,
    };
    if (entry.reply) {
      const replyKey = `${entry.key}Reply`;
      const replyId = name(outputs, entry.reply, `${pascal(entry.key)}Response`);
      messages[replyKey] = {
        name: replyKey,
        summary:
          'The answer; an error travels as NATS service error headers (Nats-Service-Error-Code, Nats-Service-Error) carrying a stable error code.',
        payload: ref(`#/components/schemas/${replyId}`),
      };
      channels[replyKey] = {
        address: null,
        title: `${entry.key} reply (the requester's inbox)`,
        servers: [ref('#/servers/nats')],
        messages: { [replyKey]: ref(`#/components/messages/${replyKey}`) },
      };
      operation.reply = {
        channel: ref(`#/channels/${escapePointer(replyKey)}`),
        messages: [ref(`#/channels/${escapePointer(replyKey)}/messages/${escapePointer(replyKey)}`)],
      };
      operation['x-nats-micro-service'] = entry.to;
    }
    operations[`nats_${entry.key}`] = operation;
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Real-time chat: Socket.IO events and NATS subjects',
      version,
      description:
        "Generated from libs/contracts. Socket.IO operations are written from the gateway's side (receive: a client emits; send: the server emits). NATS operations are written from the publisher's side; x-publishers and x-subscribers name the services. Every subject lives under the namespace {ns}; JetStream streams are named after it upper-cased.",
    },
    defaultContentType: 'application/json',
    servers: {
      gateway: { host: gatewayHost, protocol: 'ws', pathname: '/socket.io/', title: 'The Socket.IO gateway' },
      nats: { host: natsHost, protocol: 'nats', title: 'NATS (with JetStream) between the services' },
    },
    channels,
    operations,
    components: {
      schemas: { ...schemasOf(inputs, 'input'), ...schemasOf(outputs, 'output') },
      messages,
    },
    'x-jetstream-streams': Object.values(busNames('{ns}').streams).map((stream) => ({ name: stream.name, subjects: stream.subjects })),
  };
}
