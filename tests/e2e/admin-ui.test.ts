import { describe, expect, it } from 'vitest';
import bcrypt from 'bcryptjs';
import { io } from 'socket.io-client';
import { useSystem } from '../support/system.ts';

const passwordHash = bcrypt.hashSync('s3cret-admin', 10);
const enabled = useSystem({ messages: false, gateway: { SOCKET_ADMIN_UI_USERNAME: 'ops', SOCKET_ADMIN_UI_PASSWORD_HASH: passwordHash } });

/** Connects to the admin namespace; resolves 'connected' or the refusal's message. */
function connectAdmin(url: string, auth?: { username: string; password: string }): Promise<string> {
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

  it('does not exist when not configured', async () => {
    const plain = await enabled.addGateway({ SOCKET_ADMIN_UI_USERNAME: '', SOCKET_ADMIN_UI_PASSWORD_HASH: '' });
    expect(await connectAdmin(plain.url, { username: 'ops', password: 's3cret-admin' })).toBe('Invalid namespace');
    expect((await fetch(`${plain.url}/admin-ui/`)).status).toBe(404);
  });
});
