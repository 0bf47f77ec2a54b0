import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import {
  busNames,
  type ConversationCommand,
  ConversationCommandSchema,
  SendMessageCommandSchema,
  UserUpdatedEventSchema,
} from '@chat/contracts';
import {
  Bus,
  consumeDurable,
  consumeOwnedBatches,
  createService,
  ensureChatStreams,
  ensureConsumer,
  workConsumer,
  type DurableWorker,
} from '@chat/bus';
import { natsAuth } from '@chat/config';
import type { Logger } from '@chat/logger';
import { openClient, packageVersion, type RunningService } from '@chat/runtime';
import type { ReadinessCheck, Registry } from '@chat/telemetry';
import type { MessagesConfig } from './config.ts';
import { countMongoCommands, createMessagesMetrics } from './metrics.ts';
import { parseFailpoints } from './failpoints.ts';
import { conversationExistsHandler } from './handlers/conversation-exists.ts';
import { createConversationHandler, listConversationsHandler } from './handlers/conversations.ts';
import { fileSharedHandler } from './handlers/file-shared.ts';
import { findByClientMessageIdHandler } from './handlers/find-by-client-message-id.ts';
import { historyHandler, undeliveredHandler } from './handlers/history.ts';
import { commandBatchProcessor, refusalAnswer } from './pipeline/command-batch.ts';
import { ConversationCache } from './pipeline/conversation-cache.ts';
import { MessageStore } from './store/message-store.ts';
import { ProfileStore } from './store/profile-store.ts';

/** This service's version: its package.json's. */
export const SERVICE_VERSION = packageVersion(import.meta.url);

export interface MessagesService extends RunningService {
  readonly store: MessageStore;
  readonly profiles: ProfileStore;
  readonly metrics: Registry;
  readonly readiness: Record<string, ReadinessCheck>;
  /** Stops taking commands, finishes the ones in hand, then closes NATS and MongoDB. */
  stop(): Promise<void>;
}

/** Starts the messages service; rejects (having closed what it opened) when a dependency is unreachable. */
export async function startMessagesService(config: MessagesConfig, logger: Logger): Promise<MessagesService> {
  // Everything opened is closed again if the start fails (and, moved to `stop`, when it stops).
  await using opened = new AsyncDisposableStack();
  const openMongo = (appName: string) =>
    openClient(
      'MongoDB',
      config.MONGO_URL,
      new MongoClient(config.MONGO_URL, { serverSelectionTimeoutMS: 5000, appName, monitorCommands: true }),
      async (client) => {
        await client.connect();
        await client.db().command({ ping: 1 });
      },
    );
  const mongo = await openMongo('messages');
  opened.defer(() => mongo.close());
  // Requests (catch-ups, history, lists) get a pool of their own, so that a storm of them cannot starve the
  // partition owners' writes, which every send waits for.
  const requestsMongo = await openMongo('messages-requests');
  opened.defer(() => requestsMongo.close());
  const store = new MessageStore(mongo.db());
  const reads = new MessageStore(requestsMongo.db());
  const profiles = new ProfileStore(mongo.db(), logger);
  await store.ensureIndexes();

  const bus = await Bus.connect({ servers: config.NATS_URL, name: 'messages', logger, auth: natsAuth(config) });
  opened.defer(() => bus.close());
  // Partitions are pinned-client priority groups: say so plainly on an older server instead of failing later.
  const version = bus.serverVersion;
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major < 2 || (major === 2 && minor < 11))
    throw new Error(`NATS ${version} is too old: the messages service needs nats-server 2.11 or later`);
  const names = busNames(config.CHAT_NAMESPACE);
  await ensureChatStreams(bus, names, { replicas: config.NATS_STREAM_REPLICAS });

  const lagOf = async (stream: string, consumer: string): Promise<[string, number]> => [consumer, await bus.consumerLag(stream, consumer)];
  const metrics = createMessagesMetrics({
    consumerLag: () =>
      Promise.all([
        ...Array.from({ length: config.MESSAGE_PARTITIONS }, (_, p) => lagOf(names.streams.commands.name, names.consumers.conversation(p))),
        lagOf(names.streams.events.name, names.consumers.profiles),
      ]),
  });
  countMongoCommands(mongo, metrics);
  countMongoCommands(requestsMongo, metrics);
  const rpc = names.messagesService;
  const service = await createService(bus, { name: rpc.name, version: SERVICE_VERSION, logger, countAnswer: metrics.countAnswer });
  service.serve(rpc.findByClientMessageId, findByClientMessageIdHandler({ store: reads }));
  service.serve(rpc.listConversations, listConversationsHandler({ store: reads, profiles, logger }));
  service.serve(rpc.createConversation, createConversationHandler({ store: reads }));
  service.serve(rpc.history, historyHandler({ store: reads }));
  service.serve(rpc.conversationExists, conversationExistsHandler({ store: reads }));
  service.serve(rpc.undelivered, undeliveredHandler({ store: reads }));
  service.serve(rpc.fileShared, fileSharedHandler({ store: reads }));

  const processBatch = commandBatchProcessor({
    store,
    bus,
    names,
    logger,
    failpoint: parseFailpoints(config.FAILPOINTS),
    ownerId: randomUUID(),
  });
  // A failure counts against a command only while what it needs answers: MongoDB, and NATS (its events and
  // deliveries go there). During an outage of either, commands wait instead of being parked.
  const dependenciesHealthy = async () => bus.connected && (await mongo.db().command({ ping: 1 })).ok === 1;
  const commands = names.streams.commands.name;
  const workers: DurableWorker[] = [];
  for (let partition = 0; partition < config.MESSAGE_PARTITIONS; partition++) {
    const consumer = names.consumers.conversation(partition);
    // One replica works a partition at a time (the pinned one), with many commands in flight: batches in stream
    // order, and another replica takes over within the pin's timeout when it stops pulling.
    await ensureConsumer(
      bus,
      commands,
      workConsumer({
        durable: consumer,
        filterSubject: names.conversationFilter(partition),
        ackWaitMs: config.COMMAND_ACK_WAIT_MS,
        maxAckPending: config.COMMAND_MAX_IN_FLIGHT,
        owners: { group: names.consumers.conversationOwners, timeoutMs: config.PARTITION_OWNER_TIMEOUT_MS },
      }),
      { recreateIfIncompatible: true },
    );
    const cache = new ConversationCache(config.CONVERSATION_CACHE_SIZE);
    workers.push(
      await consumeOwnedBatches<ConversationCommand>({
        bus,
        stream: commands,
        consumer,
        group: names.consumers.conversationOwners,
        schema: ConversationCommandSchema,
        handleBatch: async (entries) => {
          const result = await processBatch(
            entries.map(({ payload, redelivered }) => ({ command: payload, redelivered })),
            cache,
          );
          return {
            outcomes: result.outcomes,
            finish: async () => {
              await result.finish();
              for (const [i, { payload }] of entries.entries()) {
                metrics.commands.inc({ type: payload.type, outcome: result.outcomes[i]!.kind === 'done' ? 'ok' : 'refused' });
              }
            },
          };
        },
        onFailure: () => cache.clear(),
        healthy: dependenciesHealthy,
        deadLetterSubject: names.deadLetter,
        onGivenUp: (command, _reason, raw) => {
          const parsed =
            command ?? SendMessageCommandSchema.pick({ type: true, senderId: true, clientMessageId: true }).safeParse(raw).data;
          if (parsed) metrics.commands.inc({ type: parsed.type, outcome: 'parked' });
          if (parsed?.type === 'send') refusalAnswer(names, bus, parsed);
        },
        onOwnershipChange: () => cache.clear(),
        describe: (command) => ({
          type: command.type,
          conversationId: command.conversationId,
          ...(command.type === 'send' ? { senderId: command.senderId, clientMessageId: command.clientMessageId } : {}),
        }),
        ackWaitMs: config.COMMAND_ACK_WAIT_MS,
        maxBatch: config.COMMAND_BATCH_MAX,
        observe: {
          batch: (size, seconds) => {
            metrics.batches.observe(size);
            metrics.batchSeconds.observe(seconds);
          },
          failed: () => metrics.failedBatches.inc(),
        },
        logger,
      }),
    );
  }

  await ensureConsumer(
    bus,
    names.streams.events.name,
    workConsumer({ durable: names.consumers.profiles, filterSubject: names.userUpdatedFilter, ackWaitMs: config.COMMAND_ACK_WAIT_MS }),
  );
  workers.push(
    await consumeDurable({
      bus,
      stream: names.streams.events.name,
      consumer: names.consumers.profiles,
      schema: UserUpdatedEventSchema,
      handler: (event) => profiles.apply(event, new Date()),
      deadLetterSubject: names.deadLetter,
      logger,
    }),
  );

  logger.info({ partitions: config.MESSAGE_PARTITIONS, namespace: config.CHAT_NAMESPACE }, 'messages service started');

  const resources = opened.move();
  return {
    store,
    profiles,
    metrics: metrics.registry,
    readiness: {
      nats: async () => bus.connected,
      mongodb: async () => (await mongo.db().command({ ping: 1 })).ok === 1,
    },
    async stop() {
      await Promise.all(workers.map((worker) => worker.stop()));
      await service.stop().catch(() => undefined);
      await bus.drain();
      await resources.disposeAsync();
      logger.info('messages service stopped');
    },
  };
}
