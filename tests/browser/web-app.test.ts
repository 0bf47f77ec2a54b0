import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '@chat/gateway';
import { emitWithAck, freePort, signToken } from '@chat/testing';
import { launchChromium } from '../support/browser.ts';
import { startTestGateway, useSystem } from '../support/system.ts';
import { pngImage } from '../support/uploads.ts';

/**
 * The web app (apps/web), built with Vite and served as a static site, in headless Chromium: two browser contexts
 * as two users, against gateways, messages, presence and uploads started in-process. Everything is asserted on
 * the DOM the users see. Screenshots go to artifacts/web-app/ (git-ignored).
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const APP = join(ROOT, 'apps/web');
const ARTIFACTS = join(ROOT, 'artifacts/web-app');
// Generous: a loaded CI machine (every test file at once) is slow; a wait ends as soon as its condition holds.
const WAIT = { timeout: 30_000 };

const system = useSystem({ presence: true, uploads: true });
let browser: Browser;
let site: PreviewServer;
let siteUrl: string;
let outDir: string;
const gateways: Gateway[] = [];
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'chat-web-'));
  await build({
    root: APP,
    configFile: join(APP, 'vite.config.ts'),
    mode: 'production',
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, sourcemap: false },
  });
  const port = await freePort();
  site = await preview({
    root: APP,
    configFile: false,
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port, strictPort: true, open: false },
  });
  siteUrl = `http://127.0.0.1:${port}/`;
  await rm(ARTIFACTS, { recursive: true, force: true });
  await mkdir(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
}, 120_000);

afterEach(async ({ task }) => {
  // A failed test leaves what each page showed, and its DOM, beside the screenshots.
  if (task.result?.state === 'fail' || (task.result?.errors?.length ?? 0) > 0) {
    for (const [i, page] of contexts.flatMap((context) => context.pages()).entries()) {
      const name = `FAILED-${task.name.slice(0, 40).replace(/[^A-Za-z0-9]+/g, '-')}-${i}`;
      await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) }).catch(() => undefined);
      await page
        .content()
        .then((html) => writeFile(join(ARTIFACTS, `${name}.html`), html))
        .catch(() => undefined);
    }
  }
  for (const context of contexts.splice(0)) await context.close();
  for (const gateway of gateways.splice(0)) await gateway.stop();
  const errors = pageErrors.splice(0);
  expect(errors, 'uncaught errors in the pages').toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await site?.close();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

/** What the page functions below use of the DOM (this file is type-checked without the DOM library). */
interface DomElement {
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomElement | null;
  textContent: string | null;
}
interface DomImage {
  complete: boolean;
  naturalWidth: number;
  naturalHeight: number;
}

/** A page function (self-contained): an image's decoded size once it has loaded. */
function decodedSize(element: unknown): string {
  const img = element as DomImage;
  return img.complete && img.naturalWidth > 0 ? `${img.naturalWidth}x${img.naturalHeight}` : 'loading';
}

interface User {
  id: string;
  name: string;
  context: BrowserContext;
  page: Page;
}

function watchErrors(page: Page): void {
  page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
}

/** A new browser context signed in with a token, to the given gateway, and connected. */
async function signIn(id: string, name: string, gateway: Gateway = system.gateway): Promise<User> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 720 } });
  contexts.push(context);
  const page = await context.newPage();
  watchErrors(page);
  await page.goto(siteUrl);
  await page.getByLabel('Server').fill(gateway.url);
  await page.getByTestId('token-input').fill(await signToken({ userId: id, claims: { name } }));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await online(page);
  await expect(page.getByTestId('me').textContent()).resolves.toBe(id);
  return { id, name, context, page };
}

/** The same user opening the app again (a reload, or coming back online): signed in from the stored session. */
async function reopen(user: User): Promise<void> {
  user.page = await user.context.newPage();
  watchErrors(user.page);
  await user.page.goto(siteUrl);
  await online(user.page);
}

const online = (page: Page) => page.locator('#app[data-connection="online"]').waitFor(WAIT);
const row = (page: Page, otherId: string) => page.locator(`[data-testid="conversation"][data-user-id="${otherId}"]`);
/** Own messages' statuses (pending, sent, delivered, read), in order. */
const myStatuses = (page: Page) =>
  page
    .locator('[data-testid="message"][data-mine="true"]')
    .evaluateAll((els) => els.map((el) => (el as unknown as DomElement).getAttribute('data-status')));

async function startChat(from: User, to: User): Promise<void> {
  await from.page.getByTestId('new-chat-input').fill(to.id);
  await from.page.getByRole('button', { name: 'Chat', exact: true }).click();
  await from.page.locator(`[data-testid="conversation"][data-user-id="${to.id}"][aria-current="true"]`).waitFor(WAIT);
  await from.page.getByTestId('composer-input').waitFor(WAIT);
}

async function send(user: User, text: string): Promise<void> {
  const input = user.page.getByTestId('composer-input');
  await input.fill(text);
  await input.press('Enter');
  await expect.poll(() => input.inputValue(), WAIT).toBe('');
}

async function openConversation(user: User, otherId: string): Promise<void> {
  await row(user.page, otherId).click();
  await user.page.locator(`[data-testid="conversation"][data-user-id="${otherId}"][aria-current="true"]`).waitFor(WAIT);
}

/** Every message in the DOM once, in order, stored (not pending), with distinct ids and `seq` one after another. */
async function expectTimeline(page: Page, expected: string[]): Promise<void> {
  const snapshot = () =>
    page.locator('[data-testid="message"]').evaluateAll((els) =>
      (els as unknown as DomElement[]).map((el) => ({
        text: el.querySelector('[data-testid="message-text"]')?.textContent ?? null,
        id: el.getAttribute('data-id'),
        seq: Number(el.getAttribute('data-seq')),
        status: el.getAttribute('data-status'),
      })),
    );
  await expect
    .poll(async () => (await snapshot()).map((m) => (m.id && m.status !== 'pending' ? m.text : `(pending) ${m.text}`)), WAIT)
    .toEqual(expected);
  const rows = await snapshot();
  expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
  expect(rows.map((r) => r.seq - rows[0]!.seq)).toEqual(rows.map((_, i) => i));
}

const screenshot = (user: User, name: string) => user.page.screenshot({ path: join(ARTIFACTS, `${name}-${user.id}.png`) });

describe('the web app, two users in two browser contexts', () => {
  it('chats both ways: unread badge, online dot, typing shown and cleared, ticks delivered then read', { timeout: 120_000 }, async () => {
    const alice = await signIn('web-alice', 'Alice');
    const bob = await signIn('web-bob', 'Bob');

    await startChat(alice, bob);
    await send(alice, 'Hi Bob!');
    // Bob's list shows the new conversation, unread, with Alice online; he has not opened it.
    await row(bob.page, alice.id).getByTestId('unread-badge').filter({ hasText: '1' }).waitFor(WAIT);
    await expect.poll(() => row(bob.page, alice.id).getByTestId('conversation-name').textContent(), WAIT).toBe('Alice');
    await row(bob.page, alice.id).locator('[data-testid="online-dot"][data-online="true"]').waitFor(WAIT);
    // Delivered to his device, not read: the tick stays at delivered while he has not opened it.
    await expect.poll(() => myStatuses(alice.page), WAIT).toEqual(['delivered']);
    await row(alice.page, bob.id).locator('[data-testid="online-dot"][data-online="true"]').waitFor(WAIT);
    await screenshot(bob, 'chat-1-unread');
    expect(await myStatuses(alice.page)).toEqual(['delivered']);

    await openConversation(bob, alice.id);
    await expectTimeline(bob.page, ['Hi Bob!']);
    await expect(row(bob.page, alice.id).getByTestId('unread-badge').count()).resolves.toBe(0);
    await expect.poll(() => myStatuses(alice.page), WAIT).toEqual(['read']);

    // Bob types: Alice sees it, in the conversation and in her list; he clears the field: it goes away.
    await bob.page.getByTestId('composer-input').fill('Hel');
    await alice.page.getByTestId('typing-indicator').filter({ hasText: 'Bob is typing' }).waitFor(WAIT);
    await expect.poll(() => row(alice.page, bob.id).getByTestId('conversation-preview').textContent(), WAIT).toBe('typing…');
    await screenshot(alice, 'chat-2-typing');
    await bob.page.getByTestId('composer-input').fill('');
    await alice.page.getByTestId('typing-indicator').waitFor({ state: 'hidden', ...WAIT });

    await send(bob, 'Hello Alice');
    await send(alice, 'How are you?');
    await send(bob, 'Fine, thanks.\nAnd you?');
    const expected = ['Hi Bob!', 'Hello Alice', 'How are you?', 'Fine, thanks.\nAnd you?'];
    await expectTimeline(alice.page, expected);
    await expectTimeline(bob.page, expected);
    // Both have the conversation open: everything each sent is read by the other.
    await expect.poll(() => myStatuses(alice.page), WAIT).toEqual(['read', 'read']);
    await expect.poll(() => myStatuses(bob.page), WAIT).toEqual(['read', 'read']);
    await screenshot(alice, 'chat-3-conversation');
    await screenshot(bob, 'chat-3-conversation');
  });

  it('an image and a file sent by one appear on the other side', { timeout: 60_000 }, async () => {
    const carol = await signIn('web-carol', 'Carol');
    const dan = await signIn('web-dan', 'Dan');
    await startChat(carol, dan);
    await send(carol, 'Here are the photos');
    await openConversation(dan, carol.id);

    await carol.page
      .getByTestId('attach-input')
      .setInputFiles({ name: 'kitchen.png', mimeType: 'image/png', buffer: pngImage(64, 48, [200, 40, 40]) });
    const image = dan.page.getByTestId('messages').getByTestId('message-image');
    await image.waitFor(WAIT);
    // The picture itself, fetched with Dan's token: decoded at its size.
    await expect.poll(() => image.evaluate(decodedSize), WAIT).toBe('64x48');
    await expect(image.getAttribute('alt')).resolves.toBe('kitchen.png');
    await expect.poll(() => carol.page.getByTestId('message-image').evaluate(decodedSize), WAIT).toBe('64x48');

    const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
    await carol.page.getByTestId('attach-input').setInputFiles({ name: 'quote.pdf', mimeType: 'application/pdf', buffer: pdf });
    await expect.poll(() => dan.page.getByTestId('messages').getByTestId('message-file').textContent(), WAIT).toContain('quote.pdf');
    await expect.poll(() => myStatuses(carol.page), WAIT).toEqual(['read', 'read', 'read']);
    await expect.poll(() => row(dan.page, carol.id).getByTestId('conversation-preview').textContent(), WAIT).toBe('quote.pdf');
    // The sender's name (from her token) in the list and the header.
    await expect.poll(() => row(dan.page, carol.id).getByTestId('conversation-name').textContent(), WAIT).toBe('Carol');
    await expect.poll(() => dan.page.getByTestId('conversation-title').textContent(), WAIT).toBe('Carol');
    await screenshot(dan, 'upload');
  });

  it('the receiver\u2019s gateway restarts mid-conversation: every message exactly once, in order, on both sides', {
    timeout: 120_000,
  }, async () => {
    const own = await startTestGateway(system.ctx, { UPLOADS_URL: system.uploads!.url });
    gateways.push(own);
    const erin = await signIn('web-erin', 'Erin');
    const finn = await signIn('web-finn', 'Finn', own);
    await startChat(erin, finn);
    await send(erin, 'before 1');
    await openConversation(finn, erin.id);
    await send(finn, 'before 2');
    await expectTimeline(finn.page, ['before 1', 'before 2']);
    // Erin has the conversation open: Finn sees her read his message before his gateway goes.
    await expect.poll(() => myStatuses(finn.page), WAIT).toEqual(['read']);

    // Finn's gateway goes away: his app says so, Erin keeps writing, Finn writes too (kept in his outbox).
    const port = own.port;
    await gateways.splice(gateways.indexOf(own), 1)[0]!.stop();
    await finn.page.getByTestId('connection-banner').filter({ hasText: 'Reconnecting' }).waitFor(WAIT);
    for (const text of ['during 1', 'during 2', 'during 3']) await send(erin, text);
    await send(finn, 'finn while away');
    await expect.poll(() => myStatuses(finn.page), WAIT).toEqual(['read', 'pending']);
    await expectTimeline(erin.page, ['before 1', 'before 2', 'during 1', 'during 2', 'during 3']);
    // Not delivered: nobody has them.
    expect(await myStatuses(erin.page)).toEqual(['read', 'sent', 'sent', 'sent']);
    await screenshot(finn, 'restart-1-away');

    // The gateway is back on the same address: Finn's app reconnects by itself and catches up.
    gateways.push(await startTestGateway(system.ctx, { SOCKET_PORT: String(port), UPLOADS_URL: system.uploads!.url }));
    await online(finn.page);
    await finn.page.getByTestId('connection-banner').waitFor({ state: 'hidden', ...WAIT });
    const expected = ['before 1', 'before 2', 'during 1', 'during 2', 'during 3', 'finn while away'];
    await expectTimeline(finn.page, expected);
    await expectTimeline(erin.page, expected);
    await expect.poll(() => myStatuses(erin.page), WAIT).toEqual(['read', 'read', 'read', 'read']);
    await expect.poll(() => myStatuses(finn.page), WAIT).toEqual(['read', 'read']);

    // And the conversation goes on.
    await send(finn, 'after');
    await send(erin, 'after too');
    await expectTimeline(erin.page, [...expected, 'after', 'after too']);
    await expectTimeline(finn.page, [...expected, 'after', 'after too']);
    await screenshot(finn, 'restart-2-back');
    await screenshot(erin, 'restart-2-back');
  });

  it('an offline user catches up on reconnect: unread badge, every message once, ticks delivered then read', {
    timeout: 120_000,
  }, async () => {
    const gail = await signIn('web-gail', 'Gail');
    const hugo = await signIn('web-hugo', 'Hugo');
    await startChat(gail, hugo);
    await send(gail, 'first');
    await openConversation(hugo, gail.id);
    await expect.poll(() => myStatuses(gail.page), WAIT).toEqual(['read']);

    // Hugo closes the app: Gail sees him go offline, and writes on.
    await hugo.page.close();
    await row(gail.page, hugo.id).locator('[data-testid="online-dot"][data-online="false"]').waitFor(WAIT);
    for (const text of ['while you were away 1', 'while you were away 2', 'while you were away 3']) await send(gail, text);
    await expect.poll(() => myStatuses(gail.page), WAIT).toEqual(['read', 'sent', 'sent', 'sent']);

    // He comes back (signed in from his stored session), to his list: delivered, not read, three unread.
    await reopen(hugo);
    await row(hugo.page, gail.id).getByTestId('unread-badge').filter({ hasText: '3' }).waitFor(WAIT);
    await expect.poll(() => myStatuses(gail.page), WAIT).toEqual(['read', 'delivered', 'delivered', 'delivered']);
    await row(gail.page, hugo.id).locator('[data-testid="online-dot"][data-online="true"]').waitFor(WAIT);
    await screenshot(hugo, 'catch-up-1-list');
    expect(await myStatuses(gail.page)).toEqual(['read', 'delivered', 'delivered', 'delivered']);

    await openConversation(hugo, gail.id);
    await expectTimeline(hugo.page, ['first', 'while you were away 1', 'while you were away 2', 'while you were away 3']);
    await expect.poll(() => myStatuses(gail.page), WAIT).toEqual(['read', 'read', 'read', 'read']);
    await screenshot(hugo, 'catch-up-2-conversation');
  });

  it('pages through history: the newest page first, older ones on demand, each message once', { timeout: 120_000 }, async () => {
    // 45 messages written before either opens the app, received by another device of Jon's (so none is new to
    // the browser when it connects: what it shows, it pages in).
    const ida = await system.connectAs('web-ida');
    const jonsPhone = await system.connectAs('web-jon');
    const conversationId = 'web-ida_web-jon';
    const all = Array.from({ length: 45 }, (_, i) => `message ${i + 1}`);
    for (const text of all) {
      const ack = await emitWithAck(ida, 'send_message', { conversationId, receiverId: 'web-jon', messageType: 'text', content: { text } });
      expect(ack.ok).toBe(true);
    }
    const lastStatus = async () => {
      const ack = await emitWithAck(jonsPhone, 'sync_messages', { conversationId, afterSeq: 0, limit: 100 });
      return ack.ok ? ack.data.messages.at(-1)?.status : ack.error.code;
    };
    await expect.poll(lastStatus, WAIT).toBe('delivered');
    ida.disconnect();
    jonsPhone.disconnect();

    const jon = await signIn('web-jon', 'Jon');
    await row(jon.page, 'web-ida').getByTestId('unread-badge').filter({ hasText: '45' }).waitFor(WAIT);
    await openConversation(jon, 'web-ida');
    await expectTimeline(jon.page, all.slice(15));
    await screenshot(jon, 'history-1-newest');
    // The button's own click, without a pointer: a pointer's click first scrolls the button into view, and
    // scrolling to the top loads the older page by itself (replacing the button with "Loading…"), which on a busy
    // machine happened before the click landed and left nothing to click.
    await jon.page.getByTestId('load-older').dispatchEvent('click');
    await expectTimeline(jon.page, all);
    await jon.page.getByTestId('history-start').waitFor(WAIT);
    await screenshot(jon, 'history-2-all');
  });
});
