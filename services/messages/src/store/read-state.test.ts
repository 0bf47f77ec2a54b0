import { describe, expect, it } from 'vitest';
import { ObjectId } from 'mongodb';
import type { MessageDoc } from './documents.ts';
import { addStep, deriveStatus, timeCovering, WATERMARK_STEPS_KEPT } from './read-state.ts';

const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
const message = (seq: number, extra: Partial<MessageDoc> = {}) => ({ _id: new ObjectId(), seq, status: 'sent', ...extra }) as MessageDoc;

describe('read state as watermarks', () => {
  it('derives sent, delivered and read from the receiver’s watermarks, with the time each covered the message', () => {
    const member = {
      deliveredSeq: 5,
      readSeq: 2,
      delivered: [
        { seq: 3, at: t(10) },
        { seq: 5, at: t(20) },
      ],
      read: [{ seq: 2, at: t(30) }],
    };
    expect(deriveStatus(message(1), member)).toEqual({ status: 'read', deliveredAt: t(10), readAt: t(30) });
    expect(deriveStatus(message(4), member)).toEqual({ status: 'delivered', deliveredAt: t(20) });
    expect(deriveStatus(message(6), member)).toEqual({ status: 'sent' });
  });

  it('never goes back from what an earlier version stored on the message itself', () => {
    const legacy = message(9, { status: 'read', deliveredAt: t(1), readAt: t(2) });
    expect(deriveStatus(legacy, undefined)).toEqual({ status: 'read', deliveredAt: t(1), readAt: t(2) });
    expect(deriveStatus(legacy, { deliveredSeq: 0, readSeq: 0, delivered: [], read: [] }).status).toBe('read');
  });

  it('treats read as delivered too, with the read time when no delivery was recorded', () => {
    const member = { deliveredSeq: 0, readSeq: 3, delivered: [], read: [{ seq: 3, at: t(5) }] };
    expect(deriveStatus(message(2), member)).toEqual({ status: 'read', deliveredAt: t(5), readAt: t(5) });
  });

  it('keeps only the newest moves, and a message older than all of them reports the oldest kept time', () => {
    let steps = addStep([], 1, t(1));
    for (let i = 2; i <= WATERMARK_STEPS_KEPT + 5; i++) steps = addStep(steps, i, t(i));
    expect(steps).toHaveLength(WATERMARK_STEPS_KEPT);
    expect(timeCovering(steps, 1)).toEqual(t(6));
    expect(timeCovering(steps, WATERMARK_STEPS_KEPT + 5)).toEqual(t(WATERMARK_STEPS_KEPT + 5));
    expect(timeCovering(steps, WATERMARK_STEPS_KEPT + 6)).toBeUndefined();
  });
});
