import { describe, expect, it } from 'vitest';
import { createLogger } from '@chat/logger';
import { StopDeadline } from './stop-deadline.ts';

const logger = createLogger({ service: 'test', level: 'silent', pretty: false });
const never = () => new Promise<void>(() => undefined);

describe('StopDeadline', () => {
  it('waits for a step that finishes, and reports one that fails as finished (the stop goes on)', async () => {
    const deadline = new StopDeadline(10_000, logger);
    expect(await deadline.bound('quick', Promise.resolve())).toBe(true);
    expect(await deadline.bound('failing', () => Promise.reject(new Error('no')))).toBe(true);
  });

  it('gives up on a step at its cap, and on every step once the budget is spent', async () => {
    const deadline = new StopDeadline(200, logger);
    expect(await deadline.bound('stuck', never, 10)).toBe(false);
    expect(await deadline.bound('stuck until the end', never)).toBe(false);
    expect(deadline.remaining()).toBe(0);
    expect(await deadline.bound('after the end', never, 10_000)).toBe(false);
  });

  it('keeps a reserve back for the steps after', () => {
    const deadline = new StopDeadline(5000, logger);
    expect(deadline.remaining(4000)).toBeLessThanOrEqual(1000);
    expect(deadline.remaining(6000)).toBe(0);
  });
});
