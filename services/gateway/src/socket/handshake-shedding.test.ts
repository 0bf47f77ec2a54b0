import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { HandshakeShedding } from './handshake-shedding.ts';

const request = {} as IncomingMessage;
const ask = (allow: ReturnType<HandshakeShedding['allowRequest']>) =>
  new Promise<{ error: string | null | undefined; success: boolean }>((resolve) =>
    allow(request, (error, success) => resolve({ error, success })),
  );
/** Keeps the event loop busy, as a storm of handshakes does. */
const block = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

describe('HandshakeShedding', () => {
  let shedding: HandshakeShedding | undefined;
  afterEach(() => shedding?.stop());

  it('refuses new sessions while the event loop is behind, and admits them again once it has caught up', async () => {
    let refused = 0;
    shedding = new HandshakeShedding({ maxDelayMs: 100, sampleMs: 20, holdMs: 150, onRefused: () => refused++ });
    shedding.start();
    await sleep(60);
    expect(await ask(shedding.allowRequest())).toEqual({ error: null, success: true });

    block(300);
    await sleep(30);
    expect(shedding.behind).toBe(true);
    const answer = await ask(shedding.allowRequest());
    expect(answer.success).toBe(false);
    expect(answer.error).toMatch(/busy/);
    expect(refused).toBe(1);

    await sleep(250);
    expect(shedding.behind).toBe(false);
    expect((await ask(shedding.allowRequest())).success).toBe(true);
  });

  it('passes admitted requests on to the next check, which may still refuse them', async () => {
    shedding = new HandshakeShedding({ maxDelayMs: 1000 });
    shedding.start();
    const origin = (_request: IncomingMessage, callback: (error: string | null | undefined, success: boolean) => void) =>
      callback('origin not allowed', false);
    expect(await ask(shedding.allowRequest(origin))).toEqual({ error: 'origin not allowed', success: false });
  });
});
