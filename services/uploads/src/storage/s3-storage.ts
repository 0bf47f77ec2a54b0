import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Readable } from 'node:stream';
import type { Download, FileStorage, ServedAs } from './file-storage.ts';

export interface S3StorageOptions {
  client: S3Client;
  /** Signs download URLs; a client of the endpoint that downloaders can reach (by default `client`). */
  presigner?: S3Client;
  bucket: string;
  presignTtlSeconds: number;
}

/** The smallest part S3 accepts; with two parts in flight an upload holds about 10 MB, whatever the file's size. */
const PART_SIZE = 5 * 1024 * 1024;
const PARTS_IN_FLIGHT = 2;

/**
 * Objects in one bucket, written with a streaming multipart upload (aborted on failure, so no parts are left
 * behind) and downloaded through presigned URLs that tell S3 which Content-Type and Content-Disposition to answer.
 */
export class S3Storage implements FileStorage {
  readonly kind = 's3';
  readonly #client: S3Client;
  readonly #presigner: S3Client;
  readonly #bucket: string;
  readonly #ttl: number;

  constructor({ client, presigner = client, bucket, presignTtlSeconds }: S3StorageOptions) {
    this.#client = client;
    this.#presigner = presigner;
    this.#bucket = bucket;
    this.#ttl = presignTtlSeconds;
  }

  async check(): Promise<void> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket }));
    } catch (error) {
      throw new Error(`S3 bucket ${this.#bucket} is not usable: ${(error as Error).name}: ${(error as Error).message}`, { cause: error });
    }
  }

  async put(key: string, body: Readable, contentType: string): Promise<void> {
    let bodyError: unknown;
    body.once('error', (error) => {
      bodyError = error;
    });
    const upload = new Upload({
      client: this.#client,
      params: { Bucket: this.#bucket, Key: key, Body: body, ContentType: contentType },
      partSize: PART_SIZE,
      queueSize: PARTS_IN_FLIGHT,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      // The SDK may wrap the body's error; the caller needs the original (e.g. FILE_TOO_LARGE).
      throw bodyError ?? error;
    }
    if (bodyError) {
      // The body failed after its last byte was taken (it cannot, today): do not keep what was stored.
      await this.remove(key);
      throw bodyError;
    }
  }

  async remove(key: string): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
  }

  async download(key: string, { contentType, contentDisposition }: ServedAs): Promise<Download> {
    const command = new GetObjectCommand({
      Bucket: this.#bucket,
      Key: key,
      ResponseContentType: contentType,
      ResponseContentDisposition: contentDisposition,
    });
    return { redirect: await getSignedUrl(this.#presigner, command, { expiresIn: this.#ttl }) };
  }
}
