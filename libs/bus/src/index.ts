export { Bus } from './bus.ts';
export type { BusAuth, BusOptions, PublishOptions, SubscribeOptions } from './bus.ts';
/** The NATS types a service may need to name (it talks to NATS only through `Bus`). */
export type { PubAck } from '@nats-io/jetstream';
export type { Subscription } from '@nats-io/transport-node';
export { decode, decodeReply, encode, encodeReply, InvalidReplyError } from './codec.ts';
export { ensureConsumer, ensureStream, workConsumer } from './streams.ts';
export type { WorkConsumerOptions } from './streams.ts';
export { ensureChatStreams } from './chat-streams.ts';
export { consumeDurable } from './durable-consumer.ts';
export type { DurableConsumerOptions, DurableWorker } from './durable-consumer.ts';
export { consumeOwnedBatches } from './owned-batch-consumer.ts';
export type { BatchEntry, BatchOutcome, OwnedBatchConsumerOptions } from './owned-batch-consumer.ts';
export { createService } from './service-endpoint.ts';
export type { ChatService, ServiceOptions } from './service-endpoint.ts';
export { headersWithTraceContext, traceContextOf } from './trace-context.ts';
