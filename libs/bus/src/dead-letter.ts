import { headers as natsHeaders } from '@nats-io/transport-node';
import type { JsMsg } from '@nats-io/jetstream';
import type { Bus } from './bus.ts';

/**
 * Copies a JetStream message into the dead-letter stream (for an operator to inspect or replay), with why and
 * where it came from in its headers, then terminates the original. False when the copy could not be stored: the
 * original is then left to come back (never dropped unseen).
 */
export async function parkInDeadLetter(bus: Bus, msg: JsMsg, subject: string, reason: string, retryInMs: number): Promise<boolean> {
  const hdrs = natsHeaders();
  hdrs.set('Chat-Dead-Letter-Reason', reason.slice(0, 1000));
  hdrs.set('Chat-Original-Subject', msg.subject);
  hdrs.set('Chat-Original-Sequence', String(msg.seq));
  hdrs.set('Chat-Deliveries', String(msg.info.deliveryCount));
  try {
    await bus.js.publish(subject, msg.data, { headers: hdrs });
  } catch {
    msg.nak(retryInMs);
    return false;
  }
  msg.term(reason.slice(0, 200));
  return true;
}
