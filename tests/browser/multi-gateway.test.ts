import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { conversationIdOf, type UserId } from '@chat/contracts';
import type { Gateway } from '@chat/gateway';
import { connectClient, emitWithAck, freePort, nextEvent, signToken } from '@chat/testing';
import { startNginx, type Nginx } from '../support/nginx.ts';
import { launchChromium } from '../support/browser.ts';
import { useSystem } from '../support/system.ts';

/**
 * The spec's web client (`io(url, { auth })`: long-polling first, then the websocket upgrade) in headless Chromium,
 * through nginx configured as the shipped Ingress configures ingress-nginx, in front of two gateways: from a page of
 * the same origin and from a page of another site. And what breaks without affinity: the same client through a
 * plain round-robin balancer, where only websocket-only clients work.
 */
const system = useSystem();
let browser: Browser;
let gateways: Gateway[];
let ingress: Nginx;
let roundRobin: Nginx;
let otherSite: Server;
let otherSiteUrl: string;

/** What the page does: the spec's snippet, then it reports how far it got. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>chat</title>
<script>
  window.chat = (chatUrl, token, options) => new Promise((resolve) => {
    const script = document.createElement('script');
    script.src = chatUrl + '/socket.io/socket.io.js';
    script.onerror = () => resolve({ error: 'client script did not load' });
    script.onload = () => {
      const socket = io(chatUrl, { auth: { token }, ...options });
      const transports = [];
      const errors = [];
      socket.io.on('open', () => transports.push(socket.io.engine.transport.name));
      socket.io.engine?.on?.('upgrade', (t) => transports.push(t.name));
      socket.on('connect_error', (e) => errors.push(String(e.message)));
      window.received = [];
      socket.on('new_message', (m) => window.received.push(m.content.text));
      window.socket = socket;
      socket.on('authenticated', () => {
        socket.io.engine.on('upgrade', (t) => transports.push(t.name));
        resolve({ authenticated: true, transports, errors });
      });
      setTimeout(() => resolve({ authenticated: false, transports, errors }), 8000);
    };
    document.head.appendChild(script);
  });
</script>`;

beforeAll(async () => {
  gateways = [system.gateway, await system.addGateway()];
  const upstreams = gateways.map((g) => g.url);
  ingress = await startNginx({ upstreams, balance: 'ingress', static: { 'index.html': PAGE } });
  roundRobin = await startNginx({ upstreams, balance: 'round-robin', static: { 'index.html': PAGE } });
  // Another site: localhost is not the same site as 127.0.0.1.
  const port = await freePort();
  otherSite = createServer((_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE)).listen(port, '127.0.0.1');
  otherSiteUrl = `http://localhost:${port}/`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await ingress?.stop();
  await roundRobin?.stop();
  await new Promise((resolve) => otherSite?.close(resolve));
});

async function openChat(pageUrl: string, chatUrl: string, userId: string, options: Record<string, unknown> = {}) {
  const page: Page = await browser.newPage();
  await page.goto(pageUrl);
  const result = (await page.evaluate(
    ([url, token, opts]) => (globalThis as never as { chat: (...args: unknown[]) => unknown }).chat(url, token, opts),
    [chatUrl, await signToken({ userId }), options] as const,
  )) as { authenticated: boolean; transports: string[]; errors: string[] };
  return { page, result };
}

/** A message from a user on the other gateway reaches the browser. */
async function roundTrip(page: Page, browserUser: string, peer: string): Promise<void> {
  const sender = system.track(await connectClient(gateways[1]!.url, { token: await signToken({ userId: peer }) }));
  const ack = await emitWithAck(sender, 'send_message', {
    conversationId: conversationIdOf(peer as UserId, browserUser as UserId),
    receiverId: browserUser,
    messageType: 'text',
    content: { text: `hello ${browserUser}` },
  });
  expect(ack.ok).toBe(true);
  await page.waitForFunction((text) => (globalThis as never as { received: string[] }).received.includes(text), `hello ${browserUser}`, {
    timeout: 10_000,
  });
  // And the browser sends too.
  const echo = nextEvent(sender, 'new_message');
  await page.evaluate(
    ([conversationId, receiverId]) =>
      (globalThis as never as { socket: { emit: (...args: unknown[]) => unknown } }).socket.emit('send_message', {
        conversationId,
        receiverId,
        messageType: 'text',
        content: { text: 'from the browser' },
      }),
    [conversationIdOf(peer as UserId, browserUser as UserId), peer] as const,
  );
  expect((await echo).content.text).toBe('from the browser');
}

describe('the spec\u2019s web client behind the shipped Ingress, two gateways', () => {
  it('works from a page of the same origin, starting on long-polling', { timeout: 60_000 }, async () => {
    const { page, result } = await openChat(`${ingress.url}/app/`, ingress.url, 'web-same-origin');
    expect(result).toMatchObject({ authenticated: true, errors: [] });
    expect(result.transports[0]).toBe('polling');
    await roundTrip(page, 'web-same-origin', 'web-same-origin-peer');
    await page.close();
  });

  it('works from a page of another site (cross-origin, no cookies sent)', { timeout: 60_000 }, async () => {
    const { page, result } = await openChat(otherSiteUrl, ingress.url, 'web-other-site');
    expect(result).toMatchObject({ authenticated: true, errors: [] });
    expect(result.transports[0]).toBe('polling');
    await roundTrip(page, 'web-other-site', 'web-other-site-peer');
    await page.close();
  });
});

describe('a plain round-robin balancer', () => {
  it('breaks the long-polling start (what the Ingress\u2019s affinity is for)', { timeout: 60_000 }, async () => {
    const { page, result } = await openChat(otherSiteUrl, roundRobin.url, 'web-round-robin', { reconnection: false });
    expect(result.authenticated).toBe(false);
    await page.close();
  });

  it('serves websocket-only clients (Flutter, the README\u2019s example)', { timeout: 60_000 }, async () => {
    const { page, result } = await openChat(otherSiteUrl, roundRobin.url, 'web-websocket-only', { transports: ['websocket'] });
    expect(result).toMatchObject({ authenticated: true, errors: [], transports: ['websocket'] });
    await roundTrip(page, 'web-websocket-only', 'web-websocket-only-peer');
    await page.close();
  });
});
