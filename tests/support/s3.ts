import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { freePort, waitFor } from '@chat/testing';
import { spawnProcess } from './processes.ts';

const VERSION = 'v1.8.0';

/** A real S3-compatible server (Versity S3 Gateway on a temporary directory) on a free loopback port. */
export interface S3Server {
  endpoint: string;
  bucket: string;
  client: S3Client;
  /** The uploads service's environment for this server and bucket. */
  env: Record<string, string>;
  /** The keys in the bucket, and the multipart uploads still open (an aborted one must leave none). */
  contents(): Promise<{ keys: string[]; openUploads: number }>;
  stop(): Promise<void>;
}

function binary(): string {
  const bin =
    process.env.VERSITYGW_BIN ??
    join(process.env.CHAT_CACHE_DIR ?? join(homedir(), '.cache/realtime-chat'), `versitygw-${VERSION}`, 'versitygw');
  if (!existsSync(bin))
    throw new Error(`no S3 server at ${bin}: run \`bash .ci/s3-server.sh\` once (it builds it from its Go module), or set VERSITYGW_BIN`);
  return bin;
}

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

export async function startS3Server(bucket = 'chat-uploads'): Promise<S3Server> {
  const dir = await mkdtemp(join(tmpdir(), 'chat-s3-'));
  const port = await freePort();
  const credentials = { accessKeyId: 'chat-test-access', secretAccessKey: 'chat-test-secret-key' };
  const server = spawnProcess(
    binary(),
    ['--access', credentials.accessKeyId, '--secret', credentials.secretAccessKey, '--port', `127.0.0.1:${port}`, '--quiet', 'posix', dir],
    { name: 'S3 server' },
  );
  const stop = async () => {
    await server.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(() => answers(port), { timeoutMs: 10_000 }).catch((error: unknown) => {
      throw new Error(`the S3 server did not start: ${(error as Error).message}; it said: ${server.output()}`);
    });
    const endpoint = `http://127.0.0.1:${port}`;
    const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    return {
      endpoint,
      bucket,
      client,
      env: {
        S3_BUCKET: bucket,
        AWS_ENDPOINT_URL_S3: endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        S3_FORCE_PATH_STYLE: 'true',
      },
      async contents() {
        const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
        const open = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
        return { keys: (listed.Contents ?? []).map((object) => object.Key ?? ''), openUploads: open.Uploads?.length ?? 0 };
      },
      async stop() {
        client.destroy();
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
