import type { PresenceStatusRequest, PresenceStatusResponse } from '@chat/contracts';
import type { PresenceStore } from '../store/presence-store.ts';

/** The status of many users, in the order asked (the caller has already decided who may know it). */
export function statusHandler({ store }: { store: Pick<PresenceStore, 'status'> }) {
  return async ({ userIds }: PresenceStatusRequest): Promise<PresenceStatusResponse> => ({
    statuses: await store.status(userIds),
  });
}
