import { describe, expect, it } from 'vitest';
import { conversationIdOf, type UserId } from '@chat/contracts';
import { emitWithAck, signToken, waitFor } from '@chat/testing';
import { converse } from '../support/conversations.ts';
import { useSystem } from '../support/system.ts';

/**
 * Partners are users who share a conversation in which a message is stored. Opening a conversation over REST
 * asks nobody's consent, so by itself it shows the other user nothing and makes nobody a partner.
 */
const system = useSystem({ presence: true });

let n = 0;
const users = <const N extends string[]>(...names: N) => {
  n++;
  return names.map((name) => `${name}-p${n}` as UserId) as { [K in keyof N]: UserId };
};

async function open(userId: UserId, participantId: UserId, jobId?: string): Promise<void> {
  const response = await fetch(`${system.gateway.url}/api/chat/conversations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await signToken({ userId })}`, 'content-type': 'application/json' },
    body: JSON.stringify({ participantId, ...(jobId ? { jobId } : {}) }),
  });
  expect(response.status).toBe(201);
}

type Row = { _id: string; jobId: string | null; otherUser: { _id: string; isOnline: boolean } };
async function list(userId: UserId): Promise<Row[]> {
  const response = await fetch(`${system.gateway.url}/api/chat/conversations`, {
    headers: { authorization: `Bearer ${await signToken({ userId })}` },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: Row[] }).data;
}

describe('partners', () => {
  it("a conversation opened over REST is listed only to its opener and tells nobody anyone's status", async () => {
    const [mallory, victim] = users('mallory', 'victim');
    const m = await system.connectAs(mallory);
    const v = await system.connectAs(victim);
    await open(mallory, victim, 'planted-job');
    const conversationId = conversationIdOf(mallory, victim);

    // The opener sees it (to send the first message from), without the other's status; the other sees nothing.
    expect(await list(mallory)).toEqual([
      expect.objectContaining({
        _id: conversationId,
        jobId: 'planted-job',
        otherUser: expect.objectContaining({ _id: victim, isOnline: false }),
      }),
    ]);
    expect(await list(victim)).toEqual([]);
    // Neither may watch the other's status: not by asking, not by opening the conversation.
    expect(await emitWithAck(m, 'get_online_status', { userId: victim })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await emitWithAck(v, 'get_online_status', { userId: mallory })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect((await emitWithAck(m, 'join_conversation', { conversationId })).ok).toBe(true);
    expect(await emitWithAck(m, 'get_online_status', { userId: victim })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  });

  it("a stranger with no conversation at all cannot see anyone's status", async () => {
    const [stranger, target] = users('stranger', 'target');
    const s = await system.connectAs(stranger);
    await system.connectAs(target);
    expect(await emitWithAck(s, 'get_online_status', { userId: target })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  });

  it("once a message is stored, both list the conversation and see each other's status", async () => {
    const [customer, contractor] = users('customer', 'contractor');
    const c = await system.connectAs(customer);
    const k = await system.connectAs(contractor);
    // The spec's flow: open the conversation, then send the first message in it.
    await open(customer, contractor, 'job-42');
    await converse(c, customer, contractor);
    const conversationId = conversationIdOf(customer, contractor);

    await waitFor(async () => (await list(contractor)).some((row) => row._id === conversationId));
    expect(await list(contractor)).toEqual([
      expect.objectContaining({
        _id: conversationId,
        jobId: 'job-42',
        otherUser: expect.objectContaining({ _id: customer, isOnline: true }),
      }),
    ]);
    expect(await list(customer)).toEqual([
      expect.objectContaining({ otherUser: expect.objectContaining({ _id: contractor, isOnline: true }) }),
    ]);
    expect(await emitWithAck(c, 'get_online_status', { userId: contractor })).toMatchObject({
      ok: true,
      data: { userId: contractor, isOnline: true },
    });
    expect(await emitWithAck(k, 'get_online_status', { userId: customer })).toMatchObject({
      ok: true,
      data: { userId: customer, isOnline: true },
    });
  });

  it('the receiver of a first message sent without opening the conversation first sees it at once', async () => {
    const [sender, receiver] = users('sender', 'receiver');
    const s = await system.connectAs(sender);
    const r = await system.connectAs(receiver);
    await converse(s, sender, receiver);
    // No wait: whether the conversation's own write has landed yet or not, its stored message makes it listed.
    expect((await list(receiver)).map((row) => row._id)).toEqual([conversationIdOf(sender, receiver)]);
    expect(await emitWithAck(r, 'get_online_status', { userId: sender })).toMatchObject({ ok: true });
  });
});
