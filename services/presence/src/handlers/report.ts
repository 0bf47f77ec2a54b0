import type { PresenceReport, PresenceReportResponse, UserPresence } from '@chat/contracts';
import type { PresenceStore } from '../store/presence-store.ts';

/**
 * A gateway's batch of connects and disconnects. Connects go first: a user who swapped one device for
 * another in the same batch stays online instead of flickering offline and back.
 */
export function reportHandler({
  store,
  publish,
}: {
  store: Pick<PresenceStore, 'addConnections' | 'removeConnections'>;
  publish: (flips: UserPresence[]) => void;
}) {
  return async ({ gatewayId, connected, disconnected }: PresenceReport): Promise<PresenceReportResponse> => {
    const now = Date.now();
    publish(await store.addConnections(gatewayId, connected, now));
    publish(await store.removeConnections(gatewayId, disconnected, now));
    return {};
  };
}
