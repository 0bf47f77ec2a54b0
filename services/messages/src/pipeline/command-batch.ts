import { ObjectId } from 'mongodb';
import {
  ChatError,
  otherParticipant,
  type BusNames,
  type ConversationCommand,
  type ConversationId,
  type MarkReadCommand,
  type SendMessageCommand,
  type UserId,
} from '@chat/contracts';
import type { Bus } from '@chat/bus';
import type { Logger } from '@chat/logger';
import type { Failpoints } from '../failpoints.ts';
import { toMessage, type MessageDoc } from '../store/documents.ts';
import type { MessageStore } from '../store/message-store.ts';
import type { ConversationCache } from './conversation-cache.ts';
import { ConversationState, type ConversationOp, type ReceiptEffect } from './conversation-state.ts';

const DUPLICATE_KEY = 11000;
/** Rounds of "insert, handle the one refusal, insert the rest" before the batch counts as failed. */
const MAX_INSERT_ROUNDS = 32;
/** Rounds of "write, reload what lost a race, replay" before the batch counts as failed. */
const MAX_WRITE_ROUNDS = 4;

export interface BatchItem {
  command: ConversationCommand;
  /** Whether this command may have been worked on before (a redelivery, or a retry after a failure). */
  redelivered: boolean;
}

/** What became of a command: done (ack it), or refused for good (terminate it: it can never succeed). */
export type ItemOutcome = { kind: 'done' } | { kind: 'refused'; reason: string };

export interface BatchResult {
  outcomes: ItemOutcome[];
  /** The conversation writes and the receipts' events: after the previous batch's finish, before the acks. */
  finish: () => Promise<void>;
}

export interface CommandBatchDeps {
  store: MessageStore;
  bus: Bus;
  names: BusNames;
  logger: Logger;
  failpoint: Failpoints;
  /** Tells this owner's writes apart from a rival's (see `ConversationDoc.revBy`). */
  ownerId: string;
  now?: () => Date;
}

const sendKey = (senderId: UserId, clientMessageId: string) => `${senderId}\u0000${clientMessageId}`;

/** A batch whose steps together took longer than this is logged, with the time of each step. */
const SLOW_BATCH_MS = 1000;

/** Times the steps of a batch, for the log line of a slow one. */
function stopwatch() {
  const started = performance.now();
  let last = started;
  const steps: Record<string, number> = {};
  return {
    lap(step: string): void {
      const at = performance.now();
      steps[step] = Math.round(at - last);
      last = at;
    },
    reportIfSlow(logger: Logger, context: Record<string, unknown>): void {
      const ms = Math.round(last - started);
      if (ms >= SLOW_BATCH_MS) logger.warn({ ...context, ms, steps }, 'slow batch');
    },
  };
}

/**
 * Applies a batch of one partition's conversation commands, in their stream order, with a handful of round
 * trips whatever its size:
 *
 * 1. the conversations are in the owner's memory (loaded, created or finished on first use only);
 * 2. new messages get their `seq` from memory and are stored with one ordered `insertMany` — the only round
 *    trip before the deliveries; the unique indexes catch a late resend or a rival owner;
 * 3. deliveries go out (core NATS), and the created events to the events stream (deduplicated by message id);
 * 4. each conversation's new state (last message, unread counts, watermarks) is written with one `bulkWrite`,
 *    conditional on the revision it was built on; then the receipts' events go out, and the caller acks.
 *
 * Each step is safe to repeat, so a redelivery after a crash anywhere finishes the work without a second
 * message, count or (once applied) emit: a stored message above its conversation's applied watermark is one
 * whose deliveries may not have gone out, and the next owner delivers and applies it.
 */
export function commandBatchProcessor(deps: CommandBatchDeps) {
  const { store, bus, names, logger, failpoint, ownerId, now = () => new Date() } = deps;
  let writes = 0;

  /**
   * Works a batch up to its deliveries and created events; `finish` writes the conversations and must run after
   * the previous batch's `finish` succeeded (the next batch's work may overlap it). After a failure of either,
   * the caller drops the cache (memory may be ahead of the store) and retries.
   */
  return async function processBatch(items: BatchItem[], cache: ConversationCache): Promise<BatchResult> {
    const ids = [...new Set(items.map((item) => item.command.conversationId))];
    try {
      return await run(items, ids, cache);
    } catch (error) {
      for (const id of ids) cache.delete(id);
      throw error;
    }
  };

  async function run(items: BatchItem[], ids: ConversationId[], cache: ConversationCache): Promise<BatchResult> {
    const at = now();
    const laps = stopwatch();
    const outcomes: ItemOutcome[] = items.map(() => ({ kind: 'done' }));
    const ops = new Map<ConversationId, ConversationOp[]>(ids.map((id) => [id, []]));
    /** Messages whose deliveries go out in this batch (new, or stored but not finished), by id. */
    const planned = new Map<string, MessageDoc>();
    const plan = (doc: MessageDoc) => {
      planned.set(doc._id.toHexString(), doc);
      ops.get(doc.conversationId)!.push({ kind: 'message', doc });
    };
    const unplan = (doc: MessageDoc) => {
      planned.delete(doc._id.toHexString());
      const list = ops.get(doc.conversationId)!;
      list.splice(
        list.findIndex((op) => op.kind === 'message' && op.doc === doc),
        1,
      );
    };
    const inBatch = new Map<string, MessageDoc>();
    /**
     * Brings a conversation up to what is stored: messages another owner stored above what this state applied
     * are delivered and applied here. Returns the highest stored seq.
     */
    const catchUpWithStore = async (conversation: ConversationState): Promise<number> => {
      let top = conversation.appliedSeq;
      for (const theirs of await store.messagesAbove([{ conversationId: conversation.id, seq: conversation.appliedSeq }])) {
        top = Math.max(top, theirs.seq);
        if (!planned.has(theirs._id.toHexString()) && !inBatch.has(sendKey(theirs.senderId, theirs.clientMessageId))) plan(theirs);
      }
      conversation.noteStored(top);
      return top;
    };
    /** A receipt's seq, at most the highest stored (beyond what this state knows, the store says). */
    const withinStored = async (conversation: ConversationState, seq: number): Promise<number> => {
      if (seq <= conversation.lastSeq) return seq;
      return Math.min(seq, await catchUpWithStore(conversation));
    };
    const answers: Array<{ senderId: UserId; doc: MessageDoc }> = [];
    const refusals: SendMessageCommand[] = [];

    // This batch's states, held here: the cache may drop them meanwhile (a failure, a change of owner); and the
    // sends that may have been stored before, looked up at the same time (after a takeover both are cold reads,
    // and one does not need the other).
    const [{ states, unfinished }, storedBefore] = await Promise.all([
      load(ids, cache, at),
      store.findByClientMessageIds(
        items.filter((item) => item.redelivered && item.command.type === 'send').map(({ command }) => command as SendMessageCommand),
      ),
    ]);
    laps.lap('load');
    for (const doc of unfinished) plan(doc);
    const state = (id: ConversationId) => states.get(id)!;
    const earlier = new Map(storedBefore.map((doc) => [sendKey(doc.senderId, doc.clientMessageId), doc]));
    const fresh: Array<{ doc: MessageDoc; item: number }> = [];
    const settleStored = (doc: MessageDoc) => {
      if (planned.has(doc._id.toHexString())) return; // its delivery answers the sender too
      if (state(doc.conversationId).isApplied(doc.seq)) answers.push({ senderId: doc.senderId, doc });
      else plan(doc);
    };

    for (const [index, { command, redelivered }] of items.entries()) {
      const conversation = state(command.conversationId);
      switch (command.type) {
        case 'send': {
          const key = sendKey(command.senderId, command.clientMessageId);
          const stored = earlier.get(key) ?? inBatch.get(key);
          if (stored) {
            settleStored(stored);
            break;
          }
          const doc = newMessageDoc(command, conversation.nextSeq(), at);
          inBatch.set(key, doc);
          fresh.push({ doc, item: index });
          plan(doc);
          break;
        }
        case 'delivered': {
          const named = command.upToSeq ?? (await highestSeq(conversation, command.receiverId, command.messageIds, planned));
          const upToSeq = await withinStored(conversation, named);
          if (upToSeq > 0) {
            ops.get(command.conversationId)!.push({
              kind: 'delivered',
              receiverId: command.receiverId,
              upToSeq,
              at: new Date(command.at),
              messageIds: command.messageIds,
              repeat: redelivered,
            });
          }
          break;
        }
        case 'read': {
          const upToSeq = await withinStored(conversation, await readUpTo(conversation, command, planned));
          if (upToSeq > 0) {
            ops.get(command.conversationId)!.push({
              kind: 'read',
              readerId: command.readerId,
              upToSeq,
              at: new Date(command.at),
              repeat: redelivered,
              ...(command.upToSeq === undefined ? {} : { requestedUpToSeq: command.upToSeq }),
              ...(command.messageIds ? { messageIds: command.messageIds } : {}),
            });
          }
          break;
        }
      }
    }

    laps.lap('plan');
    // The one round trip before the deliveries (more only when the store refuses one of them).
    let pending = fresh;
    for (let round = 0; pending.length > 0; round++) {
      if (round === MAX_INSERT_ROUNDS) throw new Error(`insert did not settle after ${MAX_INSERT_ROUNDS} rounds`);
      failpoint(
        'send.insert',
        pending.map(({ doc }) => doc.clientMessageId),
      );
      const { stored, refusal } = await store.insertOrdered(pending.map(({ doc }) => doc));
      if (!refusal) break;
      const failed = pending[stored]!;
      const rest = pending.slice(stored + 1);
      const conversation = state(failed.doc.conversationId);
      if (refusal.code === DUPLICATE_KEY) {
        const prior = await store.findByClientMessageId(failed.doc.senderId, failed.doc.clientMessageId);
        unplan(failed.doc);
        if (prior) {
          // A resend after JetStream's dedupe window: the stored message answers it.
          renumber(conversation, failed.doc.seq, rest);
          settleStored(prior);
          pending = rest;
        } else {
          // Its seq is taken: another owner stored messages here. Finish theirs, then number ours after them.
          const top = await catchUpWithStore(conversation);
          renumber(conversation, top + 1, [failed, ...rest]);
          plan(failed.doc);
          pending = [failed, ...rest];
        }
      } else {
        // The store refuses this message for good (e.g. a key it cannot hold): refuse it, keep the rest.
        logger.error({ code: refusal.code, err: refusal.message, conversationId: failed.doc.conversationId }, 'store refused a message');
        unplan(failed.doc);
        renumber(conversation, failed.doc.seq, rest);
        outcomes[failed.item] = { kind: 'refused', reason: `store refused the message (code ${refusal.code ?? 'unknown'})` };
        refusals.push(items[failed.item]!.command as SendMessageCommand);
        pending = rest;
      }
    }
    failpoint('send.after-store');
    laps.lap('insert');

    // Deliveries, in sequence order per conversation: the critical path ends here.
    const toPublish = [...planned.values()].sort((a, b) =>
      a.conversationId < b.conversationId ? -1 : a.conversationId > b.conversationId ? 1 : a.seq - b.seq,
    );
    const debug = logger.isLevelEnabled('debug');
    const published = toPublish.map((doc) => {
      const message = toMessage(doc, state(doc.conversationId).members[doc.receiverId]);
      bus.publishToEach([names.userDelivery(doc.senderId), names.userDelivery(doc.receiverId)], { type: 'new_message', message });
      if (debug) logger.debug({ messageId: message._id, conversationId: doc.conversationId, seq: doc.seq }, 'message stored');
      return message;
    });
    for (const { senderId, doc } of answers) {
      bus.publish(names.userDelivery(senderId), {
        type: 'send_result',
        message: toMessage(doc, state(doc.conversationId).members[doc.receiverId]),
      });
    }
    for (const command of refusals) refusalAnswer(names, bus, command);
    // The events stream has them once (deduplicated by message id); its acks also mean NATS has the deliveries.
    await Promise.all(
      published.map((message) =>
        bus.publishDurable(names.messageCreated(message.conversationId), { message }, { msgId: `created:${message._id}` }),
      ),
    );
    failpoint('send.after-deliver');
    laps.lap('deliver');
    laps.reportIfSlow(logger, { commands: items.length, conversations: ids.length });

    const finish = async () => {
      const writing = stopwatch();
      await write(ids, ops, states, cache);
      writing.lap('write');
      writing.reportIfSlow(logger, { conversations: ids.length });
      failpoint('send.before-ack');
    };
    return { outcomes, finish };
  }

  /**
   * Makes sure every conversation is in memory: read (one query), created when it has no document yet (before
   * its first message, so that a catch-up finds the message through it), legacy read state derived once, and
   * messages a previous owner stored but did not finish returned to be delivered and applied.
   */
  async function load(
    ids: ConversationId[],
    cache: ConversationCache,
    at: Date,
  ): Promise<{ states: Map<ConversationId, ConversationState>; unfinished: MessageDoc[] }> {
    const states = new Map<ConversationId, ConversationState>();
    for (const id of ids) {
      const known = cache.get(id);
      if (known) states.set(id, known);
    }
    const missing = ids.filter((id) => !states.has(id));
    if (missing.length === 0) return { states, unfinished: [] };
    const docs = await store.loadConversations(missing);
    const existing = [...docs.values()];
    const absent = missing.filter((id) => !docs.has(id));
    for (const doc of await store.createConversations(absent, at)) docs.set(doc._id, doc);
    for (const doc of docs.values()) {
      if (!doc.members) doc.members = await store.legacyMembers(doc._id);
      const conversation = new ConversationState(doc);
      states.set(doc._id, conversation);
      cache.set(conversation);
    }
    const unfinished = await store.messagesAbove(existing.map((doc) => ({ conversationId: doc._id, seq: doc.appliedSeq })));
    for (const doc of unfinished) states.get(doc.conversationId)!.noteStored(doc.seq);
    return { states, unfinished };
  }

  /**
   * Applies each conversation's ops to its state and stores the result, replaying on a fresh copy after a lost
   * race; then tells the participants what the receipts changed.
   */
  async function write(
    ids: ConversationId[],
    ops: Map<ConversationId, ConversationOp[]>,
    states: Map<ConversationId, ConversationState>,
    cache: ConversationCache,
  ): Promise<void> {
    let todo = ids.filter((id) => ops.get(id)!.length > 0);
    let effects: Array<[ConversationId, ReceiptEffect]> = [];
    for (let round = 0; todo.length > 0; round++) {
      if (round === MAX_WRITE_ROUNDS) throw new Error(`conversation writes did not settle after ${MAX_WRITE_ROUNDS} rounds`);
      if (round > 0) {
        const reloaded = await store.loadConversations(todo);
        for (const id of todo) {
          const doc = reloaded.get(id);
          if (!doc) throw new Error(`conversation ${id} vanished`);
          if (!doc.members) doc.members = await store.legacyMembers(id);
          const conversation = new ConversationState(doc);
          states.set(id, conversation);
          cache.set(conversation);
        }
      }
      const roundEffects: Array<[ConversationId, ReceiptEffect]> = [];
      for (const id of todo) {
        const conversation = states.get(id)!;
        for (const op of inSeqOrder(ops.get(id)!)) {
          const effect = conversation.apply(op);
          if (effect) roundEffects.push([id, effect]);
        }
        for (const readerId of conversation.unreadUnknown) {
          conversation.unread[readerId] = await store.countAfter(id, readerId, conversation.member(readerId).readSeq);
        }
        conversation.unreadUnknown.clear();
      }
      for (const [id, effect] of roundEffects) {
        if (!effect.complete)
          effect.messageIds = [
            ...new Set([...(await store.idsBetween(id, effectUser(effect), effect.from, effect.to)), ...effect.messageIds]),
          ];
      }
      const revBy = `${ownerId}:${++writes}`;
      const lost = new Set(
        await store.writeConversations(
          todo.map((id) => {
            const conversation = states.get(id)!;
            return { id, rev: conversation.rev, set: { ...conversation.toSet(), revBy } };
          }),
        ),
      );
      for (const id of todo) if (!lost.has(id)) states.get(id)!.rev += 1;
      effects = [...effects, ...roundEffects.filter(([id]) => !lost.has(id))];
      if (lost.size > 0) logger.warn({ conversations: [...lost] }, 'another owner wrote these conversations; replaying on their state');
      todo = [...lost];
    }
    failpoint('send.after-apply');
    // After the write, so that a client told of a receipt reads it back. A crash in between loses no event: the
    // redelivered receipt finds its watermark moved and repeats them (see ConversationState, `repeat`).
    for (const [id, effect] of effects) publishReceipt(id, effect);
  }

  /** The highest seq among these messages to `receiverId`: from memory, this batch, or one query. */
  async function highestSeq(
    conversation: ConversationState,
    receiverId: UserId,
    messageIds: string[],
    planned: Map<string, MessageDoc>,
  ): Promise<number> {
    const unknown: ObjectId[] = [];
    let highest = 0;
    for (const id of messageIds) {
      const known = conversation.recentMessage(id) ?? planned.get(id);
      if (known) {
        if (known.receiverId === receiverId) highest = Math.max(highest, known.seq);
      } else if (ObjectId.isValid(id)) unknown.push(ObjectId.createFromHexString(id));
    }
    if (unknown.length > 0) highest = Math.max(highest, ...(await store.seqsOf(conversation.id, receiverId, unknown)));
    return highest;
  }

  /** A read covers up to `upToSeq`, or up to the highest of the reader's own received messages it names. */
  async function readUpTo(conversation: ConversationState, command: MarkReadCommand, planned: Map<string, MessageDoc>): Promise<number> {
    if (!otherParticipant(command.conversationId, command.readerId)) return 0; // the gateway checked; a forged one reads nothing
    if (command.upToSeq !== undefined) return command.upToSeq;
    return command.messageIds ? highestSeq(conversation, command.readerId, command.messageIds, planned) : 0;
  }

  function publishReceipt(conversationId: ConversationId, effect: ReceiptEffect): void {
    if (effect.kind === 'delivered') {
      const sender = otherParticipant(conversationId, effect.receiverId);
      if (!sender) return;
      for (const messageId of effect.messageIds) {
        bus.publish(names.userDelivery(sender), { type: 'message_delivered', payload: { messageId, conversationId, upToSeq: effect.to } });
      }
      return;
    }
    const sender = otherParticipant(conversationId, effect.readerId);
    if (!sender) return;
    const payload = {
      messageIds: effect.messageIds,
      readBy: effect.readerId,
      conversationId,
      ...(effect.requestedUpToSeq === undefined ? {} : { upToSeq: effect.requestedUpToSeq }),
    };
    bus.publishToEach([names.userDelivery(sender), names.userDelivery(effect.readerId)], { type: 'message_read', payload });
  }
}

/** Tells the sender of a send that was refused or set aside that it will not be stored. */
export function refusalAnswer(
  names: BusNames,
  bus: Bus,
  { senderId, clientMessageId }: Pick<SendMessageCommand, 'senderId' | 'clientMessageId'>,
): void {
  const error = new ChatError('MESSAGE_REFUSED').toPayload({ clientMessageId });
  bus.publish(names.userDelivery(senderId), { type: 'send_failed', senderId, clientMessageId, error });
}

function newMessageDoc(command: SendMessageCommand, seq: number, at: Date): MessageDoc {
  const { conversationId, senderId, receiverId, clientMessageId } = command;
  return {
    _id: new ObjectId(),
    conversationId,
    senderId,
    receiverId,
    clientMessageId,
    ...command.body,
    timestamp: new Date(command.sentAt),
    seq,
    status: 'sent',
    createdAt: at,
  } as MessageDoc;
}

/** Gives the not yet stored messages of this conversation among `docs` consecutive seqs from `first` on. */
function renumber(conversation: ConversationState, first: number, docs: Array<{ doc: MessageDoc }>): void {
  conversation.lastSeq = first - 1;
  for (const { doc } of docs) if (doc.conversationId === conversation.id) doc.seq = conversation.nextSeq();
}

/** The ops with their messages in seq order, each receipt kept where it came (after the messages before it). */
function inSeqOrder(ops: ConversationOp[]): ConversationOp[] {
  const messages = ops.filter((op) => op.kind === 'message').sort((a, b) => a.doc.seq - b.doc.seq);
  let next = 0;
  return ops.map((op) => (op.kind === 'message' ? messages[next++]! : op));
}

function effectUser(effect: ReceiptEffect): UserId {
  return effect.kind === 'delivered' ? effect.receiverId : effect.readerId;
}
