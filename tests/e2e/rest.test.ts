import { describe, expect, it } from 'vitest';
import { Bus } from '@chat/bus';
import { busNames, conversationIdOf, type UserId } from '@chat/contracts';
import { emitWithAck, signToken, waitFor } from '@chat/testing';
import { testLogger, useSystem } from '../support/system.ts';

const system = useSystem();

async function api(path: string, { token, method = 'GET', body }: { token?: string; method?: string; body?: unknown } = {}) {
  const response = await fetch(`${system.gateway.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as { status: number; message: string; data: any; code?: string } };
}

const tokenOf = (userId: string, claims: Record<string, unknown> = {}) => signToken({ userId, claims });

describe('POST /api/chat/conversations', () => {
  it('creates the deterministic conversation, idempotently, with 201', async () => {
    const token = await tokenOf('user456');
    const first = await api('/api/chat/conversations', { token, method: 'POST', body: { participantId: 'user123', jobId: 'job123' } });
    expect(first).toEqual({
      status: 201,
      body: { status: 201, message: 'Conversation created successfully', data: { conversationId: 'user123_user456' } },
    });
    const again = await api('/api/chat/conversations', {
      token: await tokenOf('user123'),
      method: 'POST',
      body: { participantId: 'user456' },
    });
    expect(again.body.data).toEqual({ conversationId: 'user123_user456' });
    expect(await system.messages!.store.conversations.countDocuments({ _id: 'user123_user456' as never })).toBe(1);
  });

  it.each([
    ['with oneself', { participantId: 'user123' }, 400, 'VALIDATION_ERROR'],
    ['without participantId', {}, 400, 'VALIDATION_ERROR'],
    ['with an unsafe id', { participantId: 'a.b' }, 400, 'VALIDATION_ERROR'],
    ['with unknown fields', { participantId: 'x', admin: true }, 400, 'VALIDATION_ERROR'],
    ['with malformed JSON', '{"participantId":', 400, 'VALIDATION_ERROR'],
  ])('refuses a conversation %s', async (_name, body, status, code) => {
    const response = await api('/api/chat/conversations', { token: await tokenOf('user123'), method: 'POST', body });
    expect(response.status).toBe(status);
    expect(response.body).toMatchObject({ status, code, data: null });
  });
});

describe('GET /api/chat/conversations', () => {
  it("lists the caller's conversations by last activity, with their unread count and the other user", async () => {
    const me = 'lister';
    const [first, second] = ['pat', 'quinn'] as UserId[];
    const sFirst = await system.connectAs(first!);
    // Quinn's name and avatar come from the claims of their token at connect...
    const quinnSocket = await (async () => {
      const { connectClient } = await import('@chat/testing');
      return system.track(
        await connectClient(system.gateway.url, { token: await tokenOf(second!, { name: 'Quinn Q', avatar: '/a/q.png' }) }),
      );
    })();
    // ...and Pat's from the users-updated subject the surrounding app publishes.
    const bus = await Bus.connect({ servers: [system.ctx.natsUrl], name: 'app', logger: testLogger('app') });
    await bus.publishDurable(busNames(system.ctx.namespace).userUpdated(first!), { userId: first!, name: 'Pat P', avatar: null });
    await bus.close();

    const c1 = conversationIdOf(me as UserId, first!);
    const c2 = conversationIdOf(me as UserId, second!);
    for (const text of ['one', 'two']) {
      expect(
        (await emitWithAck(sFirst, 'send_message', { conversationId: c1, receiverId: me, messageType: 'text', content: { text } })).ok,
      ).toBe(true);
    }
    expect(
      (
        await emitWithAck(quinnSocket, 'send_message', {
          conversationId: c2,
          receiverId: me,
          messageType: 'text',
          content: { text: 'newest' },
        })
      ).ok,
    ).toBe(true);

    const token = await tokenOf(me);
    await waitFor(async () => {
      const { body } = await api('/api/chat/conversations', { token });
      return body.data?.[1]?.otherUser?.name === 'Pat P' && body.data?.[0]?.otherUser?.name === 'Quinn Q';
    });
    const { status, body } = await api('/api/chat/conversations', { token });
    expect(status).toBe(200);
    expect(body.message).toBe('Conversations retrieved successfully');
    expect(body.data.map((c: { _id: string }) => c._id)).toEqual([c2, c1]);
    expect(body.data[0]).toMatchObject({
      participants: [me, second].sort(),
      lastMessage: { text: 'newest', senderId: second, seq: 1 },
      unreadCount: 1,
      lastSeq: 1,
      otherUser: { _id: second, name: 'Quinn Q', avatar: '/a/q.png', isOnline: false },
      jobId: null,
    });
    expect(body.data[1]).toMatchObject({
      unreadCount: 2,
      lastMessage: { text: 'two' },
      otherUser: { _id: first, name: 'Pat P', avatar: null },
    });

    // The other side sees the same conversation with its own unread count.
    const theirs = await api('/api/chat/conversations', { token: await tokenOf(first!) });
    expect(theirs.body.data).toEqual([expect.objectContaining({ _id: c1, unreadCount: 0 })]);

    const limited = await api('/api/chat/conversations?limit=1', { token });
    expect(limited.body.data).toHaveLength(1);
    const next = await api(`/api/chat/conversations?limit=1&before=${encodeURIComponent(limited.body.data[0].updatedAt)}`, { token });
    expect(next.body.data.map((c: { _id: string }) => c._id)).toEqual([c1]);
  });
});

describe('GET /api/chat/conversations/:id/messages', () => {
  const a = 'historian' as UserId;
  const b = 'reader' as UserId;
  const conversationId = conversationIdOf(a, b);

  it('pages like the spec, newest page first, each page oldest first, and follows sequence cursors', async () => {
    const sa = await system.connectAs(a);
    for (let i = 1; i <= 7; i++) {
      expect(
        (await emitWithAck(sa, 'send_message', { conversationId, receiverId: b, messageType: 'text', content: { text: `h${i}` } })).ok,
      ).toBe(true);
    }
    const token = await tokenOf(b);
    const seqs = (body: { data: { messages: Array<{ seq: number }> } }) => body.data.messages.map((m) => m.seq);

    const page1 = await api(`/api/chat/conversations/${conversationId}/messages?page=1&limit=3`, { token });
    expect(page1.status).toBe(200);
    expect(page1.body).toMatchObject({ status: 200, message: 'Messages retrieved successfully', data: { hasMore: true, totalPages: 3 } });
    expect(seqs(page1.body)).toEqual([5, 6, 7]);
    expect(seqs((await api(`/api/chat/conversations/${conversationId}/messages?page=3&limit=3`, { token })).body)).toEqual([1]);
    const before = await api(`/api/chat/conversations/${conversationId}/messages?before=5&limit=2`, { token });
    expect(seqs(before.body)).toEqual([3, 4]);
    expect(before.body.data.hasMore).toBe(true);
    const after = await api(`/api/chat/conversations/${conversationId}/messages?after=5`, { token });
    expect(seqs(after.body)).toEqual([6, 7]);
    expect(after.body.data.hasMore).toBe(false);
    const defaults = await api(`/api/chat/conversations/${conversationId}/messages`, { token });
    expect(seqs(defaults.body)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it.each([
    ['no token', undefined, `/api/chat/conversations/${conversationId}/messages`, 401, 'AUTH_ERROR'],
    ['a bad token', 'not-a-token', `/api/chat/conversations/${conversationId}/messages`, 401, 'AUTH_ERROR'],
    ['a non-participant', 'stranger', `/api/chat/conversations/${conversationId}/messages`, 403, 'NOT_PARTICIPANT'],
    ['a bad page', 'reader', `/api/chat/conversations/${conversationId}/messages?page=0`, 400, 'VALIDATION_ERROR'],
    ['a limit over 100', 'reader', `/api/chat/conversations/${conversationId}/messages?limit=101`, 400, 'VALIDATION_ERROR'],
    ['a non-numeric cursor', 'reader', `/api/chat/conversations/${conversationId}/messages?before=abc`, 400, 'VALIDATION_ERROR'],
    ['page and cursor together', 'reader', `/api/chat/conversations/${conversationId}/messages?page=1&after=2`, 400, 'VALIDATION_ERROR'],
    ['a malformed conversation id', 'reader', '/api/chat/conversations/reader_reader/messages', 400, 'VALIDATION_ERROR'],
    ['an unknown conversation', 'nobody', '/api/chat/conversations/nobody_zed/messages', 404, 'NOT_FOUND'],
    ['an unknown route', 'reader', '/api/chat/nothing-here', 404, 'NOT_FOUND'],
  ])('answers %s in the envelope', async (_name, user, path, status, code) => {
    const token = user === undefined ? undefined : user === 'not-a-token' ? user : await tokenOf(user);
    const response = await api(path, token === undefined ? {} : { token });
    expect(response.status).toBe(status);
    expect(response.body).toMatchObject({ status, code, data: null });
    expect(response.body.message.length).toBeGreaterThan(0);
  });

  it('answers lists and history without a token with 401 too', async () => {
    expect((await api('/api/chat/conversations')).body).toMatchObject({ status: 401, code: 'AUTH_ERROR' });
    expect((await api('/api/chat/conversations', { method: 'POST', body: { participantId: 'x' } })).status).toBe(401);
  });
});

describe('OpenAPI', () => {
  it('documents every endpoint from the same schemas, with a UI', async () => {
    const response = await fetch(`${system.gateway.url}/openapi.json`);
    const doc = (await response.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/api/chat/conversations',
      '/api/chat/conversations/{id}/messages',
      '/api/common/files/{fileId}',
      '/api/common/upload',
    ]);
    expect(Object.keys(doc.paths['/api/chat/conversations']!).sort()).toEqual(['get', 'post']);
    expect((await fetch(`${system.gateway.url}/docs/`)).status).toBe(200);
  });
});
