import type { PresenceHeartbeat, PresenceHeartbeatResponse } from '@chat/contracts';
import type { PresenceStore } from '../store/presence-store.ts';

/** A gateway is alive; `known: false` tells it to register its live connections again. */
export function heartbeatHandler({ store }: { store: Pick<PresenceStore, 'heartbeat'> }) {
  return async ({ gatewayId }: PresenceHeartbeat): Promise<PresenceHeartbeatResponse> => ({
    known: await store.heartbeat(gatewayId, Date.now()),
  });
}
