import { ChatError, type BusNames, type FileId, type UserId } from '@chat/contracts';
import type { Bus } from '@chat/bus';
import { contentDisposition } from '../content-disposition.ts';
import type { Download, FileStorage } from '../storage/file-storage.ts';
import type { UploadStore } from '../store/upload-store.ts';

export interface ServeFileDeps {
  store: UploadStore;
  storage: FileStorage;
  bus: Bus;
  names: BusNames;
}

export interface ServedFile {
  download: Download;
  headers: Record<string, string>;
}

/**
 * A download, for its owner or a participant of a conversation in which the owner sent it (the messages
 * service knows which messages reference which file); anyone else is refused.
 */
export function serveFileHandler({ store, storage, bus, names }: ServeFileDeps) {
  return async (userId: UserId, fileId: FileId): Promise<ServedFile> => {
    const upload = await store.find(fileId);
    if (!upload) throw new ChatError('UPLOAD_NOT_FOUND', 'No such file');
    if (upload.ownerId !== userId) {
      const { shared } = await bus.request(names.messagesService.fileShared, { fileId, ownerId: upload.ownerId, userId });
      if (!shared)
        throw new ChatError('FORBIDDEN', 'Only its owner and the participants of a conversation it was sent in may download this file');
    }
    const servedAs = { contentType: upload.mimeType, contentDisposition: contentDisposition(upload.fileName, upload.mimeType) };
    return {
      download: await storage.download(upload.storageKey, servedAs),
      headers: {
        'content-type': servedAs.contentType,
        'content-disposition': servedAs.contentDisposition,
        // The type was detected from the bytes; never let a browser guess another one.
        'x-content-type-options': 'nosniff',
        // Should a browser render it anyway, it runs nothing and loads nothing.
        'content-security-policy': "default-src 'none'; sandbox",
        // Authorised per user: no shared cache may keep it, and a presigned URL must not outlive its TTL.
        'cache-control': 'private, no-store',
      },
    };
  };
}
