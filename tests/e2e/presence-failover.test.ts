import { afterAll, describe, expect, it } from 'vitest';
import { conversationIdOf, DEFAULT_PRESENCE_GATEWAY_TTL_MS, type UserId } from '@chat/contracts';
import { connectClient, emitWithAck, nextEvent, signToken, type ChatClient } from '@chat/testing';
import { converse } from '../support/conversations.ts';
import { serviceEnv, useSystem } from '../support/system.ts';
import { spawnService, type ServiceProcess } from '../support/processes.ts';

/**
 * Two gateway processes; one is killed with SIGKILL and says nothing to anyone. The presence service must
 * notice from the missing heartbeats and take its users offline within 30 s (with the default settings),
 * telling their partners, while a user who also has a device on the surviving gateway stays online.
 */
const system = useSystem({ presence: true });
const processes: ServiceProcess[] = [];
const clients: ChatClient[] = [];

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await Promise.all(processes.map((p) => p.kill('SIGKILL')));
});

async function startGatewayProcess(): Promise<{ process: ServiceProcess; url: string }> {
  const gateway = spawnService('gateway', serviceEnv(system.ctx, { LOG_FORMAT: 'json', LOG_LEVEL: 'info' }));
  processes.push(gateway);
  await gateway.waitForLog('gateway listening');
  const port = /"port":(\d+)/.exec(gateway.output())?.[1];
  if (!port) throw new Error(`the gateway did not log its port:\n${gateway.output()}`);
  return { process: gateway, url: `http://127.0.0.1:${port}` };
}

async function connect(url: string, userId: UserId): Promise<ChatClient> {
  const client = await connectClient(url, { token: await signToken({ userId }) });
  clients.push(client);
  return client;
}

describe('a gateway killed with SIGKILL', () => {
  it('has its users taken offline within 30 s and their partners told; other devices keep theirs online', { timeout: 60_000 }, async () => {
    const alice = 'alice-kill' as UserId;
    const bob = 'bob-kill' as UserId;
    const carol = 'carol-kill' as UserId;
    const [doomed, survivor] = await Promise.all([startGatewayProcess(), startGatewayProcess()]);

    const a = await connect(doomed.url, alice);
    const carolPhone = await connect(doomed.url, carol);
    await connect(survivor.url, carol);
    const b = await connect(survivor.url, bob);
    await converse(a, alice, bob);
    await converse(carolPhone, carol, bob);

    // Bob has the conversation with Alice open: he is told her status now and of every change.
    const current = nextEvent(b, 'user_online_status');
    expect((await emitWithAck(b, 'join_conversation', { conversationId: conversationIdOf(alice, bob) })).ok).toBe(true);
    expect(await current).toMatchObject({ userId: alice, isOnline: true });
    expect(await emitWithAck(b, 'get_online_status', { userId: carol })).toMatchObject({ ok: true, data: { isOnline: true } });

    const offline = nextEvent(b, 'user_online_status', 35_000);
    const killedAt = Date.now();
    expect(await doomed.process.kill('SIGKILL')).toBe('SIGKILL');
    const change = await offline;
    const tookMs = Date.now() - killedAt;
    console.info(`a killed gateway's user went offline after ${tookMs} ms (gateway TTL ${DEFAULT_PRESENCE_GATEWAY_TTL_MS} ms)`);
    expect(change).toMatchObject({ userId: alice, isOnline: false });
    expect(tookMs).toBeLessThan(30_000);

    // Carol's laptop on the surviving gateway keeps her online.
    expect(await emitWithAck(b, 'get_online_status', { userId: carol })).toMatchObject({ ok: true, data: { isOnline: true } });
    expect(await emitWithAck(b, 'get_online_status', { userId: alice })).toMatchObject({ ok: true, data: { isOnline: false } });
    // And the chat goes on through the survivor.
    await converse(b, bob, carol);
  });
});
