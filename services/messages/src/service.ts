import { MongoClient } from 'mongodb';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { busNames, SendMessageCommandSchema } from '@chat/contracts';
import { addEndpoint, Bus, consumeDurable, createService, ensureChatStreams, ensureConsumer, type DurableWorker } from '@chat/bus';
import type { Logger } from '@chat/logger';
import type { MessagesConfig } from './config.ts';
import { parseFailpoints } from './failpoints.ts';
import { findByClientMessageIdHandler } from './handlers/find-by-client-message-id.ts';
import { sendMessageHandler } from './handlers/send-message.ts';
import { MessageStore } from './store/message-store.ts';

export const SERVICE_VERSION = '0.1.0';

export interface MessagesService {
  readonly store: MessageStore;
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
    await store.ensureIndexes();

    bus = await Bus.connect({ servers: config.NATS_URL, name: 'messages', logger });
    const names = busNames(config.CHAT_NAMESPACE);
    await ensureChatStreams(bus, names);

    const service = await createService(bus, { name: names.messagesService.name, version: SERVICE_VERSION });
    addEndpoint(service, {
      name: 'find-by-client-id',
      channel: names.messagesService.findByClientMessageId,
      reply: names.messagesService.findByClientMessageIdReply,
      handler: findByClientMessageIdHandler({ store }),
      logger,
    });

    const handler = sendMessageHandler({ store, bus, names, logger, failpoint: parseFailpoints(config.FAILPOINTS) });
    const workers: DurableWorker[] = [];
    for (let partition = 0; partition < config.MESSAGE_PARTITIONS; partition++) {
      const consumer = names.consumers.sendMessage(partition);
      await ensureConsumer(bus.jsm, names.streams.commands.name, {
        durable_name: consumer,
        filter_subject: names.sendMessageFilter(partition),
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        // One command of a partition in flight at a time, across all replicas: per-conversation order.
        max_ack_pending: 1,
        ack_wait: nanos(config.COMMAND_ACK_WAIT_MS),
        max_deliver: -1,
      });
      workers.push(
        await consumeDurable({
          bus,
          stream: names.streams.commands.name,
          consumer,
          schema: SendMessageCommandSchema,
          handler,
          logger,
        }),
      );
    }
    logger.info({ partitions: config.MESSAGE_PARTITIONS, namespace: config.CHAT_NAMESPACE }, 'messages service started');

    const connectedBus = bus;
    return {
      store,
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
