import { createLogger, type Logger } from '@chat/logger';
import { loadGatewayConfig, startGateway, type Gateway } from '@chat/gateway';
import { loadMessagesConfig, startMessagesService, type MessagesService } from '@chat/messages';
import { TEST_JWT_SECRET, type TestContext } from '@chat/testing';

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
    HOST: '127.0.0.1',
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Fewer partitions: fewer consumers to provision per test file.
    MESSAGE_PARTITIONS: '4',
    ...overrides,
  };
}

export function startTestGateway(ctx: TestContext, overrides: Record<string, string> = {}): Promise<Gateway> {
  return startGateway(loadGatewayConfig(serviceEnv(ctx, overrides)), testLogger('gateway'));
}

export function startTestMessages(ctx: TestContext, overrides: Record<string, string> = {}): Promise<MessagesService> {
  return startMessagesService(loadMessagesConfig(serviceEnv(ctx, overrides)), testLogger('messages'));
}
