import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { MongoClient } from 'mongodb';
import { S3Client } from '@aws-sdk/client-s3';
import { busNames, type UploadRecord } from '@chat/contracts';
import { verifierFromEnv } from '@chat/auth';
import { httpServerTimeouts, natsAuth } from '@chat/config';
import { Bus, createService, ensureChatStreams } from '@chat/bus';
import type { Logger } from '@chat/logger';
import { openClient, packageVersion, type RunningService } from '@chat/runtime';
import { requestCounter, type ReadinessCheck, type Registry } from '@chat/telemetry';
import type { UploadsConfig } from './config.ts';
import { getUploadHandler } from './handlers/get-upload.ts';
import { serveFileHandler } from './handlers/serve-file.ts';
import { storeUploadHandler } from './handlers/store-upload.ts';
import { registerHttpApi } from './http-api.ts';
import { createUploadsMetrics } from './metrics.ts';
import { DiskStorage } from './storage/disk-storage.ts';
import type { FileStorage } from './storage/file-storage.ts';
import { S3Storage } from './storage/s3-storage.ts';
import { UploadStore } from './store/upload-store.ts';

/** This service's version: its package.json's. */
export const SERVICE_VERSION = packageVersion(import.meta.url);

export interface UploadsService extends RunningService {
  readonly port: number;
  readonly url: string;
  readonly store: UploadStore;
  readonly storage: FileStorage;
  readonly metrics: Registry;
  readonly readiness: Record<string, ReadinessCheck>;
  /** Stops taking requests, lets the ones in flight finish, then closes NATS and MongoDB. */
  stop(): Promise<void>;
}

/** The configured storage: S3 when S3_BUCKET is set, else the upload directory. */
export function createStorage(config: UploadsConfig): FileStorage {
  if (!config.S3_BUCKET) return new DiskStorage(config.UPLOAD_DIR);
  const endpoint = config.AWS_ENDPOINT_URL_S3 ?? config.AWS_ENDPOINT_URL;
  const s3 = (at: string | undefined) =>
    new S3Client({
      region: config.AWS_REGION,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
      ...(at ? { endpoint: at } : {}),
      ...(config.AWS_ACCESS_KEY_ID && config.AWS_SECRET_ACCESS_KEY
        ? {
            credentials: {
              accessKeyId: config.AWS_ACCESS_KEY_ID,
              secretAccessKey: config.AWS_SECRET_ACCESS_KEY,
              ...(config.AWS_SESSION_TOKEN ? { sessionToken: config.AWS_SESSION_TOKEN } : {}),
            },
          }
        : {}),
    });
  const client = s3(endpoint);
  return new S3Storage({
    client,
    presigner: config.S3_PUBLIC_ENDPOINT ? s3(config.S3_PUBLIC_ENDPOINT) : client,
    bucket: config.S3_BUCKET,
    presignTtlSeconds: config.S3_PRESIGN_TTL_SECONDS,
  });
}

/** Starts the uploads service; rejects (having closed what it opened) when a dependency is unusable. */
export async function startUploadsService(config: UploadsConfig, logger: Logger): Promise<UploadsService> {
  const verifier = verifierFromEnv(config);
  const storage = createStorage(config);
  await storage.check();

  // Everything opened is closed again if the start fails (and, moved to `stop`, when it stops).
  await using opened = new AsyncDisposableStack();
  const mongo = await openClient(
    'MongoDB',
    config.MONGO_URL,
    new MongoClient(config.MONGO_URL, { serverSelectionTimeoutMS: 5000, appName: 'uploads' }),
    async (client) => {
      await client.connect();
      await client.db().command({ ping: 1 });
    },
  );
  opened.defer(() => mongo.close());
  const app = Fastify({
    logger: false,
    ...httpServerTimeouts({
      headersMs: config.HTTP_HEADERS_TIMEOUT_MS,
      requestMs: config.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    }),
  });
  opened.defer(() => app.close().catch(() => undefined));
  const store = new UploadStore(mongo.db());
  await store.ensureIndexes();
  const bus = await Bus.connect({ servers: config.NATS_URL, name: 'uploads', logger, auth: natsAuth(config) });
  opened.defer(() => bus.close());
  const names = busNames(config.CHAT_NAMESPACE);
  await ensureChatStreams(bus, names, { replicas: config.NATS_STREAM_REPLICAS });
  const metrics = createUploadsMetrics();

  const announce = async (record: UploadRecord) => {
    await bus.publishDurable(names.uploads.uploadStored(record.fileId), record, { msgId: `upload:${record.fileId}` });
  };
  await registerHttpApi(app, {
    verifier,
    maxFileSize: config.MAX_FILE_SIZE,
    storeUpload: storeUploadHandler({
      storage,
      store,
      announce,
      maxFileSize: config.MAX_FILE_SIZE,
      allowedTypes: config.ALLOWED_FILE_TYPES,
      logger,
    }),
    serveFile: serveFileHandler({ store, storage, bus, names }),
    onUpload: (outcome, bytes) => {
      metrics.uploads.inc({ outcome });
      metrics.uploadedBytes.inc(bytes);
    },
    logger,
  });

  const service = await createService(bus, {
    name: names.uploads.service.name,
    version: SERVICE_VERSION,
    logger,
    countAnswer: requestCounter(metrics.registry),
  });
  service.serve(names.uploads.service.getUpload, getUploadHandler({ store }));

  await app.listen({ port: config.UPLOADS_PORT, host: config.HOST });
  const { port } = app.server.address() as AddressInfo;
  logger.info({ port, storage: storage.kind, namespace: config.CHAT_NAMESPACE }, 'uploads service listening');

  const resources = opened.move();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    store,
    storage,
    metrics: metrics.registry,
    readiness: {
      nats: async () => bus.connected,
      mongodb: async () => (await mongo.db().command({ ping: 1 })).ok === 1,
    },
    async stop() {
      await app.close();
      await service.stop().catch(() => undefined);
      await bus.drain();
      await resources.disposeAsync();
      logger.info('uploads service stopped');
    },
  };
}
