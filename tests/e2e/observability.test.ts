import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoClient } from 'mongodb';
import { conversationIdOf, type UserId } from '@chat/contracts';
import { collectEvents, connectClient, createTestContext, emitWithAck, signToken, waitFor, type ChatClient } from '@chat/testing';
import { serviceEnv } from '../support/system.ts';
import { startOtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBackend, spawnGateway, spawnMessages, spawnService, type ServiceProcess } from '../support/processes.ts';
import { samples, uploadFile } from '../support/uploads.ts';

const ctx = createTestContext();
const processes: ServiceProcess[] = [];
const clients: ChatClient[] = [];
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
let env: Record<string, string>;
let mongo: MongoClient;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  mongo = await new MongoClient(ctx.mongoUrl).connect();
  env = serviceEnv(ctx, {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
});

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await Promise.all(processes.map((p) => p.kill('SIGKILL')));
  await receiver?.close();
  await mongo?.close();
  await ctx.cleanup();
});

async function connect(url: string, userId: string, wait: 'authenticated' | false = 'authenticated'): Promise<ChatClient> {
  const client = await connectClient(url, { token: await signToken({ userId }), wait });
  clients.push(client);
  return client;
}

const scrape = async (opsUrl: string) => (await fetch(`${opsUrl}/metrics`)).text();
/** The value of a Prometheus sample, 0 when absent. */
function sample(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}` : ''}`) && !l.startsWith('#'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('observability of the running services', () => {
  let gateway: Awaited<ReturnType<typeof spawnGateway>>;
  let messages: Awaited<ReturnType<typeof spawnMessages>>;
  let presence: Awaited<ReturnType<typeof spawnBackend>>;
  let uploads: ServiceProcess & { opsUrl: string };
  let uploadDir: string;

  beforeAll(async () => {
    uploadDir = await mkdtemp(join(tmpdir(), 'chat-observability-'));
    messages = await spawnBackend('messages', env, { logLevel: 'debug' });
    presence = await spawnBackend('presence', env);
    const uploadsProcess = spawnService('uploads', {
      ...env,
      UPLOAD_DIR: uploadDir,
      UPLOADS_PORT: '0',
      OPS_PORT: '0',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
    });
    processes.push(uploadsProcess);
    await uploadsProcess.waitForLog('"msg":"ready"');
    uploads = Object.assign(uploadsProcess, { opsUrl: `http://127.0.0.1:${/"opsPort":(\d+)/.exec(uploadsProcess.output())![1]}` });
    const uploadsUrl = `http://127.0.0.1:${/"port":(\d+)/.exec(uploadsProcess.output())![1]}`;
    gateway = await spawnGateway({ ...env, UPLOADS_URL: uploadsUrl });
    processes.push(messages, presence, gateway);
  });

  afterAll(async () => {
    await rm(uploadDir, { recursive: true, force: true });
  });

  it('traces one message as one trace: gateway → NATS → messages (and MongoDB) → NATS → gateway', async () => {
    const a = await connect(gateway.url, 'trace-a');
    const b = await connect(gateway.url, 'trace-b');
    const received = collectEvents(b, 'new_message');
    const ack = await emitWithAck(a, 'send_message', {
      conversationId: conversationIdOf('trace-a' as UserId, 'trace-b' as UserId),
      receiverId: 'trace-b',
      messageType: 'text',
      content: { text: 'traced' },
    });
    expect(ack.ok).toBe(true);
    await waitFor(() => received.length === 1);

    const root = () => receiver.spans.find((s) => s.name === 'socket.io send_message' && s.service === 'gateway');
    const traceOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);
    const chainIn = (trace: ReceivedSpan[]) => {
      const byId = new Map(trace.map((s) => [s.spanId, s]));
      const chain = (span: ReceivedSpan): ReceivedSpan[] => {
        const parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
        return parent ? [...chain(parent), span] : [span];
      };
      return chain;
    };
    const emitIn = (trace: ReceivedSpan[]) =>
      trace.find((s) => s.name === 'socket.io emit new_message' && s.attributes['user.id'] === 'trace-b');
    // Spans arrive in batches from three exporters: wait until the whole chain is in.
    await waitFor(
      () => {
        const r = root();
        if (!r) return false;
        const trace = traceOf(r.traceId);
        const emit = emitIn(trace);
        return Boolean(emit && chainIn(trace)(emit)[0] === r);
      },
      { timeoutMs: 15_000 },
    );
    const trace = traceOf(root()!.traceId);
    const chain = chainIn(trace);
    const emitToReceiver = emitIn(trace)!;
    const path = chain(emitToReceiver).map((s) => `${s.service}: ${s.name}`);
    expect(path[0]).toBe('gateway: socket.io send_message');
    expect(path).toContain('gateway: publish cmd.conv.send');
    expect(
      path.some((p) => /^messages: process messages-conversation-\d+$/.test(p)),
      path.join(' > '),
    ).toBe(true);
    expect(path).toContain('messages: publish deliver.user');
    expect(path).toContain('gateway: process deliver.user');
    expect(path.at(-1)).toBe('gateway: socket.io emit new_message');
    // The store's MongoDB writes are in the same trace, under the messages service's consume span. (The
    // receiver's delivery receipt is in it too, as a later command of the same conversation.)
    const consume = chain(emitToReceiver).find((s) => s.service === 'messages' && s.name.startsWith('process messages-conversation-'))!;
    const storeSpansNow = () =>
      traceOf(root()!.traceId).filter(
        (s) =>
          s.service === 'messages' &&
          String(s.attributes['db.system'] ?? s.attributes['db.system.name'] ?? '') === 'mongodb' &&
          chainIn(traceOf(root()!.traceId))(s).includes(consume),
      );
    // The conversation write follows the deliveries (it overlaps the next batch): its span may come a moment later.
    await waitFor(() => storeSpansNow().some((s) => s.name === 'update conversations'), { timeoutMs: 15_000 });
    const storeSpans = storeSpansNow();
    // The store: insert the message, apply it to the conversation — and no update of the message after its insert.
    expect(storeSpans.map((s) => s.name)).toEqual(expect.arrayContaining(['insert messages', 'update conversations']));
    expect(storeSpans.map((s) => s.name)).not.toContain('update messages');
    // NATS spans follow the messaging conventions.
    const publish = trace.find((s) => s.name === 'publish cmd.conv.send')!;
    expect(publish.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.operation.type': 'send' });
    expect(consume.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.operation.type': 'process' });
    // Log lines written while handling it carry the trace and span ids.
    await waitFor(() => messages.output().includes(ack.ok ? ack.data._id : 'no id'));
    const stored = messages
      .output()
      .split('\n')
      .filter((line) => line.includes('"msg":"message stored"'))
      .map((line) => JSON.parse(line) as { trace_id?: string; span_id?: string; messageId?: string });
    const line = stored.find((l) => l.messageId === (ack.ok ? ack.data._id : ''));
    expect(line?.trace_id).toBe(root()!.traceId);
    expect(
      trace.map((s) => s.spanId),
      'the span of the log line',
    ).toContain(line?.span_id);
  });

  it('traces an upload from the gateway into the uploads service, and counts it', async () => {
    const before = await scrape(uploads.opsUrl);
    const answer = await uploadFile(gateway.url, await signToken({ userId: 'trace-up' }), { name: 'site.png', data: samples.png() });
    expect(answer.status).toBe(200);
    await waitFor(
      () => {
        const uploadSpans = receiver.spans.filter((s) => s.service === 'uploads');
        return uploadSpans.some((u) => receiver.spans.some((g) => g.service === 'gateway' && g.traceId === u.traceId));
      },
      { timeoutMs: 15_000 },
    );
    const after = await scrape(uploads.opsUrl);
    expect(sample(after, 'chat_uploads_total', 'outcome="stored"') - sample(before, 'chat_uploads_total', 'outcome="stored"')).toBe(1);
  });

  it('serves /healthz, /readyz and /metrics, and the counters and latency histogram move with traffic', async () => {
    for (const service of [gateway, messages, presence, uploads]) {
      expect((await fetch(`${service.opsUrl}/healthz`)).status).toBe(200);
      const ready = await fetch(`${service.opsUrl}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready' });
    }
    const before = {
      gateway: await scrape(gateway.opsUrl),
      messages: await scrape(messages.opsUrl),
      presence: await scrape(presence.opsUrl),
    };
    const a = await connect(gateway.url, 'metric-a');
    const b = await connect(gateway.url, 'metric-b');
    const received = collectEvents(b, 'new_message');
    for (let i = 0; i < 5; i++) {
      const ack = await emitWithAck(a, 'send_message', {
        conversationId: conversationIdOf('metric-a' as UserId, 'metric-b' as UserId),
        receiverId: 'metric-b',
        messageType: 'text',
        content: { text: `m${i}` },
      });
      expect(ack.ok).toBe(true);
    }
    await emitWithAck(a, 'send_message', { conversationId: 'nobody_zed', receiverId: 'zed', messageType: 'text', content: { text: 'x' } });
    await waitFor(() => received.length === 5);
    // The messages service counts a command once it is acked, just after the delivery the client saw.
    await waitFor(
      async () =>
        sample(await scrape(messages.opsUrl), 'chat_commands_processed_total', 'type="send",outcome="ok"') -
          sample(before.messages, 'chat_commands_processed_total', 'type="send",outcome="ok"') >=
        5,
    );
    const after = {
      gateway: await scrape(gateway.opsUrl),
      messages: await scrape(messages.opsUrl),
      presence: await scrape(presence.opsUrl),
    };

    const moved = (which: 'gateway' | 'messages' | 'presence', name: string, labels = '') =>
      sample(after[which], name, labels) - sample(before[which], name, labels);
    expect(moved('gateway', 'chat_messages_sent_total', 'type="text"')).toBe(5);
    expect(moved('gateway', 'chat_messages_failed_total', 'code="NOT_PARTICIPANT"')).toBe(1);
    expect(moved('gateway', 'chat_message_delivery_seconds_count')).toBe(5);
    expect(sample(after.gateway, 'chat_socket_connections')).toBeGreaterThanOrEqual(2);
    // Both sockets caught up (their catch-ups ran before their live messages): none left waiting.
    expect(after.gateway).toMatch(/^chat_catch_ups_waiting\{/m);
    expect(sample(after.gateway, 'chat_catch_ups_waiting')).toBe(0);
    expect(moved('messages', 'chat_commands_processed_total', 'type="send",outcome="ok"')).toBe(5);
    expect(after.messages).toMatch(/chat_jetstream_consumer_pending\{consumer="messages-conversation-0"/);
    expect(after.messages).toMatch(/process_resident_memory_bytes/);
    // Two users connected: the gateway reports them to presence in its next (batched) report, which may come after
    // the scrape above; the flips counter moves with them (by how much depends on what else the report carries).
    const presenceMoved = async (name: string, labels = '') =>
      sample(await scrape(presence.opsUrl), name, labels) - sample(before.presence, name, labels);
    await expect.poll(() => presenceMoved('chat_presence_changes_total'), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    expect(await presenceMoved('chat_rpc_requests_total', 'endpoint="report",outcome="ok"')).toBeGreaterThanOrEqual(1);
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM to a gateway and to the messages service while messages flow: readiness drops first, every acknowledged message is stored once and delivered', {
    timeout: 120_000,
  }, async () => {
    const shutdownEnv = { ...env, SHUTDOWN_DELAY_MS: '700' };
    const messagesA = await spawnMessages(shutdownEnv);
    const messagesB = await spawnMessages(shutdownEnv);
    const gatewayA = await spawnGateway(shutdownEnv);
    const gatewayB = await spawnGateway(shutdownEnv);
    processes.push(messagesA, messagesB, gatewayA, gatewayB);

    const sender = 'graceful-s' as UserId;
    const receiverId = 'graceful-r' as UserId;
    const conversationId = conversationIdOf(sender, receiverId);
    // The receiver is on the gateway that goes away; its client reconnects (to the other one, as a load balancer would send it).
    const r = await connect(gatewayA.url, receiverId);
    const received = collectEvents(r, 'new_message');
    const s = await connect(gatewayB.url, sender);

    const acked: string[] = [];
    let sending = true;
    const sendLoop = (async () => {
      for (let i = 0; sending && s.connected && i < 400; i++) {
        const ack = await emitWithAck(
          s,
          'send_message',
          { conversationId, receiverId, messageType: 'text', content: { text: `g${i}` }, clientMessageId: `g${i}` },
          60_000,
        ).catch(() => undefined);
        if (ack?.ok) acked.push(ack.data._id);
      }
    })();

    await waitFor(() => acked.length >= 10, { timeoutMs: 30_000 });
    // Readiness turns false before the process stops.
    const gatewayExit = gatewayA.kill('SIGTERM');
    await waitFor(
      async () =>
        (await fetch(`${gatewayA.opsUrl}/readyz`).then(
          (res) => res.status,
          () => 0,
        )) === 503,
      { timeoutMs: 5000 },
    );
    const disconnected = new Promise<string>((resolve) => r.once('disconnect', resolve));
    expect(await gatewayExit).toBe(0);
    // Closed transport, not a server-side disconnect: the client would reconnect by itself.
    expect(await disconnected).toBe('transport close');
    const again = await connect(gatewayB.url, receiverId, false);
    const receivedAfter = collectEvents(again, 'new_message');

    await waitFor(() => acked.length >= 30, { timeoutMs: 30_000 });
    const messagesExit = messagesA.kill('SIGTERM');
    await waitFor(
      async () =>
        (await fetch(`${messagesA.opsUrl}/readyz`).then(
          (res) => res.status,
          () => 0,
        )) === 503,
      { timeoutMs: 5000 },
    );
    expect(await messagesExit).toBe(0);
    await waitFor(() => acked.length >= 50, { timeoutMs: 30_000 });
    sending = false;
    await sendLoop;

    const stored = await mongo.db().collection('messages').find({ conversationId }).toArray();
    const storedIds = stored.map((m) => m._id.toHexString());
    expect(new Set(storedIds).size).toBe(storedIds.length);
    expect(acked.every((id) => storedIds.includes(id))).toBe(true);
    const shown = new Set([...received, ...receivedAfter].map((m) => m._id));
    await waitFor(() => acked.every((id) => shown.has(id) || receivedAfter.some((m) => m._id === id)), { timeoutMs: 30_000 });
    const all = [...received, ...receivedAfter].map((m) => m._id);
    const twice = all.filter((id, i) => all.indexOf(id) !== i);
    const where = (id: string) =>
      `${id}: before ${received.filter((m) => m._id === id).length}, after ${receivedAfter.filter((m) => m._id === id).length}`;
    expect(twice.map(where)).toEqual([]);
  });
});
