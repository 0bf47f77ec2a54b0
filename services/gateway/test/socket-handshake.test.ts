import { describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { emitWithAck, nextEvent, signToken, type ChatClient } from '@chat/testing';
import { useSystem } from '../../../tests/support/system.ts';

const system = useSystem({ messages: false });

/** A client on the given transports (socket.io-client's default: long-polling first, then the WebSocket upgrade). */
function client(options: { token?: string; bearer?: string; transports?: Array<'polling' | 'websocket'> }): ChatClient {
  const socket: ChatClient = io(system.gateway.url, {
    reconnection: false,
    forceNew: true,
    autoConnect: false,
    ...(options.transports ? { transports: options.transports } : {}),
    ...(options.token ? { auth: { token: options.token } } : {}),
    extraHeaders: {
      'user-agent': 'handshake-test/1.0',
      'x-forwarded-for': '203.0.113.7',
      ...(options.bearer ? { authorization: `Bearer ${options.bearer}` } : {}),
    },
  });
  system.track(socket);
  return socket;
}

const serverSocketOf = (userId: string) => [...system.gateway.io.sockets.sockets.values()].find((s) => s.data.user?.userId === userId);

describe('what a socket keeps of its handshake', () => {
  it('keeps only the headers read later, no query, auth or request, and the address', async () => {
    const socket = client({ bearer: await signToken({ userId: 'hs-ws' }), transports: ['websocket'] });
    const authenticated = nextEvent(socket, 'authenticated');
    socket.connect();
    expect(await authenticated).toEqual({ userId: 'hs-ws', success: true });
    const server = serverSocketOf('hs-ws');
    expect(server?.handshake.headers).toEqual({ 'user-agent': 'handshake-test/1.0', 'x-forwarded-for': '203.0.113.7' });
    expect(server?.handshake.query).toEqual({});
    expect(server?.handshake.auth).toEqual({});
    expect(server?.handshake.address).toMatch(/127\.0\.0\.1|::1/);
    expect(server?.conn.request).toBeNull();
    expect(await emitWithAck(socket, 'authenticate', { token: await signToken({ userId: 'hs-ws' }) })).toEqual({
      ok: true,
      data: { userId: 'hs-ws', success: true },
    });
  });

  it('long-polling only: authenticates and answers', async () => {
    const socket = client({ token: await signToken({ userId: 'hs-poll' }), transports: ['polling'] });
    const authenticated = nextEvent(socket, 'authenticated');
    socket.connect();
    expect(await authenticated).toEqual({ userId: 'hs-poll', success: true });
    expect(socket.io.engine.transport.name).toBe('polling');
    expect(await emitWithAck(socket, 'authenticate', { token: await signToken({ userId: 'hs-poll' }) })).toEqual({
      ok: true,
      data: { userId: 'hs-poll', success: true },
    });
    expect(serverSocketOf('hs-poll')?.conn.request).toBeNull();
  });

  it('long-polling upgraded to WebSocket: authenticates and answers after the upgrade', async () => {
    const socket = client({ token: await signToken({ userId: 'hs-up' }) });
    const authenticated = nextEvent(socket, 'authenticated');
    const upgraded = new Promise<void>((resolve) => socket.io.on('open', () => socket.io.engine.once('upgrade', () => resolve())));
    socket.connect();
    expect(await authenticated).toEqual({ userId: 'hs-up', success: true });
    await upgraded;
    expect(socket.io.engine.transport.name).toBe('websocket');
    expect(await emitWithAck(socket, 'authenticate', { token: await signToken({ userId: 'hs-up' }) })).toEqual({
      ok: true,
      data: { userId: 'hs-up', success: true },
    });
  });
});
