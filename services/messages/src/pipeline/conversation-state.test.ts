import { describe, expect, it } from 'vitest';
import { ObjectId } from 'mongodb';
import { conversationIdOf, type UserId } from '@chat/contracts';
import type { ConversationDoc, MessageDoc } from '../store/documents.ts';
import { ConversationState, RECENT_MESSAGES_KEPT } from './conversation-state.ts';

const a = 'a' as UserId;
const b = 'b' as UserId;
const id = conversationIdOf(a, b);
const at = new Date('2026-01-01T00:00:00Z');
const doc = (extra: Partial<ConversationDoc> = {}): ConversationDoc => ({
  _id: id,
  participants: [a, b],
  unreadCount: {},
  lastSeq: 0,
  appliedSeq: 0,
  members: {},
  rev: 0,
  createdAt: at,
  updatedAt: at,
  ...extra,
});
function send(state: ConversationState, from: UserId, to: UserId): MessageDoc {
  const message = {
    _id: new ObjectId(),
    conversationId: id,
    senderId: from,
    receiverId: to,
    clientMessageId: String(Math.random()),
    messageType: 'text',
    content: { text: 'hi' },
    seq: state.nextSeq(),
    status: 'sent',
    timestamp: at,
    createdAt: at,
  } as MessageDoc;
  state.apply({ kind: 'message', doc: message });
  return message;
}

describe('ConversationState', () => {
  it('hands out sequence numbers after everything stored, and counts each message once', () => {
    const state = new ConversationState(doc({ lastSeq: 7, appliedSeq: 5 }));
    expect(state.nextSeq()).toBe(8);
    const m = send(state, a, b);
    expect(m.seq).toBe(9);
    state.apply({ kind: 'message', doc: m });
    expect(state.unread[b]).toBe(1);
    expect(state.appliedSeq).toBe(9);
    expect(state.lastMessage?.seq).toBe(9);
  });

  it('moves the delivered watermark forward only, never past what is applied, and names what it newly covers', () => {
    const state = new ConversationState(doc());
    const [m1, m2] = [send(state, a, b), send(state, a, b)];
    send(state, b, a);
    const first = state.apply({ kind: 'delivered', receiverId: b, upToSeq: 99, at, messageIds: [] });
    expect(first).toMatchObject({
      kind: 'delivered',
      from: 0,
      to: 3,
      messageIds: [m1._id.toHexString(), m2._id.toHexString()],
      complete: true,
    });
    expect(state.apply({ kind: 'delivered', receiverId: b, upToSeq: 2, at, messageIds: [] })).toBeUndefined();
    expect(state.members[b]?.deliveredSeq).toBe(3);
  });

  it('keeps unread exact through reads up to a seq, and a read says nothing when nothing became read', () => {
    const state = new ConversationState(doc());
    for (let i = 0; i < 5; i++) send(state, a, b);
    const read = state.apply({ kind: 'read', readerId: b, upToSeq: 3, at, requestedUpToSeq: 3 });
    expect(read).toMatchObject({ kind: 'read', from: 0, to: 3, requestedUpToSeq: 3 });
    expect(read?.messageIds).toHaveLength(3);
    expect(state.unread[b]).toBe(2);
    expect(state.members[b]).toMatchObject({ readSeq: 3, deliveredSeq: 3 });
    expect(state.apply({ kind: 'read', readerId: b, upToSeq: 3, at })).toBeUndefined();
    state.apply({ kind: 'read', readerId: b, upToSeq: 5, at });
    expect(state.unread[b]).toBe(0);
    expect(state.unreadUnknown.size).toBe(0);
  });

  it('repeats the events of a redelivered receipt that moves nothing (its first application may have lost them)', () => {
    const state = new ConversationState(doc());
    const m = send(state, a, b);
    const ids = [m._id.toHexString()];
    expect(state.apply({ kind: 'delivered', receiverId: b, upToSeq: 1, at, messageIds: ids })).toMatchObject({
      from: 0,
      to: 1,
      messageIds: ids,
    });
    expect(state.apply({ kind: 'delivered', receiverId: b, upToSeq: 1, at, messageIds: ids })).toBeUndefined();
    expect(state.apply({ kind: 'delivered', receiverId: b, upToSeq: 1, at, messageIds: ids, repeat: true })).toMatchObject({
      messageIds: ids,
    });
    state.apply({ kind: 'read', readerId: b, upToSeq: 1, at });
    expect(state.apply({ kind: 'read', readerId: b, upToSeq: 1, at, repeat: true, requestedUpToSeq: 1 })).toMatchObject({
      messageIds: ids,
      requestedUpToSeq: 1,
    });
    expect(state.unread[b]).toBe(0);
  });

  it('asks the store to count when a partial read reaches back before the messages it remembers', () => {
    const state = new ConversationState(doc({ lastSeq: 10, appliedSeq: 10, unreadCount: { b: 10 } as never }));
    send(state, a, b);
    const read = state.apply({ kind: 'read', readerId: b, upToSeq: 4, at });
    expect(read?.complete).toBe(false);
    expect([...state.unreadUnknown]).toEqual([b]);
  });

  it('remembers a bounded number of recent messages, and knows from where they are complete', () => {
    const state = new ConversationState(doc());
    for (let i = 0; i < RECENT_MESSAGES_KEPT + 10; i++) send(state, a, b);
    expect(state.recent).toHaveLength(RECENT_MESSAGES_KEPT);
    expect(state.coveredFrom).toBe(11);
  });

  it('writes the whole owner state with the next revision', () => {
    const state = new ConversationState(doc({ rev: 4 }));
    send(state, a, b);
    expect(state.toSet()).toMatchObject({ lastSeq: 1, appliedSeq: 1, unreadCount: { b: 1 }, rev: 5 });
  });
});
