import type { onRequestHookHandler } from 'fastify';
import { ChatError, errorEnvelope } from '@chat/contracts';

/**
 * An `onRequest` hook that gives a request `ms` to arrive whole (its body read): one that has not is answered
 * 408 if nothing was answered yet, and its connection is closed either way. The server-wide request timeout is
 * the uploads' (much longer); this holds the other routes to theirs.
 */
export function requestDeadline(ms: number): onRequestHookHandler {
  return (request, reply, done) => {
    const raw = request.raw;
    if (raw.complete) return done();
    const timer = setTimeout(() => {
      if (raw.complete) return;
      const socket = raw.socket;
      if (reply.raw.headersSent) {
        socket.destroy();
        return;
      }
      const body = JSON.stringify(errorEnvelope(new ChatError('REQUEST_TIMEOUT')));
      reply.raw.writeHead(408, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        connection: 'close',
      });
      reply.raw.end(body, () => socket.destroy());
    }, ms);
    timer.unref();
    const clear = () => clearTimeout(timer);
    raw.once('end', clear);
    raw.once('close', clear);
    done();
  };
}
