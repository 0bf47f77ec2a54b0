import { describe, expect, it } from 'vitest';
import type { Connection, UserId, UserPresence } from '@chat/contracts';
import type { PresenceStore } from '../store/presence-store.ts';
import { heartbeatHandler } from './heartbeat.ts';
import { reportHandler } from './report.ts';
import { statusHandler } from './status.ts';

/** A store in memory with the methods the handlers use, typed against the real one. */
class FakeStore implements Pick<PresenceStore, 'addConnections' | 'removeConnections' | 'heartbeat' | 'status'> {
  readonly calls: string[] = [];
  readonly #online = new Map<UserId, Set<string>>();
  readonly #gateways = new Set<string>();

  async addConnections(gatewayId: string, connections: readonly Connection[], now: number): Promise<UserPresence[]> {
    this.calls.push(`add ${gatewayId} ${connections.length}`);
    return connections.flatMap(({ userId, connectionId }) => {
      const held = this.#online.get(userId) ?? new Set();
      const flipped = held.size === 0;
      this.#online.set(userId, held.add(connectionId));
      return flipped ? [{ userId, isOnline: true, lastSeen: new Date(now).toISOString(), version: 1 }] : [];
    });
  }

  async removeConnections(gatewayId: string, connections: readonly Connection[], now: number): Promise<UserPresence[]> {
    this.calls.push(`remove ${gatewayId} ${connections.length}`);
    return connections.flatMap(({ userId, connectionId }) => {
      const held = this.#online.get(userId);
      if (!held?.delete(connectionId) || held.size > 0) return [];
      return [{ userId, isOnline: false, lastSeen: new Date(now).toISOString(), version: 2 }];
    });
  }

  async heartbeat(gatewayId: string): Promise<boolean> {
    const known = this.#gateways.has(gatewayId);
    this.#gateways.add(gatewayId);
    return known;
  }

  async status(userIds: readonly UserId[]): Promise<UserPresence[]> {
    return userIds.map((userId) => ({ userId, isOnline: (this.#online.get(userId)?.size ?? 0) > 0, lastSeen: null, version: 0 }));
  }
}

const ann = 'ann' as UserId;

describe('report', () => {
  it('applies connects before disconnects, so a device swapped in one batch does not flicker offline', async () => {
    const store = new FakeStore();
    const published: UserPresence[][] = [];
    const report = reportHandler({ store, publish: (flips) => published.push(flips) });
    await report({ gatewayId: 'g1', connected: [{ userId: ann, connectionId: 'phone' }], disconnected: [] });
    await report({
      gatewayId: 'g1',
      connected: [{ userId: ann, connectionId: 'laptop' }],
      disconnected: [{ userId: ann, connectionId: 'phone' }],
    });
    expect(store.calls).toEqual(['add g1 1', 'remove g1 0', 'add g1 1', 'remove g1 1']);
    expect(published.flat().map((flip) => flip.isOnline)).toEqual([true]);
  });

  it('publishes the flip when the last connection goes', async () => {
    const store = new FakeStore();
    const published: UserPresence[] = [];
    const report = reportHandler({ store, publish: (flips) => published.push(...flips) });
    await report({ gatewayId: 'g1', connected: [{ userId: ann, connectionId: 'phone' }], disconnected: [] });
    await report({ gatewayId: 'g1', connected: [], disconnected: [{ userId: ann, connectionId: 'phone' }] });
    expect(published.map((flip) => [flip.userId, flip.isOnline])).toEqual([
      [ann, true],
      [ann, false],
    ]);
  });
});

describe('heartbeat', () => {
  it('tells a gateway the store did not know to register its connections again', async () => {
    const heartbeat = heartbeatHandler({ store: new FakeStore() });
    expect(await heartbeat({ gatewayId: 'g1' })).toEqual({ known: false });
    expect(await heartbeat({ gatewayId: 'g1' })).toEqual({ known: true });
  });
});

describe('status', () => {
  it('answers in the order asked', async () => {
    const store = new FakeStore();
    await store.addConnections('g1', [{ userId: 'bob' as UserId, connectionId: 'c' }], 0);
    const statuses = await statusHandler({ store })({ userIds: [ann, 'bob' as UserId] });
    expect(statuses.statuses.map((s) => [s.userId, s.isOnline])).toEqual([
      [ann, false],
      ['bob', true],
    ]);
  });
});
