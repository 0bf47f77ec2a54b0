import { describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import type { Gateway } from '@chat/gateway';
import { signToken } from '@chat/testing';
import { useSystem } from '../support/system.ts';

/**
 * CORS, the Origin check of Socket.IO handshakes, the headers of private answers and the API docs switch. The
 * first gateway has the default `CLIENT_URL=*`; the second lists one origin and has the docs off.
 */
const system = useSystem({ messages: true });
const APP = 'https://app.example.com';
const EVIL = 'https://evil.example';
let listed: Gateway | undefined;
const listedGateway = async () => (listed ??= await system.addGateway({ CLIENT_URL: `${APP}/`, API_DOCS_ENABLED: 'false' }));

async function get(gateway: Gateway, path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gateway.url}${path}`, { headers });
}

/** Whether a Socket.IO client (websocket only, as the apps connect) gets through the handshake. */
function handshake(gateway: Gateway, origin: string | undefined): Promise<'connected' | 'refused'> {
  const socket = io(gateway.url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(origin === undefined ? {} : { extraHeaders: { origin } }),
  });
  return new Promise((resolve) => {
    socket.once('connect', () => {
      socket.disconnect();
      resolve('connected');
    });
    socket.once('connect_error', () => {
      socket.disconnect();
      resolve('refused');
    });
  });
}

describe('CORS', () => {
  it('with CLIENT_URL=* allows any origin, but never with credentials', async () => {
    const response = await get(system.gateway, '/healthz', { origin: EVIL });
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    const preflight = await fetch(`${system.gateway.url}/api/chat/conversations`, {
      method: 'OPTIONS',
      headers: { origin: EVIL, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('with listed origins answers those, with credentials, and no other', async () => {
    const gateway = await listedGateway();
    const allowed = await get(gateway, '/healthz', { origin: APP });
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP);
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await get(gateway, '/healthz', { origin: EVIL });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('the Origin of Socket.IO handshakes', () => {
  it('is not checked with CLIENT_URL=*', async () => {
    expect(await handshake(system.gateway, EVIL)).toBe('connected');
  });

  it("with listed origins: a listed one, the gateway's own, or none at all (native apps) get in; others do not", async () => {
    const gateway = await listedGateway();
    expect(await handshake(gateway, EVIL)).toBe('refused');
    expect(await handshake(gateway, 'null')).toBe('refused');
    expect(await handshake(gateway, APP)).toBe('connected');
    expect(await handshake(gateway, new URL(gateway.url).origin)).toBe('connected');
    expect(await handshake(gateway, undefined)).toBe('connected');
  });
});

/**
 * A raw WebSocket upgrade to engine.io: the HTTP status and body of a refusal, or the first frame once accepted.
 * The gateway corks an upgrade's TCP socket for the rest of its turn (the 101 and the open packet in one write): a
 * refusal must still reach the client before engine.io destroys the socket, not vanish into a reset.
 */
function upgrade(gateway: Gateway, query: string, origin?: string): Promise<{ status: number; body: string } | { first: string }> {
  const url = `${gateway.url.replace(/^http/, 'ws')}/socket.io/?${query}`;
  const ws = new WebSocket(url, origin === undefined ? {} : { headers: { origin } });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    ws.once('message', (data) => {
      resolve({ first: String(data) });
      ws.close();
    });
    ws.once('error', reject);
  });
}

describe('WebSocket upgrades', () => {
  it('refused are answered with their status and reason (origin, transport, session)', async () => {
    const gateway = await listedGateway();
    expect(await upgrade(gateway, 'EIO=4&transport=websocket', EVIL)).toEqual({ status: 400, body: 'origin not allowed' });
    expect(await upgrade(system.gateway, 'EIO=4&transport=carrier-pigeon')).toEqual({ status: 400, body: 'Transport unknown' });
    expect(await upgrade(system.gateway, 'EIO=4&transport=websocket&sid=no-such-session')).toEqual({
      status: 400,
      body: 'Session ID unknown',
    });
  });

  it("accepted get engine.io's open packet first", async () => {
    const answer = await upgrade(system.gateway, 'EIO=4&transport=websocket');
    expect(answer).toEqual({ first: expect.stringMatching(/^0\{"sid":/) });
  });
});

describe('answers with private data', () => {
  it.each([
    ['a list', '/api/chat/conversations', true, 200],
    ['a missing token', '/api/chat/conversations', false, 401],
    ['a refused history', '/api/chat/conversations/a_b/messages', true, 403],
    ['an unknown route', '/api/chat/nothing-here', true, 404],
  ])('carry Cache-Control: no-store and nosniff (%s)', async (_name, path, withToken, status) => {
    const response = await get(
      system.gateway,
      path,
      withToken ? { authorization: `Bearer ${await signToken({ userId: 'hs-user' })}` } : {},
    );
    expect(response.status).toBe(status);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('API docs', () => {
  it('are served by default and not with API_DOCS_ENABLED=false', async () => {
    expect((await get(system.gateway, '/openapi.json')).status).toBe(200);
    expect((await get(system.gateway, '/docs')).status).toBeLessThan(400);
    const gateway = await listedGateway();
    expect((await get(gateway, '/openapi.json')).status).toBe(404);
    expect((await get(gateway, '/docs')).status).toBe(404);
    expect((await get(gateway, '/docs/static/index.html')).status).toBe(404);
  });
});
