import { io } from 'socket.io-client';
import { createTestContext, signToken } from '@chat/testing';
import { serviceEnv } from '../tests/support/system.ts';
import { spawnBackend, spawnGateway } from '../tests/support/processes.ts';
const ctx = createTestContext();
const env = serviceEnv(ctx, { NODE_ENV: 'production', MESSAGE_PARTITIONS: '16' });
env.MONGO_URL = `${env.MONGO_URL}?maxPoolSize=8`;
const messages = await spawnBackend('messages', env, { logLevel: process.env.ML ?? 'info' });
const presence = await spawnBackend('presence', env);
const gateway = await spawnGateway(env);
const connect = async (userId: string) => {
  const s = io(gateway.url, { transports: ['websocket'], auth: { token: await signToken({ userId }) } });
  await new Promise((r) => s.once('authenticated', r));
  return s;
};
const a = await connect('lata'); const b = await connect('latb');
const times: number[] = [];
for (let i = 0; i < 300; i++) {
  const t = performance.now();
  const got = new Promise((r) => b.once('new_message', r));
  a.emit('send_message', { conversationId: 'lata_latb', receiverId: 'latb', messageType: 'text', content: { text: 'x' + i } });
  await got;
  times.push(performance.now() - t);
  await new Promise((r) => setTimeout(r, 20));
}
times.sort((x, y) => x - y);
console.log('p50', times[150].toFixed(2), 'p90', times[270].toFixed(2));
a.close(); b.close();
const out = messages.output();
await gateway.kill(); await messages.kill(); await presence.kill(); await ctx.cleanup();
if (process.env.ML === 'debug') console.log(out.split('\n').filter((l) => l.includes('timing')).slice(-5).join('\n'));
process.exit(0);
