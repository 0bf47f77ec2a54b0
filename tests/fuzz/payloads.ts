import fc from 'fast-check';
import { CLIENT_EVENT_NAMES, MAX_TEXT_LENGTH, type ClientEventName, type ConversationId, type UserId } from '@chat/contracts';

/**
 * Generators of client event payloads for the fuzz test: for each event, payloads the contracts accept (built
 * from the schemas' shapes, about whoever sends them) and many they do not.
 */

/** What a payload may name about the socket that sends it. */
export interface Sender {
  me: UserId;
  /** The users `me` shares a conversation with, each with its conversation. */
  peers: { userId: UserId; conversationId: ConversationId }[];
  /** Conversations `me` is not part of. */
  foreign: ConversationId[];
  stranger: UserId;
  /** Tokens: `me`'s own, another user's, and ones that must be refused. */
  tokens: { own: string; other: string; bad: string[] };
  /** An unauthenticated socket: it is never given its own token, so it stays unauthenticated. */
  anonymous: boolean;
}

/** A payload, or one built when it is sent (from what the socket has received by then). */
export type Payload = { value: unknown } | { build: (live: Live) => unknown };

export interface Live {
  /** Ids of messages the sender has received (`new_message`), per conversation. */
  received: Map<string, string[]>;
  /** Ids of every message delivered to the sender's user, on any of its sockets. */
  seen: Set<string>;
}

export type Mode = 'ack' | 'no-ack' | 'no-payload' | 'extra-args';

export interface Case {
  /** The emitted event name (for unknown events, the generated name). */
  event: string;
  /** Which generator it came from: a client event, or `unknown`. */
  family: ClientEventName | 'unknown';
  payload: Payload;
  mode: Mode;
  /** How the payload was made, for reports. */
  kind: string;
}

/** Names Socket.IO reserves: its client refuses to emit them, so they are not generated. */
const RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

const value = (v: unknown): Payload => ({ value: v });

// ---- building blocks ------------------------------------------------------------------------------------------

const loneSurrogates = ['\ud800', '\udfff', 'a\ud83d', '\ude00b', 'x\udbff\udbffy'];

const nastyStrings = [
  '',
  ' ',
  '\u0000',
  '\u0007bell',
  '\u200b',
  '\u202eevil',
  '\ufeff',
  'ＡＢＣ',
  '𝕏𝕐',
  '👨‍👩‍👧‍👦',
  'e\u0301',
  '$where',
  '$gt',
  'a.b',
  '__proto__',
  'constructor',
  'prototype',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '{"$gt":""}',
  'a_b.>',
  '*',
  '>',
  'alice_bob',
  'NaN',
  'undefined',
  'null',
  '0x1f',
  '1e400',
  ...loneSurrogates,
];

const nastyString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...nastyStrings) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 65, max: 20_000 }).map((n) => 'x'.repeat(n)) },
);

const nastyNumber = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, -1, 0.5, Number.MAX_SAFE_INTEGER + 2, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.integer(),
  fc.double(),
);

/** `depth` levels of objects and arrays inside each other. */
function nested(depth: number, leaf: unknown): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}
const deep = fc.integer({ min: 20, max: 2_500 }).map((depth) => nested(depth, 'leaf'));

/** Keys MongoDB would refuse or that reach for the prototype, as own keys (through JSON.parse, as a server sees them). */
const pollution = fc
  .constantFrom(
    '{"__proto__":{"polluted":"yes"}}',
    '{"constructor":{"prototype":{"polluted":"yes"}}}',
    '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}',
    '{"$set":{"unreadCount":0}}',
    '{"a.b":1,"$where":"sleep(1000)"}',
    '{"\\u0000":1}',
    '{"toString":"x","valueOf":1,"hasOwnProperty":null}',
  )
  .map((json) => JSON.parse(json) as Record<string, unknown>);

/** Anything: the wrong type for every field, with objects, arrays, boxed values, dates, typed arrays (binary). */
export const junk: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(null, undefined, true, false, [], {}, '', 0) },
  { weight: 2, arbitrary: nastyNumber },
  { weight: 3, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.array(fc.oneof(nastyString, nastyNumber, fc.constant(null)), { maxLength: 6 }) },
  {
    weight: 3,
    arbitrary: fc.anything({
      maxDepth: 3,
      maxKeys: 6,
      key: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', '$gt', 'a.b', 'toJSON')),
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withTypedArray: true,
      withSparseArray: true,
      withObjectString: true,
    }),
  },
  { weight: 1, arbitrary: pollution },
  { weight: 1, arbitrary: deep },
);

/** `payload` with `field` padded so that the whole packet is 1-16 KiB under the gateway's payload limit. */
const nearLimit = (payload: Obj, field: string, maxPayloadBytes: number, margin: number): Obj => {
  const rest = Buffer.byteLength(JSON.stringify({ ...payload, [field]: '' }));
  return { ...payload, [field]: 'x'.repeat(maxPayloadBytes - margin - rest) };
};

// ---- turning valid payloads into invalid ones ------------------------------------------------------------------

type Obj = Record<string, unknown>;

/**
 * Mostly invalid payloads around `valid`: replaced whole, one field given a wrong value or removed, wrapped in
 * an array, deep, near the size limit. Some stay valid (an optional field removed, an unknown key added): the
 * server strips unknown keys, and such payloads must work as valid ones do.
 */
function invalidAround(
  valid: fc.Arbitrary<Obj>,
  fields: readonly string[],
  maxPayloadBytes: number,
): fc.Arbitrary<{ payload: unknown; kind: string }> {
  const field = fc.constantFrom(...fields);
  return fc.oneof(
    { weight: 25, arbitrary: junk.map((payload) => ({ payload, kind: 'junk' })) },
    { weight: 30, arbitrary: fc.tuple(valid, field, junk).map(([p, f, j]) => ({ payload: { ...p, [f]: j }, kind: `junk ${f}` })) },
    { weight: 15, arbitrary: fc.tuple(valid, field, nastyString).map(([p, f, s]) => ({ payload: { ...p, [f]: s }, kind: `nasty ${f}` })) },
    {
      weight: 8,
      arbitrary: fc
        .tuple(valid, field)
        .map(([p, f]) => ({ payload: Object.fromEntries(Object.entries(p).filter(([k]) => k !== f)), kind: `no ${f}` })),
    },
    { weight: 4, arbitrary: valid.map((p) => ({ payload: [p], kind: 'array' })) },
    { weight: 4, arbitrary: fc.tuple(valid, field, deep).map(([p, f, d]) => ({ payload: { ...p, [f]: d }, kind: `deep ${f}` })) },
    // Pollution next to a field made wrong, so that few of these are stored; the own `__proto__` survives the spread.
    {
      weight: 2,
      arbitrary: fc.tuple(valid, pollution, field).map(([p, keys, f]) => ({
        payload: Object.assign(JSON.parse(JSON.stringify(p)) as Obj, keys, { [f]: 42 }),
        kind: `pollution ${Object.keys(keys)[0]}`,
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(valid, pollution)
        .map(([p, keys]) => ({ payload: Object.assign(JSON.parse(JSON.stringify(p)) as Obj, keys), kind: 'pollution (valid)' })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(valid, field, fc.integer({ min: 1_024, max: 16_384 }))
        .map(([p, f, margin]) => ({ payload: nearLimit(p, f, maxPayloadBytes, margin), kind: `near-limit ${f}` })),
    },
  );
}

// ---- per event ---------------------------------------------------------------------------------------------------

const hex24 = fc.stringMatching(/^[0-9a-f]{24}$/);
const userIdLike = fc.stringMatching(/^[A-Za-z0-9-]{1,64}$/);
const visibleText = fc
  .oneof(
    { weight: 6, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 80 }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'مرحبا بالعالم',
        '👨‍👩‍👧‍👦🏳️‍🌈',
        'e\u0301\u0302',
        '\u202eRTL override',
        'tab\there\nnewline',
        '\ufeffbom',
        '𝕏'.repeat(100),
        'x'.repeat(MAX_TEXT_LENGTH),
        '日本語のテキスト',
        '$where',
        'a.b',
        '__proto__',
      ),
    },
    // Ill-formed UTF-16: accepted or refused, but stored as acknowledged if accepted.
    { weight: 1, arbitrary: fc.constantFrom(...loneSurrogates).map((t) => `lone ${t}`) },
  )
  // eslint-disable-next-line no-control-regex
  .filter((t) => t.trim().length > 0 && t.length <= MAX_TEXT_LENGTH && !/[\u0000-\u0008\u000B-\u001F\u007F]/.test(t));

function validPayloads(event: ClientEventName, s: Sender): fc.Arbitrary<Obj> {
  const peer = fc.constantFrom(...s.peers);
  const conversationId = peer.map((p) => p.conversationId);
  switch (event) {
    case 'authenticate':
      return fc.constant({ token: s.anonymous ? s.tokens.bad[0] : s.tokens.own });
    case 'join_conversation':
      return fc.record({ conversationId, userId: fc.constantFrom(s.me, undefined) }, { requiredKeys: ['conversationId'] });
    case 'send_message':
      return fc
        .tuple(
          peer,
          fc.oneof(
            { weight: 6, arbitrary: visibleText.map((text) => ({ messageType: 'text', content: { text } })) },
            {
              weight: 2,
              arbitrary: fc
                .record(
                  {
                    offerAmount: fc.double({ min: 0.01, max: 1e9, noNaN: true }),
                    currency: fc.constantFrom('USD', 'EUR', 'JPY'),
                    offerDetails: fc.dictionary(
                      fc.stringMatching(/^[a-z]{1,10}$/),
                      fc.oneof(fc.string({ maxLength: 50 }), fc.integer(), fc.boolean(), fc.constant(null)),
                      { maxKeys: 5 },
                    ),
                    text: visibleText,
                  },
                  { requiredKeys: ['offerAmount'] },
                )
                .map((content) => ({ messageType: 'offer', content })),
            },
            // An upload nobody made: refused before anything is queued.
            {
              weight: 1,
              arbitrary: fc
                .record({
                  fileId: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
                  fileName: fc.constantFrom('a.pdf', 'photo.png'),
                  fileSize: fc.integer({ min: 1, max: 1e6 }),
                })
                .chain((c) =>
                  fc
                    .constantFrom('image', 'file')
                    .map((messageType) => ({ messageType, content: { ...c, fileUrl: `/api/common/file/${c.fileId}` } })),
                ),
            },
          ),
          // A few shared client ids: resends, some while the first is still in flight.
          fc.oneof(
            { weight: 3, arbitrary: fc.constant(undefined) },
            { weight: 3, arbitrary: fc.uuid() },
            { weight: 1, arbitrary: fc.constantFrom('dup-1', 'dup-2', 'dup-3') },
          ),
        )
        .map(([p, body, clientMessageId]) => ({
          conversationId: p.conversationId,
          receiverId: p.userId,
          ...body,
          ...(clientMessageId ? { clientMessageId } : {}),
        }));
    case 'typing_start':
    case 'typing_stop':
      return fc.record({ conversationId });
    case 'mark_as_read':
      return fc.oneof(
        // Mostly within what is stored; some far past it (the watermark must stop at the last stored message).
        fc.record({
          conversationId,
          upToSeq: fc.oneof(
            { weight: 5, arbitrary: fc.integer({ min: 1, max: 60 }) },
            { weight: 1, arbitrary: fc.constantFrom(10_000, 2 ** 31, Number.MAX_SAFE_INTEGER) },
          ),
        }),
        fc.record({ conversationId, messageIds: fc.array(hex24, { minLength: 1, maxLength: 5 }) }),
      );
    case 'sync_messages':
      return fc.record(
        {
          conversationId,
          afterSeq: fc.oneof(
            { weight: 5, arbitrary: fc.nat(120) },
            { weight: 1, arbitrary: fc.constantFrom(2 ** 31, Number.MAX_SAFE_INTEGER) },
          ),
          limit: fc.integer({ min: 1, max: 500 }),
        },
        { requiredKeys: ['conversationId', 'afterSeq'] },
      );
    case 'get_online_status':
      return fc.record({ userId: fc.constantFrom(s.me, ...s.peers.map((p) => p.userId)) });
  }
}

/** Payloads the schema accepts but the handler must refuse: someone else's conversation, the wrong receiver, another user's token. */
function refusedPayloads(event: ClientEventName, s: Sender): fc.Arbitrary<{ payload: unknown; kind: string }> {
  const foreign = fc.constantFrom(...s.foreign);
  const peer = fc.constantFrom(...s.peers);
  const tag = (kind: string) => (payload: unknown) => ({ payload, kind });
  switch (event) {
    case 'authenticate':
      // Another user's token would authenticate an unauthenticated socket (as that user): only bad ones there.
      return fc
        .constantFrom(...(s.anonymous ? [] : [s.tokens.other]), ...s.tokens.bad)
        .map((token) => ({ token }))
        .map(tag('bad token'));
    case 'join_conversation':
      return fc
        .oneof(fc.record({ conversationId: foreign }), fc.record({ conversationId: peer.map((p) => p.conversationId), userId: userIdLike }))
        .map(tag('not yours'));
    case 'send_message':
      return fc
        .oneof(
          fc.tuple(foreign, userIdLike).map(([conversationId, receiverId]) => ({ conversationId, receiverId })),
          peer.map((p) => ({ conversationId: p.conversationId, receiverId: s.me })),
          peer.map((p) => ({ conversationId: p.conversationId, receiverId: s.stranger })),
        )
        .map((envelope) => ({ ...envelope, messageType: 'text', content: { text: 'not yours' } }))
        .map(tag('not yours'));
    case 'typing_start':
    case 'typing_stop':
    case 'sync_messages':
    case 'mark_as_read':
      return foreign.map((conversationId) => ({ conversationId, afterSeq: 0, upToSeq: 1 })).map(tag('not yours'));
    case 'get_online_status':
      return fc
        .oneof(fc.constant(s.stranger), userIdLike)
        .map((userId) => ({ userId }))
        .map(tag('not yours'));
  }
}

const FIELDS: Record<ClientEventName, readonly string[]> = {
  authenticate: ['token'],
  join_conversation: ['conversationId', 'userId'],
  send_message: ['conversationId', 'receiverId', 'messageType', 'content', 'clientMessageId'],
  typing_start: ['conversationId'],
  typing_stop: ['conversationId'],
  mark_as_read: ['conversationId', 'messageIds', 'upToSeq'],
  sync_messages: ['conversationId', 'afterSeq', 'limit'],
  get_online_status: ['userId'],
};

const mode: fc.Arbitrary<Mode> = fc.oneof(
  { weight: 16, arbitrary: fc.constant<Mode>('ack') },
  { weight: 2, arbitrary: fc.constant<Mode>('no-ack') },
  { weight: 1, arbitrary: fc.constant<Mode>('no-payload') },
  { weight: 1, arbitrary: fc.constant<Mode>('extra-args') },
);

/** The cases for one client event, sent by `s`: about 2% valid, 3% refused by the handler, the rest invalid. */
export function eventCases(event: ClientEventName, s: Sender, maxPayloadBytes: number): fc.Arbitrary<Case> {
  const valid = validPayloads(event, s);
  const readReceived: fc.Arbitrary<{ payload: Payload; kind: string }> = fc
    .record({ peer: fc.constantFrom(...s.peers), n: fc.integer({ min: 1, max: 5 }) })
    .map(({ peer, n }) => ({
      kind: 'valid received ids',
      payload: {
        build: (live: Live) => {
          const ids = live.received.get(peer.conversationId) ?? [];
          return ids.length > 0
            ? { conversationId: peer.conversationId, messageIds: ids.slice(-n) }
            : { conversationId: peer.conversationId, upToSeq: n };
        },
      },
    }));
  const payloads: fc.Arbitrary<{ payload: Payload; kind: string }> = fc.oneof(
    { weight: 2, arbitrary: valid.map((p) => ({ payload: value(p), kind: 'valid' })) },
    ...(event === 'mark_as_read' ? [{ weight: 1, arbitrary: readReceived }] : []),
    { weight: 3, arbitrary: refusedPayloads(event, s).map(({ payload, kind }) => ({ payload: value(payload), kind })) },
    {
      weight: 95,
      arbitrary: invalidAround(valid, FIELDS[event], maxPayloadBytes).map(({ payload, kind }) => ({ payload: value(payload), kind })),
    },
  );
  return fc.tuple(payloads, mode).map(([{ payload, kind }, m]) => ({ event, family: event, payload, mode: m, kind }));
}

const trickyNames = [
  'error',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'prototype',
  'SEND_MESSAGE',
  'send_message ',
  ' send_message',
  'send-message',
  'authenticated',
  'new_message',
  'user_typing',
  'message_read',
  'typing',
  'stop_typing',
  'mark_as_read\u0000',
  '',
  '$where',
  'a.b',
  '\u0000',
  '👻',
  '\ud800',
];

/** Events the gateway does not handle, with any payload. */
export function unknownCases(): fc.Arbitrary<Case> {
  const name = fc
    .oneof(
      { weight: 3, arbitrary: fc.constantFrom(...trickyNames) },
      { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
      { weight: 1, arbitrary: fc.integer({ min: 100, max: 6_000 }).map((n) => 'e'.repeat(n)) },
    )
    .filter((n) => !(CLIENT_EVENT_NAMES as readonly string[]).includes(n) && !RESERVED.has(n));
  return fc
    .tuple(name, junk, mode)
    .map(([event, payload, m]) => ({ event, family: 'unknown' as const, payload: value(payload), mode: m, kind: 'unknown event' }));
}
