import type { MessageStatus, UserId } from '@chat/contracts';
import type { ConversationDoc, MemberReadState, MessageDoc, WatermarkStep } from './documents.ts';

/**
 * Read state as watermarks: per conversation and participant, the highest `seq` delivered to and read by that
 * user, with the times the watermark moved. A receipt is one small update of the conversation document whatever
 * it covers; a message's status is derived from them when it is read out.
 */

/** How many moves of a watermark are kept, so that recent messages show the time they were delivered or read. */
export const WATERMARK_STEPS_KEPT = 16;

export const emptyMemberState = (): MemberReadState => ({ deliveredSeq: 0, readSeq: 0, delivered: [], read: [] });

/** The watermark moved up to `seq` at `at`: appended, and only the newest steps are kept. */
export function addStep(steps: readonly WatermarkStep[], seq: number, at: Date): WatermarkStep[] {
  return [...steps, { seq, at }].slice(-WATERMARK_STEPS_KEPT);
}

/**
 * When the watermark first covered `seq`: the first kept step at or above it. A message older than every kept
 * step reports the oldest one's time (it was delivered or read then, or before).
 */
export function timeCovering(steps: readonly WatermarkStep[], seq: number): Date | undefined {
  for (const step of steps) if (step.seq >= seq) return step.at;
  return undefined;
}

export interface DerivedStatus {
  status: MessageStatus;
  deliveredAt?: Date;
  readAt?: Date;
}

/**
 * A message's status as clients see it: the furthest of what is stored on the message (written by earlier
 * versions, which updated each message) and what the receiver's watermarks say. Never backwards.
 */
export function deriveStatus(message: MessageDoc, member: MemberReadState | undefined): DerivedStatus {
  const readAt = message.readAt ?? (member && message.seq <= member.readSeq ? timeCovering(member.read, message.seq) : undefined);
  const deliveredSeq = member ? Math.max(member.deliveredSeq, member.readSeq) : 0;
  const deliveredAt =
    message.deliveredAt ??
    (member && message.seq <= deliveredSeq ? (timeCovering(member.delivered, message.seq) ?? readAt) : undefined) ??
    readAt;
  const isRead = message.status === 'read' || (member !== undefined && message.seq <= member.readSeq);
  const isDelivered = isRead || message.status === 'delivered' || (member !== undefined && message.seq <= deliveredSeq);
  return {
    status: isRead ? 'read' : isDelivered ? 'delivered' : 'sent',
    ...(deliveredAt && isDelivered ? { deliveredAt } : {}),
    ...(readAt && isRead ? { readAt } : {}),
  };
}

/** The receiver's read state in a conversation document (absent on documents written before watermarks). */
export function memberOf(conversation: Pick<ConversationDoc, 'members'> | null | undefined, userId: UserId): MemberReadState | undefined {
  return conversation?.members?.[userId];
}
