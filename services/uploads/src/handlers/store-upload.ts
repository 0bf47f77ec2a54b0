import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { fileTypeFromBuffer } from 'file-type';
import { ChatError, fileUrlOf, UploadFileNameSchema, type UploadedFile, type UploadRecord, type UserId } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import type { FileStorage } from '../storage/file-storage.ts';
import type { UploadStore } from '../store/upload-store.ts';

/** A file part as the multipart parser hands it over: the client's name and a stream of its bytes. */
export interface FilePart {
  filename: string;
  /** Emits `limit` when the part reached the size limit (busboy then cuts it off); `truncated` after that. */
  file: Readable & { truncated?: boolean };
}

export interface StoreUploadDeps {
  storage: FileStorage;
  store: UploadStore;
  /** Tells the system (NATS) that the file is stored; a failure undoes the upload. */
  announce: (record: UploadRecord) => Promise<void>;
  maxFileSize: number;
  allowedTypes: readonly string[];
  logger: Logger;
}

/** Enough leading bytes for file-type to recognise every format it knows (its own sample size). */
const SNIFF_BYTES = 4100;

/**
 * Stores one uploaded file, streaming: name checked → leading bytes sniffed for the real type (refused before
 * anything is written) → the bytes streamed to storage under a generated key while they are counted and hashed,
 * cut off at the size limit → metadata recorded → announced. A failure at any step removes what earlier steps
 * stored, so a refused upload leaves nothing behind.
 */
export function storeUploadHandler({ storage, store, announce, maxFileSize, allowedTypes, logger }: StoreUploadDeps) {
  return async (ownerId: UserId, part: FilePart): Promise<UploadedFile> => {
    const name = UploadFileNameSchema.safeParse(part.filename);
    if (!name.success) {
      part.file.destroy();
      throw new ChatError('INVALID_FILE_NAME', `Invalid file name: ${name.error.issues.map((i) => i.message).join('; ')}`);
    }
    part.file.once('limit', () => {
      part.file.destroy(new ChatError('FILE_TOO_LARGE', `The file is larger than ${maxFileSize} bytes`, { maxFileSize }));
    });

    const bytes = part.file[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const head = await readHead(bytes, SNIFF_BYTES);
    if (head.bytes.length === 0) throw new ChatError('VALIDATION_ERROR', 'The file is empty');
    const detected = await fileTypeFromBuffer(head.bytes);
    if (!detected || !allowedTypes.includes(detected.mime)) {
      part.file.destroy();
      throw new ChatError('UNSUPPORTED_FILE_TYPE', `Accepted types: ${allowedTypes.join(', ')}`, {
        detected: detected?.mime ?? null,
        allowed: allowedTypes,
      });
    }

    const hash = createHash('sha256');
    let size = 0;
    async function* counted(): AsyncGenerator<Buffer> {
      let chunk = head.bytes;
      for (;;) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
        if (head.done) return;
        const next = await bytes.next();
        if (next.done) return;
        chunk = next.value;
      }
    }

    const fileId = randomUUID();
    // Two levels of fan-out keep directories (and S3 listings) small; the name carries nothing of the client's.
    const storageKey = `${fileId.slice(0, 2)}/${fileId}`;
    await storage.put(storageKey, Readable.from(counted(), { objectMode: false }), detected.mime);
    const record: UploadRecord = {
      fileId,
      ownerId,
      fileName: name.data,
      mimeType: detected.mime,
      size,
      sha256: hash.digest('hex'),
      storage: storage.kind,
      storageKey,
      createdAt: new Date().toISOString(),
    };
    try {
      // busboy cuts a file off at the limit; `limit` has destroyed the stream by then, this is belt and braces.
      if (part.file.truncated) throw new ChatError('FILE_TOO_LARGE', `The file is larger than ${maxFileSize} bytes`, { maxFileSize });
      await store.insert(record);
      try {
        await announce(record);
      } catch (error) {
        await store.remove(fileId);
        throw error;
      }
    } catch (error) {
      await storage
        .remove(storageKey)
        .catch((removeError: unknown) => logger.error({ err: removeError, storageKey }, 'could not remove a refused upload'));
      throw error;
    }
    return { fileUrl: fileUrlOf(fileId), fileId, fileName: record.fileName, fileSize: size, mimeType: record.mimeType };
  };
}

/** Reads from `bytes` until at least `count` bytes (or the end) arrived. */
async function readHead(bytes: AsyncIterator<Buffer>, count: number): Promise<{ bytes: Buffer; done: boolean }> {
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < count) {
    const next = await bytes.next();
    if (next.done) return { bytes: Buffer.concat(chunks), done: true };
    chunks.push(next.value);
    length += next.value.length;
  }
  return { bytes: Buffer.concat(chunks), done: false };
}
