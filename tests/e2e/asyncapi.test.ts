import { describe, expect, it } from 'vitest';
import { Parser } from '@asyncapi/parser';
import { busNames, CLIENT_EVENT_NAMES, clientEvents, serverEvents, type ConversationId } from '@chat/contracts';
import { emitWithAck } from '@chat/testing';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { useSystem } from '../support/system.ts';

/**
 * The AsyncAPI document the gateway serves beside /openapi.json: generated from the contracts, valid for the
 * AsyncAPI parser, covering every Socket.IO event (with its acknowledgement) and the NATS subjects and endpoints.
 */
const system = useSystem();

type Json = Record<string, unknown>;
interface Document {
  asyncapi: string;
  channels: Record<string, { address: string | null; messages: Record<string, { $ref: string }>; parameters?: Json }>;
  operations: Record<string, { action: string; channel: { $ref: string }; reply?: Json }>;
  components: { schemas: Record<string, Json>; messages: Record<string, { name: string; payload: { $ref: string } }> };
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

async function fetchDocument(gateway = system.gateway): Promise<Response> {
  return fetch(`${gateway.url}/asyncapi.json`);
}

/** A validator of one component schema of the document (draft-07, as AsyncAPI's schemas are). */
function validatorOf(doc: Document, id: string) {
  const ajv = new Ajv({ strict: false });
  addFormats(ajv);
  const definitions = JSON.parse(
    JSON.stringify(doc.components.schemas).replaceAll('"#/components/schemas/', '"components#/definitions/'),
  ) as Json;
  ajv.addSchema({ $id: 'components', definitions });
  return ajv.compile({ $ref: `components#/definitions/${id}` });
}

const schemaIdOf = (doc: Document, messageKey: string) => doc.components.messages[messageKey]!.payload.$ref.split('/').pop()!;

describe('AsyncAPI document', () => {
  it('is an AsyncAPI 3 document the parser accepts without errors or warnings', async () => {
    const response = await fetchDocument();
    expect(response.status).toBe(200);
    const doc = (await response.json()) as Document;
    expect(doc.asyncapi).toMatch(/^3\./);
    const { document, diagnostics } = await new Parser().parse(doc as never);
    // Severity 0 is an error, 1 a warning (2 and 3 are information and hints).
    expect(diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`)).toEqual([]);
    expect(document).toBeDefined();
    expect(document!.operations().length).toBe(Object.keys(doc.operations).length);
  });

  it('has every Socket.IO event in both directions, client events with their acknowledgement', async () => {
    const doc = (await (await fetchDocument()).json()) as Document;
    const socket = doc.channels.socketio!;
    for (const event of CLIENT_EVENT_NAMES) {
      const operation = doc.operations[event]!;
      expect(operation.action).toBe('receive');
      expect(socket.messages[event]).toBeDefined();
      expect(operation.reply).toMatchObject({ messages: [{ $ref: `#/channels/socketio/messages/${event}_ack` }] });
    }
    for (const event of Object.keys(serverEvents)) {
      expect(doc.operations[`emit_${event}`]!.action).toBe('send');
      expect(doc.components.messages[`server_${event}`]!.name).toBe(event);
    }
    expect(Object.keys(clientEvents).length + Object.keys(serverEvents).length).toBe(
      Object.values(doc.operations).filter((op) => op.channel.$ref === '#/channels/socketio').length,
    );
  });

  it('names the real NATS subjects, streams and service endpoints', async () => {
    const doc = (await (await fetchDocument()).json()) as Document;
    const names = busNames('{ns}');
    const addresses = Object.values(doc.channels).map((channel) => channel.address);
    expect(addresses).toContain(names.messageCreated('{conversationId}' as ConversationId).subject);
    expect(addresses).toContain(names.messagesService.history.subject);
    expect(addresses).toContain(names.presence.service.status.subject);
    expect(doc.channels.conversationCommand!.address).toBe('{ns}.cmd.conv.{partition}.{conversationId}.{type}');
    expect(Object.keys(doc.channels.conversationCommand!.parameters ?? {})).toEqual(['ns', 'partition', 'conversationId', 'type']);
    expect(doc.channels.conversationCommand).toMatchObject({ 'x-jetstream-stream': names.streams.commands.name });
    expect(doc.operations.nats_history!.reply).toMatchObject({ messages: [{ $ref: '#/channels/historyReply/messages/historyReply' }] });
  });

  it('has schemas that accept what the system really sends', async () => {
    const doc = (await (await fetchDocument()).json()) as Document;
    const a = await system.connectAs('aa-alice');
    await system.connectAs('aa-bob');
    const conversationId = 'aa-alice_aa-bob';
    const payload = {
      conversationId,
      receiverId: 'aa-bob',
      messageType: 'text' as const,
      content: { text: 'hi' },
      clientMessageId: 'aa-1',
    };
    expect(validatorOf(doc, schemaIdOf(doc, 'send_message'))(payload)).toBe(true);
    const ack = await emitWithAck(a, 'send_message', payload);
    const validateAck = validatorOf(doc, schemaIdOf(doc, 'send_message_ack'));
    expect(validateAck(ack), JSON.stringify(validateAck.errors)).toBe(true);
    const refused = await emitWithAck(a, 'send_message', { ...payload, receiverId: 'someone-else' });
    expect(refused.ok).toBe(false);
    expect(validateAck(refused), JSON.stringify(validateAck.errors)).toBe(true);
    expect(validatorOf(doc, schemaIdOf(doc, 'send_message'))({ ...payload, messageType: 'video' })).toBe(false);
  });

  it('is not served with API_DOCS_ENABLED=false', async () => {
    const gateway = await system.addGateway({ API_DOCS_ENABLED: 'false' });
    expect((await fetchDocument(gateway)).status).toBe(404);
  });
});
