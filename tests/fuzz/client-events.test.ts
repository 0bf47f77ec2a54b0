import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_EVENT_NAMES,
  clientEvents,
  conversationIdOf,
  ERRORS,
  ErrorPayloadSchema,
  type ClientEventName,
  type ConversationId,
  type Message,
  type UserId,
} from '@chat/contracts';
import { LIMIT_NAMES } from '@chat/gateway';
import { connectClient, emitWithAck, nextEvent, signToken, TEST_JWT_SECRET, waitFor, type ChatClient } from '@chat/testing';
import { io } from 'socket.io-client';
import { useSystem } from '../support/system.ts';
import { eventCases, junk, unknownCases, type Case, type Live, type Sender } from './payloads.ts';

/**
 * Issue 13's fuzzing: generated payloads for every client event, valid and invalid, sent from several sockets
 * at once against a running system. Every acknowledgement must be `{ ok: true, data }` matching the event's ack
 * schema or `{ ok: false, error }` with a code of the registry, every `error` event must carry such a code, no
 * socket may be dropped (except over the payload limit, as documented), and afterwards the system still serves
 * and its stored data still checks out.
 *
 * FUZZ_SEED picks another run (the default keeps CI reproducible); FUZZ_RUNS the payloads per event,
 * FUZZ_HANDSHAKES the generated handshakes. Failures name the seed and the payloads.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 1313);
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
/** Small, so that payloads near and over it are cheap to make and send. */
const MAX_PAYLOAD_BYTES = 64 * 1024;
const IN_FLIGHT_PER_SOCKET = 24;
const HANDSHAKES = Number(process.env.FUZZ_HANDSHAKES ?? 400);
const ACK_TIMEOUT_MS = 45_000;
const seedNote = `(FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS})`;

const system = useSystem({
  presence: true,
  uploads: true,
  gateway: {
    SOCKET_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES),
    AUTH_TIMEOUT_MS: '600000',
    SEND_ACK_TIMEOUT_MS: '30000',
    // Typing too (the tests' NO_LIMITS keeps its limit): counted before validation, it would answer most of the
    // typing payloads RATE_LIMITED unread.
    RATE_LIMITS: JSON.stringify(Object.fromEntries(LIMIT_NAMES.map((name) => [name, { perMinute: 6_000_000, burst: 100_000 }]))),
  },
});

const alice = 'fz-alice' as UserId;
const bob = 'fz-bob' as UserId;
const carol = 'fz-carol' as UserId;
const mallory = 'fz-mallory' as UserId;
const users = [alice, bob, carol];

const EVENT_FAMILIES = [...CLIENT_EVENT_NAMES, 'unknown'] as const;
type Family = (typeof EVENT_FAMILIES)[number];

interface Tally {
  sent: number;
  ok: number;
  noAnswerExpected: number;
  /** Payloads the Socket.IO client refused to encode: never sent. */
  notEncoded: number;
  codes: Record<string, number>;
}

interface Problem {
  socket: string;
  event: string;
  kind: string;
  mode: string;
  problem: string;
  payload: string;
}

/** A payload as a short string for reports (whatever it holds). */
function show(payload: unknown): string {
  try {
    const text = JSON.stringify(payload, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(payload);
    return text.length > 300 ? `${text.slice(0, 300)}… (${text.length} chars)` : text;
  } catch {
    return String(payload).slice(0, 300);
  }
}

/** A socket that the run reconnects if it is dropped, recording every drop and `error` event. */
class FuzzSocket {
  client!: ChatClient;
  readonly drops: { reason: string; description: string; lastSent: string[] }[] = [];
  /** Disconnects by the documented flood policy: `RATE_LIMITED` (limit `invalid_event`), then the server's disconnect. */
  policyDrops = 0;
  #lastError: unknown;
  /** The latest cases sent, to tell what was in flight when the socket was dropped. */
  readonly recent: string[] = [];
  readonly badErrorEvents: string[] = [];
  errorEvents = 0;
  #opening: Promise<void> | undefined;

  readonly label: string;
  readonly live: Live;
  readonly open: () => Promise<ChatClient>;

  constructor(label: string, live: Live, open: () => Promise<ChatClient>) {
    this.label = label;
    this.live = live;
    this.open = open;
  }

  async connect(): Promise<void> {
    const client = await this.open();
    client.on('error', (payload: unknown) => {
      this.errorEvents++;
      this.#lastError = payload;
      const parsed = ErrorPayloadSchema.safeParse(payload);
      if (!parsed.success && this.badErrorEvents.length < 20) this.badErrorEvents.push(show(payload));
    });
    client.on('new_message', (message: Message) => {
      this.live.seen.add(message._id);
      const ids = this.live.received.get(message.conversationId) ?? [];
      ids.push(message._id);
      this.live.received.set(message.conversationId, ids.slice(-50));
    });
    client.on('disconnect', (reason, description) => {
      const told = this.#lastError as { code?: string; details?: { limit?: string } } | undefined;
      if (reason === 'io server disconnect' && told?.code === 'RATE_LIMITED' && told.details?.limit === 'invalid_event') this.policyDrops++;
      else if (reason !== 'io client disconnect')
        this.drops.push({ reason, description: show(description), lastSent: this.recent.slice(-8) });
    });
    this.client = client;
  }

  /** Connected, reconnecting first if the server dropped it. */
  async ready(): Promise<ChatClient> {
    if (!this.client.connected) {
      this.#opening ??= this.connect().finally(() => (this.#opening = undefined));
      await this.#opening;
    }
    return this.client;
  }
}

/** The ack of an event: a problem, or undefined when it is one the contracts allow. */
function ackProblem(family: Family, response: unknown): { problem?: string; code?: string } {
  if (typeof response !== 'object' || response === null) return { problem: `ack is not an object: ${show(response)}` };
  const { ok } = response as { ok?: unknown };
  if (ok === true) {
    if (family === 'unknown') return { problem: 'an unknown event was acked ok' };
    const data = clientEvents[family].ack.safeParse((response as { data?: unknown }).data);
    return data.success ? { code: 'ok' } : { problem: `ok ack does not match the contract: ${show(data.error.issues)} ${show(response)}` };
  }
  if (ok === false) {
    const error = ErrorPayloadSchema.safeParse((response as { error?: unknown }).error);
    if (!error.success) return { problem: `error ack without a known code: ${show(response)}` };
    const { code } = error.data;
    if (!(code in ERRORS)) return { problem: `unknown code ${code}` };
    if (code === 'INTERNAL_ERROR') return { problem: `INTERNAL_ERROR for a client payload: ${show(response)}` };
    // Content the gateway let through but the store refused: a poison message the gateway should have caught.
    if (code === 'MESSAGE_REFUSED') return { problem: `accepted by the gateway, refused by the store: ${show(response)}` };
    if (family === 'unknown' && code !== 'UNKNOWN_EVENT' && code !== 'RATE_LIMITED') return { problem: `unknown event answered ${code}` };
    return { code };
  }
  return { problem: `ack neither ok nor error: ${show(response)}` };
}

/** Sends one case from `socket` and checks what comes back. */
async function send(
  socket: FuzzSocket,
  c: Case,
  tallies: Map<Family, Tally>,
  problems: Problem[],
  okSends: Map<string, Message>,
): Promise<void> {
  const tally = tallies.get(c.family)!;
  tally.sent++;
  const client = await socket.ready();
  const payload = 'value' in c.payload ? c.payload.value : c.payload.build(socket.live);
  socket.recent.push(`${show(c.event)} [${c.kind}, ${c.mode}] ${show(payload).slice(0, 160)}`);
  if (socket.recent.length > 64) socket.recent.splice(0, 32);
  const report = (problem: string): void =>
    void problems.push({ socket: socket.label, event: c.event, kind: c.kind, mode: c.mode, problem, payload: show(payload) });
  const emit = client.emit.bind(client) as (event: string, ...args: unknown[]) => void;
  if (c.mode === 'no-ack') {
    tally.noAnswerExpected++;
    emit(c.event, payload);
    return;
  }
  const args = c.mode === 'no-payload' ? [] : c.mode === 'extra-args' ? [payload, { extra: true }, 7] : [payload];
  // Over the limit the connection is closed, as documented (tested below); here every packet must be under it.
  if (c.kind.startsWith('near-limit') && Buffer.byteLength(JSON.stringify([c.event, ...args])) > MAX_PAYLOAD_BYTES - 64)
    return report('the generator made an over-limit payload');
  let response: unknown;
  try {
    response = await (client.timeout(ACK_TIMEOUT_MS).emitWithAck as (event: string, ...rest: unknown[]) => Promise<unknown>)(
      c.event,
      ...args,
    );
  } catch (error) {
    const { message } = error as Error;
    if (message === 'operation has timed out') report(`no ack within ${ACK_TIMEOUT_MS} ms`);
    else if (!client.connected) report(`dropped before its ack: ${message}`);
    // socket.io-client itself could not encode it (e.g. an own `__proto__` key holding a Date next to binary
    // data: its binary packet builder copies keys onto a plain object and JSON.stringify then fails).
    else tally.notEncoded++;
    return;
  }
  const { problem, code } = ackProblem(c.family, response);
  if (problem) return report(problem);
  if (code === 'ok') {
    tally.ok++;
    if (c.family === 'send_message') {
      const message = (response as { data: Message }).data;
      okSends.set(message._id, message);
    }
    if (c.family === 'sync_messages') {
      const { messages } = (response as { data: { messages: Message[] } }).data;
      const seqs = messages.map((m) => m.seq);
      const after = (payload as { afterSeq: number }).afterSeq;
      if (seqs.some((seq, i) => seq <= after || (i > 0 && seq <= seqs[i - 1]!)))
        report(`sync_messages out of order or not after ${after}: ${seqs.join(',')}`);
    }
  } else {
    tally.codes[code!] = (tally.codes[code!] ?? 0) + 1;
  }
}

/** Runs `cases` from `socket` with at most IN_FLIGHT_PER_SOCKET awaiting their answers. */
async function drain(socket: FuzzSocket, cases: Case[], run: (socket: FuzzSocket, c: Case) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT_PER_SOCKET }, async () => {
      while (next < cases.length) await run(socket, cases[next++]!);
    }),
  );
}

/** A deterministic shuffle, so each socket interleaves its events the same way every run of a seed. */
function shuffle<T>(items: T[], seed: number): T[] {
  let state = seed >>> 0 || 1;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** A token with `alg: none`, which must never be accepted. */
function unsignedToken(userId: string): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ userId, exp: Math.floor(Date.now() / 1000) + 3600 })}.`;
}

async function senderOf(me: UserId, anonymous: boolean): Promise<Sender> {
  const peers = users.filter((u) => u !== me).map((userId) => ({ userId, conversationId: conversationIdOf(me, userId) }));
  const others = users.filter((u) => u !== me);
  const bad = [
    await signToken({ userId: me, expiresIn: -60 }),
    await signToken({ userId: me, expiresIn: null }),
    await signToken({ userId: me, secret: `${TEST_JWT_SECRET}-not` }),
    await signToken({ userId: 'has.dots' }),
    await signToken({ userId: me, claims: { userId: 42 } }),
    unsignedToken(me),
    'not-a-jwt',
    'a.b.c',
    'Bearer x',
    'x'.repeat(9000),
  ];
  return {
    me,
    peers,
    foreign: [conversationIdOf(others[0]!, others[1]!), conversationIdOf(others[0]!, mallory)],
    stranger: mallory,
    tokens: { own: await signToken({ userId: me }), other: await signToken({ userId: others[0]! }), bad },
    anonymous,
  };
}

describe('client events under generated payloads', () => {
  const okSends = new Map<string, Message>();

  it(`answers ${RUNS} generated payloads per client event with an ack or a known error, and drops no socket ${seedNote}`, {
    timeout: 300_000,
  }, async () => {
    const url = system.gateway.url;
    const sockets: { socket: FuzzSocket; sender: Sender }[] = [];
    /** Ids of the messages each user's sockets were sent (`new_message`). */
    const seenBy: Record<string, Set<string>> = {};
    for (const [label, user, anonymous] of [
      ['alice#1', alice, false],
      ['alice#2', alice, false],
      ['bob', bob, false],
      ['carol', carol, false],
      ['anonymous', alice, true],
    ] as const) {
      const sender = await senderOf(user, anonymous);
      const live: Live = { received: new Map(), seen: (seenBy[user] ??= new Set()) };
      const socket = new FuzzSocket(label, live, async () =>
        system.track(await (anonymous ? connectClient(url, { wait: 'connect' }) : connectClient(url, { token: sender.tokens.own }))),
      );
      await socket.connect();
      sockets.push({ socket, sender });
    }

    // Every socket gets its share of every event's cases, interleaved.
    const perSocket = Math.ceil(RUNS / sockets.length);
    const casesOf = sockets.map(({ sender }, i) => {
      const cases: Case[] = [];
      for (const [e, family] of EVENT_FAMILIES.entries()) {
        const arbitrary = family === 'unknown' ? unknownCases() : eventCases(family as ClientEventName, sender, MAX_PAYLOAD_BYTES);
        cases.push(...fc.sample(arbitrary, { seed: SEED + 1000 * e + i, numRuns: perSocket }));
      }
      return shuffle(cases, SEED + i);
    });

    const tallies = new Map<Family, Tally>(
      EVENT_FAMILIES.map((f) => [f, { sent: 0, ok: 0, noAnswerExpected: 0, notEncoded: 0, codes: {} }]),
    );
    const problems: Problem[] = [];
    const started = Date.now();
    await Promise.all(sockets.map(({ socket }, i) => drain(socket, casesOf[i]!, (s, c) => send(s, c, tallies, problems, okSends))));
    const seconds = (Date.now() - started) / 1000;

    const summary = Object.fromEntries(
      [...tallies].map(([family, t]) => [
        family,
        `${t.sent} sent, ${t.ok} ok, ${t.noAnswerExpected} without ack, ${t.notEncoded} not encodable by the client, ${show(t.codes)}`,
      ]),
    );
    console.log(`fuzz ${seedNote}: ${seconds.toFixed(1)} s`, summary, { storedSends: okSends.size });

    for (const { socket } of sockets) if (socket.drops.length > 0) console.log(`${socket.label} dropped ${seedNote}:`, socket.drops);
    if (problems.length > 0)
      console.log(
        `first problems ${seedNote}:`,
        problems.slice(0, 40).map((p) => `${p.socket} ${show(p.event)} [${p.kind}, ${p.mode}]: ${p.problem} — ${p.payload}`),
      );
    for (const family of EVENT_FAMILIES) {
      const t = tallies.get(family)!;
      expect(t.sent, family).toBeGreaterThanOrEqual(RUNS);
      expect(t.notEncoded, `${family}: payloads the client could not send`).toBeLessThan(RUNS / 100);
    }
    expect(problems.slice(0, 15), `${problems.length} problems ${seedNote}`).toEqual([]);
    for (const { socket } of sockets) {
      expect(socket.badErrorEvents, `${socket.label}: error events without a known code ${seedNote}`).toEqual([]);
      expect(socket.drops, `${socket.label} was dropped ${seedNote}`).toEqual([]);
      if (socket.policyDrops > 0) console.log(`${socket.label}: ${socket.policyDrops} disconnects by the invalid_event limit`);
      expect(socket.errorEvents).toBeGreaterThan(0);
    }
    // Every stored message reached its receiver, whose sockets were all connected (and its sender's).
    const undelivered = () => [...okSends.values()].filter((m) => !seenBy[m.receiverId]?.has(m._id) || !seenBy[m.senderId]?.has(m._id));
    await waitFor(() => undelivered().length === 0, { timeoutMs: 20_000, intervalMs: 100 }).catch(() => undefined);
    expect(
      undelivered()
        .map((m) => show(m))
        .slice(0, 5),
      `acked messages never delivered ${seedNote}`,
    ).toEqual([]);
    // Nothing reached Object.prototype of the process the services run in.
    expect(({} as Record<string, unknown>).polluted, 'Object.prototype was polluted').toBeUndefined();
  });

  it('closes a connection that sends more than SOCKET_MAX_PAYLOAD_BYTES, answers one just under it, and serves the reconnect', async () => {
    const conversationId = conversationIdOf(alice, bob);
    for (const [event, payload] of [
      ['send_message', (text: string) => ({ conversationId, receiverId: bob, messageType: 'text', content: { text } })],
      ['mark_as_read', (text: string) => ({ conversationId, messageIds: [text] })],
      ['no_such_event', (text: string) => ({ text })],
    ] as const) {
      const client = system.track(await connectClient(system.gateway.url, { token: await signToken({ userId: alice }) }));
      const emit = (name: string, body: unknown) =>
        (
          client.timeout(10_000).emitWithAck as (event: string, payload: unknown) => Promise<{ ok: boolean; error?: { code: string } }>
        ).call(client.timeout(10_000), name, body);
      const under = await emit(event, payload('x'.repeat(MAX_PAYLOAD_BYTES - 1024)));
      expect(under, event).toMatchObject({ ok: false, error: { code: event === 'no_such_event' ? 'UNKNOWN_EVENT' : 'VALIDATION_ERROR' } });
      const dropped = new Promise<string>((resolve) => client.once('disconnect', resolve));
      const over = emit(event, payload('x'.repeat(MAX_PAYLOAD_BYTES + 1024))).catch((error: Error) => error.message);
      expect(await dropped, event).toMatch(/^transport (close|error)$/);
      expect(await over).toBe('socket has been disconnected');
    }
  });

  it(`accepts or refuses ${HANDSHAKES} generated handshakes with a known code ${seedNote}`, { timeout: 60_000 }, async () => {
    const sender = await senderOf(alice, false);
    const token = fc.oneof(
      { weight: 1, arbitrary: fc.constant(sender.tokens.own) },
      { weight: 2, arbitrary: fc.constantFrom(sender.tokens.other, ...sender.tokens.bad) },
      { weight: 4, arbitrary: junk },
    );
    const handshakes = fc.sample(
      fc.record(
        {
          auth: fc.record({ token, deliveryAcks: fc.oneof(fc.boolean(), junk), extra: junk }, { requiredKeys: [] }),
          bearer: fc.oneof(
            fc.constantFrom(sender.tokens.own, ...sender.tokens.bad),
            fc.string({ unit: 'binary-ascii', maxLength: 40 }).map((t) => t.replace(/[^\x21-\x7e]/g, '')),
          ),
        },
        { requiredKeys: ['auth'] },
      ),
      { seed: SEED, numRuns: HANDSHAKES },
    );
    const outcomes: Record<string, number> = {};
    const problems: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < handshakes.length) {
          const { auth, bearer } = handshakes[next++]!;
          const client = system.track(
            io(system.gateway.url, {
              transports: ['websocket'],
              reconnection: false,
              forceNew: true,
              auth: auth as Record<string, unknown>,
              ...(bearer === undefined ? {} : { extraHeaders: { authorization: `Bearer ${bearer}` } }),
            }) as ChatClient,
          );
          const outcome = await new Promise<string>((resolve) => {
            client.once('connect_error', (error: Error & { data?: unknown }) => {
              const parsed = ErrorPayloadSchema.safeParse(error.data);
              resolve(
                parsed.success ? `refused ${parsed.data.code}` : `connect_error without a known code: ${error.message} ${show(error.data)}`,
              );
            });
            client.once('authenticated', () => resolve('authenticated'));
            // Without a (good) token the socket may still authenticate later: connected is an answer too.
            client.once('connect', () => setTimeout(() => resolve(client.connected ? 'connected' : 'dropped'), 300));
            setTimeout(() => resolve('no answer'), 10_000);
          });
          const key = outcome.startsWith('connect_error') ? 'bad connect_error' : outcome;
          outcomes[key] = (outcomes[key] ?? 0) + 1;
          if (!/^(refused AUTH_ERROR|authenticated|connected)$/.test(outcome)) problems.push(`${outcome} for ${show({ auth, bearer })}`);
          client.disconnect();
        }
      }),
    );
    console.log(`handshakes ${seedNote}:`, outcomes);
    expect(problems.slice(0, 10), `${problems.length} handshakes answered badly ${seedNote}`).toEqual([]);
  });

  it(`under the default limits, answers generated invalid events and then disconnects the flooder, told why ${seedNote}`, {
    timeout: 60_000,
  }, async () => {
    const limited = await system.addGateway({ RATE_LIMITS: '{}' });
    const sender = await senderOf(carol, false);
    const socket = new FuzzSocket('carol (default limits)', { received: new Map(), seen: new Set() }, async () =>
      system.track(await connectClient(limited.url, { token: sender.tokens.own })),
    );
    await socket.connect();
    const cases = [
      ...fc.sample(unknownCases(), { seed: SEED, numRuns: 60 }),
      ...fc.sample(eventCases('send_message', sender, MAX_PAYLOAD_BYTES), { seed: SEED, numRuns: 60 }),
    ];
    const tallies = new Map<Family, Tally>(
      EVENT_FAMILIES.map((f) => [f, { sent: 0, ok: 0, noAnswerExpected: 0, notEncoded: 0, codes: {} }]),
    );
    const problems: Problem[] = [];
    // One at a time: the ack of the event past the limit comes before the disconnect, so none is lost.
    for (const c of cases) await send(socket, c, tallies, problems, new Map());
    console.log(
      `default limits ${seedNote}: ${socket.policyDrops} disconnects by the invalid_event limit`,
      Object.fromEntries([...tallies].filter(([, t]) => t.sent > 0).map(([f, t]) => [f, t.codes])),
    );
    expect(problems.slice(0, 10), `${problems.length} problems ${seedNote}`).toEqual([]);
    expect(socket.drops, `dropped other than by the flood policy ${seedNote}`).toEqual([]);
    expect(socket.policyDrops).toBeGreaterThan(0);
    await limited.stop();
  });

  // Packets the Socket.IO client would never build, written straight to the engine.io connection.
  it.each([
    ['an event named by a number', '21[42,{"a":1}]', 'UNKNOWN_EVENT'],
    ['the reserved error event', '21["error",{"a":1}]', 'UNKNOWN_EVENT'],
    ['a __proto__ event', '21["__proto__",{"__proto__":{"polluted":"yes"}}]', 'UNKNOWN_EVENT'],
    [
      'own __proto__ keys',
      '21["send_message",{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}]',
      'VALIDATION_ERROR',
    ],
    ['many arguments', `21["send_message",${Array.from({ length: 2000 }, (_, i) => i).join(',')}]`, 'VALIDATION_ERROR'],
    ['an ack id out of range', '299999999999999999999["send_message",{}]', 'VALIDATION_ERROR'],
    ['an ack for nothing', '31[{"ok":true}]', 'silent'],
    ['an event to a namespace not joined', '2/nowhere,["send_message",{}]', 'closed'],
    ['a connect to an unknown namespace', '0/nowhere,', 'silent'],
    ['the reserved disconnect event', '21["disconnect","x"]', 'closed'],
    ['a reserved connect event', '2["connect"]', 'closed'],
    ['broken JSON', '21["send_message",{', 'closed'],
    ['an object for the arguments', '21{"event":"send_message"}', 'closed'],
    ['no event name', '21[]', 'closed'],
    ['a packet type that does not exist', '9["x"]', 'closed'],
    ['an empty packet', '', 'closed'],
    ['a binary event whose attachment never comes', '51-["send_message",{"_placeholder":true,"num":0}]', 'silent'],
    ['a binary event pointing past its attachments', '51-["send_message",{"_placeholder":true,"num":7}]', 'binary'],
    ['a placeholder in a plain event', '21["send_message",{"_placeholder":true,"num":0}]', 'VALIDATION_ERROR'],
  ] as const)('answers or closes on %s, and keeps serving', async (_name, packet, expected) => {
    const client = system.track(await connectClient(system.gateway.url, { token: await signToken({ userId: alice }) }));
    const engine = client.io.engine as unknown as { write: (data: string | Uint8Array) => void };
    const outcome = new Promise<string>((resolve) => {
      client.once('error', (payload: unknown) => {
        const parsed = ErrorPayloadSchema.safeParse(payload);
        resolve(parsed.success ? parsed.data.code : `bad error event ${show(payload)}`);
      });
      client.once('disconnect', () => resolve('closed'));
      setTimeout(() => resolve('silent'), 1_500);
    });
    engine.write(packet);
    if (expected === 'binary') engine.write(new Uint8Array([1, 2, 3]));
    expect(await outcome).toBe(expected === 'binary' ? 'closed' : expected);
    // The gateway is still there for everyone else.
    const other = system.track(await connectClient(system.gateway.url, { token: await signToken({ userId: bob }) }));
    expect(await emitWithAck(other, 'join_conversation', { conversationId: conversationIdOf(alice, bob) })).toMatchObject({ ok: true });
    expect(({} as Record<string, unknown>).polluted, 'Object.prototype was polluted').toBeUndefined();
  });

  it('still serves afterwards, and the stored data checks out', { timeout: 90_000 }, async () => {
    const a = await system.connectAs(alice);
    const b = await system.connectAs(bob);
    const conversationId = conversationIdOf(alice, bob);
    const arrived = nextEvent(b, 'new_message', 15_000);
    const ack = await emitWithAck(
      a,
      'send_message',
      { conversationId, receiverId: bob, messageType: 'text', content: { text: 'after the fuzz' } },
      30_000,
    );
    expect(ack.ok, show(ack)).toBe(true);
    if (ack.ok) okSends.set(ack.data._id, ack.data);
    expect((await arrived).content).toEqual({ text: 'after the fuzz' });

    const store = system.messages!.store;
    // Conversation writes follow the deliveries: wait until every stored message is applied.
    const conversationIds = [
      ...new Set<ConversationId>([
        conversationIdOf(alice, bob),
        conversationIdOf(alice, carol),
        conversationIdOf(bob, carol),
        ...(await store.conversations.find({}).toArray()).map((c) => c._id),
        ...((await store.messages.distinct('conversationId')) as ConversationId[]),
      ]),
    ];
    await waitFor(
      async () => {
        for (const id of conversationIds) {
          const conversation = await store.conversations.findOne({ _id: id });
          const last = await store.messages.find({ conversationId: id }).sort({ seq: -1 }).limit(1).toArray();
          if ((conversation?.appliedSeq ?? 0) !== (last[0]?.seq ?? 0)) return false;
        }
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );

    const stored = new Map<string, { conversationId: string; seq: number; content: unknown }>();
    for (const id of conversationIds) {
      const conversation = await store.conversations.findOne({ _id: id });
      const messages = await store.messages.find({ conversationId: id }).sort({ seq: 1 }).toArray();
      for (const m of messages) stored.set(m._id.toHexString(), { conversationId: m.conversationId, seq: m.seq, content: m.content });
      const n = messages.length;
      expect(
        messages.map((m) => m.seq),
        `${id}: seq 1..${n}`,
      ).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      const clientIds = messages.map((m) => `${m.senderId}:${m.clientMessageId}`);
      expect(new Set(clientIds).size, `${id}: a clientMessageId stored twice`).toBe(n);
      if (n === 0) continue;
      expect(conversation, id).not.toBeNull();
      expect(conversation!.appliedSeq, `${id}: appliedSeq`).toBe(n);
      expect(conversation!.lastSeq, `${id}: lastSeq`).toBe(n);
      expect(conversation!.lastMessage?.seq, `${id}: lastMessage`).toBe(n);
      for (const user of conversation!.participants) {
        const member = conversation!.members?.[user];
        const readSeq = member?.readSeq ?? 0;
        const deliveredSeq = member?.deliveredSeq ?? 0;
        expect(deliveredSeq, `${id}: ${user} deliveredSeq >= readSeq`).toBeGreaterThanOrEqual(readSeq);
        expect(deliveredSeq, `${id}: ${user} deliveredSeq within the stored`).toBeLessThanOrEqual(n);
        const unread = messages.filter((m) => m.receiverId === user && m.seq > readSeq).length;
        expect(conversation!.unreadCount[user] ?? 0, `${id}: ${user} unread above readSeq ${readSeq}`).toBe(unread);
      }
    }
    // Every acknowledged message is stored as it was acknowledged.
    const mismatches = [...okSends.values()]
      .filter((m) => {
        const s = stored.get(m._id);
        return !s || s.seq !== m.seq || s.conversationId !== m.conversationId || JSON.stringify(s.content) !== JSON.stringify(m.content);
      })
      .slice(0, 10)
      .map((m) => ({ acked: show(m), stored: show(stored.get(m._id)) }));
    expect(mismatches, `acked messages not stored as acked ${seedNote}`).toEqual([]);
    // Nothing the gateway queued (with an ack or without) was refused or parked by the messages service.
    const commands = await system.messages!.metrics.getSingleMetricAsString('chat_commands_processed_total');
    expect(
      commands.split('\n').filter((line) => /outcome="(refused|parked)"/.test(line) && !/ 0$/.test(line)),
      `commands refused or parked ${seedNote}`,
    ).toEqual([]);
    console.log(
      'commands processed:',
      commands
        .split('\n')
        .filter((line) => !line.startsWith('#'))
        .join('; '),
    );
    expect(okSends.size).toBeGreaterThan(0);
  });
});
