import type { Readable } from 'node:stream';
import type { StorageKind } from '@chat/contracts';

/** How a stored file reaches a downloader: its bytes through this service, or a redirect to a short-lived URL. */
export type Download = { stream: Readable; size: number } | { redirect: string };

/** What a download answer must carry, so that an object store can be told to serve it the same way. */
export interface ServedAs {
  contentType: string;
  contentDisposition: string;
}

/** Where uploaded bytes live: the port in front of the disk and S3 adapters. */
export interface FileStorage {
  readonly kind: StorageKind;
  /** Fails when the storage is unusable (a missing bucket, a directory that cannot be written), at start. */
  check(): Promise<void>;
  /**
   * Streams `body` under `key`. If `body` fails (too large, the client went away) or storing fails, nothing is
   * left under `key` and the promise rejects with `body`'s error.
   */
  put(key: string, body: Readable, contentType: string): Promise<void>;
  /** Removes what is stored under `key`; removing what is not there is not an error. */
  remove(key: string): Promise<void>;
  download(key: string, servedAs: ServedAs): Promise<Download>;
}
