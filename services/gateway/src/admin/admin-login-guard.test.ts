import { describe, expect, it } from 'vitest';
import { AdminLoginGuard } from './admin-login-guard.ts';

const wrong = async () => false;
const right = async () => true;

describe('AdminLoginGuard', () => {
  it('refuses an address unchecked once it used up its wrong logins, until the window has passed', async () => {
    let now = 0;
    const guard = new AdminLoginGuard({ failuresPerWindow: 3, windowMs: 60_000, now: () => now });
    let checks = 0;
    const counted = async () => {
      checks++;
      return false;
    };
    for (let i = 0; i < 3; i++) expect(await guard.attempt('10.0.0.1', counted)).toBe(false);
    expect(await guard.attempt('10.0.0.1', counted)).toBe('throttled');
    expect(await guard.attempt('10.0.0.1', right)).toBe('throttled');
    expect(checks).toBe(3);
    // Other addresses are not affected.
    expect(await guard.attempt('10.0.0.2', right)).toBe(true);
    now = 60_000;
    expect(await guard.attempt('10.0.0.1', right)).toBe(true);
  });

  it('does not count right logins, and counts a check that throws as wrong', async () => {
    const guard = new AdminLoginGuard({ failuresPerWindow: 1 });
    expect(await guard.attempt('a', right)).toBe(true);
    expect(await guard.attempt('a', right)).toBe(true);
    expect(await guard.attempt('a', () => Promise.reject(new Error('not a string')))).toBe(false);
    expect(await guard.attempt('a', right)).toBe('throttled');
  });

  it('runs only so many checks at once and refuses the others', async () => {
    const guard = new AdminLoginGuard({ maxConcurrentChecks: 2, failuresPerWindow: 100 });
    const releases: Array<() => void> = [];
    const held = () => new Promise<boolean>((resolve) => releases.push(() => resolve(false)));
    const first = guard.attempt('a', held);
    const second = guard.attempt('b', held);
    expect(await guard.attempt('c', right)).toBe('busy');
    for (const release of releases) release();
    expect(await Promise.all([first, second])).toEqual([false, false]);
    expect(await guard.attempt('c', right)).toBe(true);
    expect(await guard.attempt('d', wrong)).toBe(false);
  });

  it('counts checks still running against the budget: parallel attempts get no more checks than it allows', async () => {
    const guard = new AdminLoginGuard({ failuresPerWindow: 5, maxConcurrentChecks: 2 });
    let checks = 0;
    const slowWrong = async () => {
      checks++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return false;
    };
    // Waves of attempts from one address, two checked at a time, as a client retrying in parallel would.
    for (let wave = 0; wave < 5; wave++) await Promise.all(Array.from({ length: 3 }, () => guard.attempt('a', slowWrong)));
    expect(checks).toBe(5);
    expect(await guard.attempt('a', right)).toBe('throttled');
  });

  it('remembers a bounded number of addresses', async () => {
    const guard = new AdminLoginGuard({ failuresPerWindow: 1, maxAddresses: 2 });
    await guard.attempt('a', wrong);
    await guard.attempt('b', wrong);
    await guard.attempt('c', wrong);
    expect(await guard.attempt('a', right)).toBe(true);
    expect(await guard.attempt('c', right)).toBe('throttled');
  });
});
