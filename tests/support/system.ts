import { createLogger, type Logger } from '@chat/logger';
import { loadGatewayConfig, startGateway, type Gateway } from '@chat/gateway';
import { loadMessagesConfig, startMessagesService, type MessagesService } from '@chat/messages';
import { loadPresenceConfig, startPresenceService, type PresenceService } from '@chat/presence';
import { loadUploadsConfig, startUploadsService, type UploadsService } from '@chat/uploads';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { connectClient, createTestContext, signToken, TEST_JWT_SECRET, type ChatClient, type TestContext } from '@chat/testing';
import { NO_LIMITS } from './limits.ts';

export const testLogger = (service: string): Logger =>
  createLogger({ service, level: process.env.TEST_LOG_LEVEL ?? 'silent', pretty: false });

/** The environment a service of this test context runs with. */
export function serviceEnv(ctx: TestContext, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NATS_URL: ctx.natsUrl,
    MONGO_URL: ctx.mongoUrl,
    REDIS_URL: ctx.redisUrl,
    CHAT_NAMESPACE: ctx.namespace,
    JWT_SECRET: TEST_JWT_SECRET,
    SOCKET_PORT: '0',
    OPS_PORT: '0',
    HOST: '127.0.0.1',
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Fewer partitions: fewer consumers to provision per test file.
    MESSAGE_PARTITIONS: '4',
    // Tests send as fast as they can; the limits themselves have their own test.
    ...NO_LIMITS,
    PRESENCE_KEY_PREFIX: `${ctx.redisPrefix}presence:`,
    ...overrides,
  };
}

export function startTestGateway(ctx: TestContext, overrides: Record<string, string> = {}): Promise<Gateway> {
  return startGateway(loadGatewayConfig(serviceEnv(ctx, overrides)), testLogger('gateway'));
}

export function startTestMessages(ctx: TestContext, overrides: Record<string, string> = {}): Promise<MessagesService> {
  return startMessagesService(loadMessagesConfig(serviceEnv(ctx, overrides)), testLogger('messages'));
}

export function startTestPresence(ctx: TestContext, overrides: Record<string, string> = {}): Promise<PresenceService> {
  return startPresenceService(loadPresenceConfig(serviceEnv(ctx, overrides)), testLogger('presence'));
}

/** An uploads service on a free port; files go to `UPLOAD_DIR` (or S3, when the overrides say so). */
export function startTestUploads(ctx: TestContext, overrides: Record<string, string> = {}): Promise<UploadsService> {
  return startUploadsService(loadUploadsConfig(serviceEnv(ctx, { UPLOADS_PORT: '0', ...overrides })), testLogger('uploads'));
}

export interface SystemOptions {
  /** Start a messages service in-process (default true), with these overrides when an object. */
  messages?: boolean | Record<string, string>;
  /** Start a presence service in-process (default false). */
  presence?: boolean;
  /**
   * Start an uploads service in-process (default false), with these overrides (e.g. an S3 server's `env`);
   * without S3_BUCKET it stores in a temporary UPLOAD_DIR (`TestSystem.uploadDir`). Gateways get its URL.
   */
  uploads?: boolean | Record<string, string>;
  gateway?: Record<string, string>;
}

/**
 * A chat system for one test file: its own namespace, database and key prefix; gateways and a messages service
 * in-process; clients that are disconnected after each test. Everything is removed after the file.
 */
export class TestSystem {
  readonly ctx = createTestContext();
  readonly gateways: Gateway[] = [];
  messages: MessagesService | undefined;
  presence: PresenceService | undefined;
  uploads: UploadsService | undefined;
  uploadDir: string | undefined;
  readonly #clients: ChatClient[] = [];

  /** The first gateway. */
  get gateway(): Gateway {
    const gateway = this.gateways[0];
    if (!gateway) throw new Error('the system is not started');
    return gateway;
  }

  async start({ messages = true, presence = false, uploads = false, gateway = {} }: SystemOptions = {}): Promise<void> {
    if (messages) this.messages = await startTestMessages(this.ctx, messages === true ? {} : messages);
    if (presence) this.presence = await startTestPresence(this.ctx);
    if (uploads) {
      this.uploadDir = await mkdtemp(join(tmpdir(), 'chat-uploads-'));
      this.uploads = await startTestUploads(this.ctx, { UPLOAD_DIR: this.uploadDir, ...(uploads === true ? {} : uploads) });
    }
    await this.addGateway(gateway);
  }

  async addGateway(overrides: Record<string, string> = {}): Promise<Gateway> {
    const gateway = await startTestGateway(this.ctx, { ...(this.uploads ? { UPLOADS_URL: this.uploads.url } : {}), ...overrides });
    this.gateways.push(gateway);
    return gateway;
  }

  /** A client authenticated as `userId` (its `authenticated` already received). */
  async connectAs(userId: string, via: Gateway = this.gateway): Promise<ChatClient> {
    const client = await connectClient(via.url, { token: await signToken({ userId }) });
    this.#clients.push(client);
    return client;
  }

  /** Registers a client made elsewhere, so it is disconnected after the test. */
  track(client: ChatClient): ChatClient {
    this.#clients.push(client);
    return client;
  }

  disconnectClients(): void {
    for (const client of this.#clients.splice(0)) client.disconnect();
  }

  async stop(): Promise<void> {
    this.disconnectClients();
    for (const gateway of this.gateways.splice(0).reverse()) await gateway.stop();
    await this.messages?.stop();
    await this.presence?.stop();
    await this.uploads?.stop();
    if (this.uploadDir) await rm(this.uploadDir, { recursive: true, force: true });
    await this.ctx.cleanup();
  }
}

/** A `TestSystem` started before the file's tests and stopped after them. */
export function useSystem(options: SystemOptions = {}): TestSystem {
  const system = new TestSystem();
  beforeAll(() => system.start(options));
  afterEach(() => system.disconnectClients());
  afterAll(() => system.stop());
  return system;
}
