/**
 * How long sends stall when the messages replica that owns a partition is killed (SIGKILL) while another stands
 * by: one sender sends every 20 ms; the report is the longest gap between two acks. Local servers only.
 *
 *   node --conditions=source bench/failover-probe.ts   (NATS_URL, MONGO_URL, REDIS_URL as the tests take them)
 */
import { io } from 'socket.io-client';
import { signToken, startInfra } from '@chat/testing';
import { removeRunData } from '@chat/testing/cleanup';
import { serviceEnv } from '../tests/support/system.ts';
import { spawnBackend, spawnGateway } from '../tests/support/processes.ts';
const id = Math.random().toString(16).slice(2, 10);
const infra = (await startInfra()).urls;
const mongoUrl = new URL(`fo_${id}`, infra.mongoUrl).toString();
const ctx = { namespace: `f${id}`, natsUrl: infra.natsUrl, mongoUrl, redisUrl: infra.redisUrl, redisPrefix: `f${id}:` } as never;
const env = serviceEnv(ctx, { NODE_ENV: 'production', MESSAGE_PARTITIONS: '4', SEND_ACK_TIMEOUT_MS: '60000' });
for (const url of [infra.natsUrl, infra.mongoUrl, infra.redisUrl]) {
  if (!/\/\/(127\.0\.0\.1|localhost)[:/]/.test(url)) throw new Error('NATS_URL, MONGO_URL and REDIS_URL must be local');
}
const first = await spawnBackend('messages', env);
const gateway = await spawnGateway(env);
const s = io(gateway.url, { transports: ['websocket'], auth: { token: await signToken({ userId: 'foa' }) } });
await new Promise((r) => s.once('authenticated', r));
// The first replica owns the conversation's partition once it has worked a send of it; then the stand-by starts.
await new Promise((r) =>
  s.emit('send_message', { conversationId: 'foa_fob', receiverId: 'fob', messageType: 'text', content: { text: 'own' } }, r),
);
const second = await spawnBackend('messages', env);
const acks: number[] = [];
let n = 0;
let stop = false;
const t0 = performance.now();
const loop = (async () => {
  while (!stop) {
    const k = n++;
    await new Promise((r) =>
      s.emit(
        'send_message',
        { conversationId: 'foa_fob', receiverId: 'fob', messageType: 'text', content: { text: String(k) }, clientMessageId: `c${k}` },
        r,
      ),
    );
    acks.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 20));
  }
})();
await new Promise((r) => setTimeout(r, 2000));
const killedAt = performance.now() - t0;
await first.kill('SIGKILL');
await new Promise((r) => setTimeout(r, 12000));
stop = true;
await loop;
const before = acks.filter((a) => a < killedAt).at(-1)!;
const gaps = acks.map((a, i) => (i ? a - acks[i - 1]! : 0));
console.log(
  JSON.stringify({
    killedAtMs: Math.round(killedAt),
    lastAckBeforeKill: Math.round(before),
    firstAckAfterKill: Math.round(acks.find((a) => a > killedAt)!),
    longestGapMs: Math.round(Math.max(...gaps)),
    acks: acks.length,
  }),
);
s.close();
await gateway.kill();
await second.kill();
await removeRunData({ natsUrl: infra.natsUrl, mongoUrl, redisUrl: infra.redisUrl }, `f${id}` as never, [`fo_${id}`]);
process.exit(0);
