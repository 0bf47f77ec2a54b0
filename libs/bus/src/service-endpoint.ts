import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import { toChatError, type Channel } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import type { z } from 'zod';
import type { Bus } from './bus.ts';
import { decode, encodeReply, InvalidReplyError } from './codec.ts';
import { processSpan } from './messaging-spans.ts';

export interface ServiceOptions {
  name: string;
  version: string;
  description?: string;
}

/** A NATS micro service; its endpoints share one queue group, so replicas split the requests. */
export async function createService(bus: Bus, { name, version, description }: ServiceOptions): Promise<Service> {
  return new Svcm(bus.nc).add({ name, version, ...(description === undefined ? {} : { description }) });
}

export interface EndpointOptions<Req, Res> {
  /** The endpoint's name in the service's info and stats. */
  name: string;
  channel: Channel<Req>;
  reply: z.ZodType<Res>;
  handler: (request: Req) => Promise<Res>;
  logger: Logger;
}

/**
 * decode → validate → call → respond, in one place: a `ChatError` becomes a service error carrying its
 * payload (rebuilt by `Bus.request`), anything else an `INTERNAL_ERROR` that is logged, not leaked. A request
 * its schema refuses is the caller's `VALIDATION_ERROR`; a reply its schema refuses is this service's fault: an
 * `INTERNAL_ERROR`, its issues in the error log only.
 */
export function addEndpoint<Req, Res>(service: Service, options: EndpointOptions<Req, Res>): void {
  const { name, channel, reply, handler, logger } = options;
  service.addEndpoint(name, {
    subject: channel.subject,
    handler: (error, msg) => {
      if (error) {
        logger.error({ err: error, endpoint: name }, 'endpoint failed');
        return;
      }
      void processSpan(msg.subject, channel.name, msg.headers, msg.data.length, () => respond(msg));
    },
  });

  async function respond(msg: ServiceMsg): Promise<void> {
    try {
      const request = decode(channel.schema, msg.data, msg.subject);
      const result = await handler(request);
      msg.respond(encodeReply(reply, result, msg.subject));
    } catch (error) {
      const chatError = toChatError(error);
      if (error instanceof InvalidReplyError) logger.error({ endpoint: name, ...error.logFields() }, 'reply failed its schema');
      else if (chatError.code === 'INTERNAL_ERROR') logger.error({ err: error, endpoint: name }, 'endpoint handler failed');
      msg.respondError(chatError.status, chatError.message, new TextEncoder().encode(JSON.stringify(chatError.toPayload())));
    }
  }
}
