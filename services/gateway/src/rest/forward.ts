import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { context, propagation } from '@opentelemetry/api';
import { ChatError } from '@chat/contracts';

const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/**
 * Sends a request to an internal HTTP service, streaming `body` (piped: back-pressure, never buffered) and
 * resolving with the response as soon as its headers arrive, which may be before the body is sent (a service
 * that refuses an upload halfway answers at once). The client going away mid-body aborts the upstream request,
 * so the service sees an aborted upload rather than a short one. The trace context goes along in the headers
 * (set here, since an ES module's `node:http` import is not one the http instrumentation can patch).
 */
export function forward(
  target: URL,
  { method, headers, body }: { method: string; headers: OutgoingHttpHeaders; body?: Readable },
): Promise<IncomingMessage> {
  const traced: OutgoingHttpHeaders = { ...headers };
  propagation.inject(context.active(), traced);
  return new Promise((resolve, reject) => {
    const https = target.protocol === 'https:';
    const upstream = (https ? httpsRequest : httpRequest)(
      target,
      { method, headers: traced, agent: https ? agents.https : agents.http },
      resolve,
    );
    upstream.on('error', (error) => {
      body?.unpipe(upstream);
      reject(new ChatError('UNAVAILABLE', `The uploads service did not answer: ${error.message}`));
    });
    if (!body) {
      upstream.end();
      return;
    }
    body.on('close', () => {
      if (!body.readableEnded) upstream.destroy(new Error('the client went away mid-request'));
    });
    body.pipe(upstream);
  });
}

/** What of an upstream answer reaches the client: its status, body and these headers (no hop-by-hop ones). */
const RELAYED_HEADERS = [
  'content-type',
  'content-length',
  'content-disposition',
  'content-security-policy',
  'x-content-type-options',
  'cache-control',
  'location',
  'etag',
  'last-modified',
] as const;

export function relay(reply: FastifyReply, upstream: IncomingMessage): FastifyReply {
  reply.code(upstream.statusCode ?? 502);
  for (const name of RELAYED_HEADERS) {
    const value = upstream.headers[name];
    if (value !== undefined) reply.header(name, value);
  }
  return reply.send(upstream);
}
