import type { PubAck } from '@nats-io/jetstream';
import { partitionOf, type BusNames, type ConversationCommand } from '@chat/contracts';
import type { Bus } from '@chat/bus';

/** Publishes conversation commands durably to their conversation's partition. */
export class ConversationCommands {
  readonly #bus: Bus;
  readonly #names: BusNames;
  readonly #partitions: number;

  constructor(bus: Bus, names: BusNames, partitions: number) {
    this.#bus = bus;
    this.#names = names;
    this.#partitions = partitions;
  }

  publish(command: ConversationCommand, msgId?: string): Promise<PubAck> {
    const partition = partitionOf(command.conversationId, this.#partitions);
    const channel = this.#names.conversationCommand(partition, command.conversationId, command.type);
    return this.#bus.publishDurable(channel, command, msgId === undefined ? {} : { msgId });
  }
}
