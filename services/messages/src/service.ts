import { MongoClient } from 'mongodb';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import {
  busNames,
  type Channel,
  ConversationCommandSchema,
  ConversationExistsResponseSchema,
  CreateConversationResponseSchema,
  FileSharedResponseSchema,
  FindByClientMessageIdResponseSchema,
  HistoryResponseSchema,
  ListConversationsResponseSchema,
  UndeliveredResponseSchema,
  UserUpdatedEventSchema,
} from '@chat/contracts';
import { addEndpoint, Bus, consumeDurable, createService, ensureChatStreams, ensureConsumer, type DurableWorker } from '@chat/bus';
import type { Logger } from '@chat/logger';
import type { z } from 'zod';
import type { ReadinessCheck, Registry } from '@chat/telemetry';
import type { MessagesConfig } from './config.ts';
import { createMessagesMetrics, measured } from './metrics.ts';
import { parseFailpoints } from './failpoints.ts';
import { conversationCommandHandler } from './handlers/conversation-command.ts';
import { conversationExistsHandler } from './handlers/conversation-exists.ts';
import { createConversationHandler, listConversationsHandler } from './handlers/conversations.ts';
import { fileSharedHandler } from './handlers/file-shared.ts';
import { findByClientMessageIdHandler } from './handlers/find-by-client-message-id.ts';
import { historyHandler, undeliveredHandler } from './handlers/history.ts';
import { markDeliveredHandler } from './handlers/mark-delivered.ts';
import { markReadHandler } from './handlers/mark-read.ts';
import { sendMessageHandler } from './handlers/send-message.ts';
import { MessageStore } from './store/message-store.ts';
import { ProfileStore } from './store/profile-store.ts';

export const SERVICE_VERSION = '0.1.0';

export interface MessagesService {
  readonly store: MessageStore;
  readonly profiles: ProfileStore;
  readonly metrics: Registry;
  readonly readiness: Record<string, ReadinessCheck>;
  /** Stops taking commands, finishes the ones in hand, then closes NATS and MongoDB. */
  stop(): Promise<void>;
}

/** Starts the messages service; rejects (having closed what it opened) when a dependency is unreachable. */
export async function startMessagesService(config: MessagesConfig, logger: Logger): Promise<MessagesService> {
  const mongo = new MongoClient(config.MONGO_URL, { serverSelectionTimeoutMS: 5000, appName: 'messages' });
  try {
    await mongo.connect();
    await mongo.db().command({ ping: 1 });
  } catch (error) {
    await mongo.close();
    throw new Error(`cannot connect to MongoDB at ${redact(config.MONGO_URL)}: ${(error as Error).message}`, { cause: error });
  }
  let bus: Bus | undefined;
  try {
    const store = new MessageStore(mongo.db());
    const profiles = new ProfileStore(mongo.db());
    await store.ensureIndexes();

    bus = await Bus.connect({ servers: config.NATS_URL, name: 'messages', logger });
    const names = busNames(config.CHAT_NAMESPACE);
    await ensureChatStreams(bus, names, { replicas: config.NATS_STREAM_REPLICAS });

    const connected = bus;
    const lagOf = (stream: string, consumer: string) =>
      connected.jsm.consumers.info(stream, consumer).then(
        (info): [string, number] => [consumer, info.num_pending + info.num_ack_pending],
        (): [string, number] => [consumer, Number.NaN],
      );
    const metrics = createMessagesMetrics({
      consumerLag: () =>
        Promise.all([
          ...Array.from({ length: config.MESSAGE_PARTITIONS }, (_, p) => lagOf(names.streams.commands.name, names.consumers.conversation(p))),
          lagOf(names.streams.events.name, names.consumers.profiles),
        ]),
    });
    const service = await createService(bus, { name: names.messagesService.name, version: SERVICE_VERSION });
    const rpc = names.messagesService;
    const serve = <Req, Res>(name: string, channel: Channel<Req>, reply: z.ZodType<Res>, handler: (request: Req) => Promise<Res>) =>
      addEndpoint(service, { name, channel, reply, handler: metrics.counted(name, handler), logger });
    serve('find-by-client-id', rpc.findByClientMessageId, FindByClientMessageIdResponseSchema, findByClientMessageIdHandler({ store }));
    serve('list-conversations', rpc.listConversations, ListConversationsResponseSchema, listConversationsHandler({ store, profiles }));
    serve('create-conversation', rpc.createConversation, CreateConversationResponseSchema, createConversationHandler({ store }));
    serve('history', rpc.history, HistoryResponseSchema, historyHandler({ store }));
    serve('conversation-exists', rpc.conversationExists, ConversationExistsResponseSchema, conversationExistsHandler({ store }));
    serve('undelivered', rpc.undelivered, UndeliveredResponseSchema, undeliveredHandler({ store }));
    serve('file-shared', names.uploads.fileShared, FileSharedResponseSchema, await fileSharedHandler({ store }));


    const handler = conversationCommandHandler({
      send: measured(metrics, 'send', sendMessageHandler({ store, bus, names, logger, failpoint: parseFailpoints(config.FAILPOINTS) })),
      delivered: measured(metrics, 'delivered', markDeliveredHandler({ store, bus, names })),
      read: measured(metrics, 'read', markReadHandler({ store, bus, names })),
    });
    const commands = names.streams.commands.name;
    const workers: DurableWorker[] = [];
    for (let partition = 0; partition < config.MESSAGE_PARTITIONS; partition++) {
      const consumer = names.consumers.conversation(partition);
      await ensureConsumer(bus.jsm, commands, {
        durable_name: consumer,
        filter_subject: names.conversationFilter(partition),
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        // One command of a partition in flight at a time, across all replicas: per-conversation order.
        max_ack_pending: 1,
        ack_wait: nanos(config.COMMAND_ACK_WAIT_MS),
        max_deliver: -1,
      });
      workers.push(await consumeDurable({ bus, stream: commands, consumer, schema: ConversationCommandSchema, handler, logger }));
    }

    await ensureConsumer(bus.jsm, names.streams.events.name, {
      durable_name: names.consumers.profiles,
      filter_subject: names.userUpdatedFilter,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(config.COMMAND_ACK_WAIT_MS),
      max_deliver: -1,
    });
    workers.push(
      await consumeDurable({
        bus,
        stream: names.streams.events.name,
        consumer: names.consumers.profiles,
        schema: UserUpdatedEventSchema,
        handler: measured(metrics, 'profile', (event) => profiles.apply(event, new Date())),
        logger,
      }),
    );

    logger.info({ partitions: config.MESSAGE_PARTITIONS, namespace: config.CHAT_NAMESPACE }, 'messages service started');

    const connectedBus = bus;
    return {
      store,
      profiles,
      metrics: metrics.registry,
      readiness: {
        nats: async () => connectedBus.connected,
        mongodb: async () => (await mongo.db().command({ ping: 1 })).ok === 1,
      },
      async stop() {
        await Promise.all(workers.map((worker) => worker.stop()));
        await service.stop().catch(() => undefined);
        await connectedBus.drain();
        await mongo.close();
        logger.info('messages service stopped');
      },
    };
  } catch (error) {
    await bus?.close();
    await mongo.close();
    throw error;
  }
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
