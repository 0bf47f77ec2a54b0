import type { GetUploadRequest, GetUploadResponse } from '@chat/contracts';
import type { UploadStore } from '../store/upload-store.ts';

/** An upload's metadata, e.g. for the gateway to check that a message's file exists and belongs to its sender. */
export function getUploadHandler({ store }: { store: UploadStore }) {
  return async ({ fileId }: GetUploadRequest): Promise<GetUploadResponse> => ({ upload: await store.find(fileId) });
}
