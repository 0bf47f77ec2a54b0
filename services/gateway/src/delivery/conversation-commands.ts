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

  /**
   * Resolves once the commands at these stream sequence numbers are applied (a work-queue stream drops a
   * command when its consumer acks it), or after `timeoutMs`.
   */
  async applied(streamSeqs: number[], timeoutMs: number): Promise<void> {
    const stream = this.#names.streams.commands.name;
    const deadline = Date.now() + timeoutMs;
    let waiting = streamSeqs;
    while (waiting.length > 0 && Date.now() < deadline) {
      const present = await Promise.all(
        waiting.map((seq) => this.#bus.jsm.streams.getMessage(stream, { seq }).then((stored) => stored !== null, () => false)),
      );
      waiting = waiting.filter((_, i) => present[i]);
      if (waiting.length > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  publish(command: ConversationCommand, msgId?: string): Promise<PubAck> {
    const partition = partitionOf(command.conversationId, this.#partitions);
    const channel = this.#names.conversationCommand(partition, command.conversationId, command.type);
    return this.#bus.publishDurable(channel, command, msgId === undefined ? {} : { msgId });
  }
}
