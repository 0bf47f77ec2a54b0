import { describe, expect, it } from 'vitest';
import bcrypt from 'bcryptjs';
import { io } from 'socket.io-client';
import { spawnGateway } from '../support/processes.ts';
import { serviceEnv, useSystem } from '../support/system.ts';

const passwordHash = bcrypt.hashSync('s3cret-admin', 10);
const adminEnv = { SOCKET_ADMIN_UI_USERNAME: 'ops', SOCKET_ADMIN_UI_PASSWORD_HASH: passwordHash };
const enabled = useSystem({ messages: false, gateway: adminEnv });

/** Connects to the admin namespace; resolves 'connected' or the refusal's message. */
function connectAdmin(url: string, auth?: Record<string, unknown>): Promise<string> {
  const socket = io(`${url}/admin`, { transports: ['websocket'], reconnection: false, forceNew: true, ...(auth ? { auth } : {}) });
  return new Promise((resolve) => {
    socket.once('connect', () => {
      socket.disconnect();
      resolve('connected');
    });
    socket.once('connect_error', (error) => {
      socket.disconnect();
      resolve(error.message);
    });
  });
}

describe('Socket.IO Admin UI', () => {
  it('is behind basic authentication when enabled, with its UI served by the gateway', async () => {
    expect(await connectAdmin(enabled.gateway.url, { username: 'ops', password: 's3cret-admin' })).toBe('connected');
    expect(await connectAdmin(enabled.gateway.url, { username: 'ops', password: 'wrong' })).not.toBe('connected');
    expect(await connectAdmin(enabled.gateway.url)).not.toBe('connected');
    const ui = await fetch(`${enabled.gateway.url}/admin-ui/`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('<html');
  });

  it.each([
    ['no password', { username: 'ops' }],
    ['a number as password', { username: 'ops', password: 12345 }],
    ['an object as password', { username: 'ops', password: { toString: 'x' } }],
    ['an array as username', { username: ['ops'], password: 's3cret-admin' }],
  ])('refuses %s, and the gateway keeps serving', async (_case, auth) => {
    expect(await connectAdmin(enabled.gateway.url, auth)).toBe('invalid credentials');
    expect(await connectAdmin(enabled.gateway.url, { username: 'ops', password: 's3cret-admin' })).toBe('connected');
    const client = await enabled.connectAs('admin-ui-bystander');
    expect(client.connected).toBe(true);
  });

  it('refuses an address that made too many wrong logins without checking its password, and lets others in meanwhile', async () => {
    const gateway = await enabled.addGateway(adminEnv);
    const attempts = await Promise.all(Array.from({ length: 20 }, () => connectAdmin(gateway.url, { username: 'ops', password: 'guess' })));
    // At most the budget is checked; the rest are refused unchecked (over budget, or too many checks at once).
    expect(attempts.filter((answer) => answer === 'invalid credentials').length).toBeLessThanOrEqual(5);
    expect(attempts.filter((answer) => answer === 'too many login attempts').length).toBeGreaterThanOrEqual(15);
    let answer = await connectAdmin(gateway.url, { username: 'ops', password: 'guess' });
    while (answer === 'invalid credentials') answer = await connectAdmin(gateway.url, { username: 'ops', password: 'guess' });
    expect(answer).toBe('too many login attempts');
    // Even the right password, from that address, within the window.
    expect(await connectAdmin(gateway.url, { username: 'ops', password: 's3cret-admin' })).toBe('too many login attempts');
    // Chat is not held up.
    const client = await enabled.connectAs('admin-ui-throttle-bystander', gateway);
    expect(client.connected).toBe(true);
  });

  it('leaves a gateway process running after logins with credentials that are not strings', async () => {
    const gateway = await spawnGateway(serviceEnv(enabled.ctx, adminEnv));
    const attempt = (auth: Record<string, unknown>) =>
      Promise.race([connectAdmin(gateway.url, auth), gateway.exited.then((code) => `the gateway exited (${code})`)]);
    try {
      expect(await attempt({ username: 'ops' })).toBe('invalid credentials');
      expect(await attempt({ username: 'ops', password: 42 })).toBe('invalid credentials');
      expect(await attempt({ username: 'ops', password: 's3cret-admin' })).toBe('connected');
      expect(gateway.child.exitCode).toBeNull();
      expect(gateway.output()).not.toContain('"level":50');
    } finally {
      await gateway.kill('SIGTERM');
    }
  });

  it('does not exist when not configured', async () => {
    const plain = await enabled.addGateway({ SOCKET_ADMIN_UI_USERNAME: '', SOCKET_ADMIN_UI_PASSWORD_HASH: '' });
    expect(await connectAdmin(plain.url, { username: 'ops', password: 's3cret-admin' })).toBe('Invalid namespace');
    expect((await fetch(`${plain.url}/admin-ui/`)).status).toBe(404);
  });
});
