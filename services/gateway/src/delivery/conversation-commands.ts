import { partitionOf, type BusNames, type ConversationCommand } from '@chat/contracts';
import type { Bus, PubAck } from '@chat/bus';

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
    const queued = async (seqs: number[]): Promise<number[]> => {
      const still: number[] = [];
      for (let i = 0; i < seqs.length; i += 100) {
        const chunk = seqs.slice(i, i + 100);
        const present = await Promise.all(chunk.map((seq) => this.#bus.storedInStream(stream, seq)));
        still.push(...chunk.filter((_, j) => present[j]));
      }
      return still;
    };
    let waiting = await queued(streamSeqs);
    while (waiting.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      waiting = await queued(waiting);
    }
  }

  publish(command: ConversationCommand, msgId?: string): Promise<PubAck> {
    const partition = partitionOf(command.conversationId, this.#partitions);
    const channel = this.#names.conversationCommand(partition, command.conversationId, command.type);
    return this.#bus.publishDurable(channel, command, msgId === undefined ? {} : { msgId });
  }
}
