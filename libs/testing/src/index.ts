export { mongoServerUrl, startInfra } from './infra.ts';
export type { InfraUrls, StartedInfra } from './infra.ts';
export { createTestContext } from './test-context.ts';
export type { TestContext } from './test-context.ts';
export { signToken, TEST_JWT_SECRET } from './tokens.ts';
export type { TokenOptions } from './tokens.ts';
export { collectEvents, connectClient, emitWithAck, nextEvent, waitFor } from './sockets.ts';
export type { ChatClient, ConnectOptions } from './sockets.ts';
export { CuttableProxy } from './cuttable-proxy.ts';
