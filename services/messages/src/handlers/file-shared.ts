import type { Filter } from 'mongodb';
import type { FileSharedRequest, FileSharedResponse } from '@chat/contracts';
import type { MessageDoc } from '../store/documents.ts';
import type { MessageStore } from '../store/message-store.ts';

/**
 * Whether `userId` may download an upload of `ownerId`'s: the uploads service asks on every download by
 * someone other than the owner. Yes when the owner sent it in a message that `userId` sent or received. The
 * gateway only lets a sender reference their own uploads; matching the owner as sender keeps that true here too.
 */
export function fileSharedHandler({ store }: { store: MessageStore }) {
  // Asked per download: one index lookup (`content_file`, MessageStore.ensureIndexes), not a scan of the messages.
  return async ({ fileId, ownerId, userId }: FileSharedRequest): Promise<FileSharedResponse> => {
    const filter = {
      'content.fileId': fileId,
      senderId: ownerId,
      $or: [{ senderId: userId }, { receiverId: userId }],
    } as Filter<MessageDoc>;
    return { shared: (await store.messages.findOne(filter, { projection: { _id: 1 } })) !== null };
  };
}
