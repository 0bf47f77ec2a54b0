import { describe, expect, it } from 'vitest';
import { ObjectId } from 'mongodb';
import { conversationIdOf, type UserId } from '@chat/contracts';
import { connectClient, signToken, waitFor } from '@chat/testing';
import { useSystem } from '../support/system.ts';

const system = useSystem();
const profiles = () => system.messages!.profiles.profiles;

const tokenOf = (userId: string, claims: Record<string, unknown> = {}) => signToken({ userId, claims });

async function listConversations(userId: string) {
  const response = await fetch(`${system.gateway.url}/api/chat/conversations`, {
    headers: { authorization: `Bearer ${await tokenOf(userId)}` },
  });
  return {
    status: response.status,
    body: (await response.json()) as { code?: string; data: Array<{ _id: string; otherUser: Record<string, unknown> }> | null },
  };
}

async function openConversation(userId: string, participantId: string): Promise<void> {
  const response = await fetch(`${system.gateway.url}/api/chat/conversations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await tokenOf(userId)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ participantId }),
  });
  expect(response.status).toBe(201);
}

describe('profiles in conversation lists', () => {
  it('a token with a name and no avatar (or the reverse) stores every field, and partners list the user', async () => {
    await system.connectAs('pf-partner');
    const named = system.track(await connectClient(system.gateway.url, { token: await tokenOf('pf-named', { name: 'Ann' }) }));
    const pictured = system.track(
      await connectClient(system.gateway.url, { token: await tokenOf('pf-pictured', { avatar: 'https://img.example/p.png' }) }),
    );
    expect(named.connected && pictured.connected).toBe(true);
    await waitFor(async () => (await profiles().countDocuments({ _id: { $in: ['pf-named', 'pf-pictured'] as UserId[] } })) === 2);
    expect(await profiles().findOne({ _id: 'pf-named' as UserId }, { projection: { updatedAt: 0 } })).toEqual({
      _id: 'pf-named',
      name: 'Ann',
      avatar: null,
    });
    expect(await profiles().findOne({ _id: 'pf-pictured' as UserId }, { projection: { updatedAt: 0 } })).toEqual({
      _id: 'pf-pictured',
      name: null,
      avatar: 'https://img.example/p.png',
    });

    await openConversation('pf-partner', 'pf-named');
    await openConversation('pf-partner', 'pf-pictured');
    const list = await listConversations('pf-partner');
    expect(list.status).toBe(200);
    const others = Object.fromEntries(list.body.data!.map((c) => [c._id, c.otherUser]));
    expect(others[conversationIdOf('pf-partner' as UserId, 'pf-named' as UserId)]).toMatchObject({
      _id: 'pf-named',
      name: 'Ann',
      avatar: null,
    });
    expect(others[conversationIdOf('pf-partner' as UserId, 'pf-pictured' as UserId)]).toMatchObject({
      name: null,
      avatar: 'https://img.example/p.png',
    });
  });

  it('reads a stored profile that lacks fields, or has wrong ones, as null fields', async () => {
    await profiles().insertMany([
      { _id: 'pf-legacy' as UserId, name: 'Old', updatedAt: new Date() } as never,
      { _id: 'pf-garbled' as UserId, name: 42, avatar: { url: 'x' }, updatedAt: new Date() } as never,
    ]);
    await openConversation('pf-reader', 'pf-legacy');
    await openConversation('pf-reader', 'pf-garbled');
    const list = await listConversations('pf-reader');
    expect(list.status).toBe(200);
    const others = Object.fromEntries(list.body.data!.map((c) => [c.otherUser._id, c.otherUser]));
    expect(others['pf-legacy']).toMatchObject({ name: 'Old', avatar: null });
    expect(others['pf-garbled']).toMatchObject({ name: null, avatar: null });
  });

  it('leaves out a conversation that cannot be read, and lists the rest', async () => {
    await openConversation('pf-lister', 'pf-fine');
    const at = new Date();
    // A row no version writes: its last message has no text.
    const broken = conversationIdOf('pf-lister' as UserId, 'pf-broken' as UserId);
    await system.messages!.store.conversations.insertOne({
      _id: broken,
      participants: ['pf-broken', 'pf-lister'],
      unreadCount: {},
      lastSeq: 1,
      appliedSeq: 1,
      lastMessage: { messageId: new ObjectId(), senderId: 'pf-broken', timestamp: at, seq: 1 },
      createdAt: at,
      updatedAt: at,
    } as never);
    const list = await listConversations('pf-lister');
    expect(list.status).toBe(200);
    expect(list.body.data!.map((c) => c._id)).toEqual([conversationIdOf('pf-lister' as UserId, 'pf-fine' as UserId)]);
  });

  it('shows other users a name as cleaned text (markup kept as text) and only an http(s) avatar', async () => {
    const claims = { name: '<img src=x onerror=alert(1)>\u202Eevil\u0085', avatar: 'javascript:alert(document.cookie)' };
    system.track(await connectClient(system.gateway.url, { token: await tokenOf('pf-claims', claims) }));
    await waitFor(async () => (await profiles().countDocuments({ _id: 'pf-claims' as UserId })) === 1);
    const stored = { _id: 'pf-claims', name: '<img src=x onerror=alert(1)>evil', avatar: null };
    expect(await profiles().findOne({ _id: 'pf-claims' as UserId }, { projection: { updatedAt: 0 } })).toEqual(stored);

    // Written by an earlier version, before claims were cleaned: read as cleaned all the same.
    await profiles().insertOne({
      _id: 'pf-old-claims' as UserId,
      name: 'Mallory\u202E',
      avatar: 'data:text/html,<script>',
      updatedAt: new Date(),
    } as never);
    await openConversation('pf-claims-reader', 'pf-claims');
    await openConversation('pf-claims-reader', 'pf-old-claims');
    const list = await listConversations('pf-claims-reader');
    const others = Object.fromEntries(list.body.data!.map((c) => [c.otherUser._id, c.otherUser]));
    expect(others['pf-claims']).toMatchObject(stored);
    expect(others['pf-old-claims']).toMatchObject({ name: 'Mallory', avatar: null });
  });
});
