import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import { toChatError, type Endpoint } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import type { Bus } from './bus.ts';
import { decode, encodeReply, InvalidReplyError } from './codec.ts';
import { processSpan } from './messaging-spans.ts';

export interface ServiceOptions {
  /** The service's name in NATS' service discovery: the `service` of every endpoint it serves. */
  name: string;
  version: string;
  description?: string;
  logger: Logger;
  /** Counts every answer of every endpoint (e.g. `requestCounter(registry)` from `@chat/telemetry`). */
  countAnswer: (endpoint: string, outcome: 'ok' | 'error') => void;
}

/** A NATS micro service that serves the endpoints of its contract. */
export interface ChatService {
  /** Serves one endpoint of this service's contract: requests and replies are checked against its schemas. */
  serve<Req, Res>(endpoint: Endpoint<Req, Res>, handler: (request: Req) => Promise<Res>): void;
  /** Stops answering (other replicas go on). */
  stop(): Promise<void>;
}

/** A NATS micro service; its endpoints share one queue group, so replicas split the requests. */
export async function createService(bus: Bus, options: ServiceOptions): Promise<ChatService> {
  const { name, version, description, logger, countAnswer } = options;
  const service = await new Svcm(bus.nc).add({ name, version, ...(description === undefined ? {} : { description }) });
  return {
    serve(endpoint, handler) {
      if (endpoint.service !== name) throw new Error(`the ${name} service cannot serve ${endpoint.service}'s endpoint ${endpoint.name}`);
      addEndpoint(service, endpoint, handler, logger, countAnswer);
    },
    stop: () => service.stop().then(() => undefined),
  };
}

/**
 * decode → validate → call → respond → count, in one place: a `ChatError` becomes a service error carrying its
 * payload (rebuilt by `Bus.request`), anything else an `INTERNAL_ERROR` that is logged, not leaked. A request
 * its schema refuses is the caller's `VALIDATION_ERROR`; a reply its schema refuses is this service's fault: an
 * `INTERNAL_ERROR`, its issues in the error log only.
 */
function addEndpoint<Req, Res>(
  service: Service,
  endpoint: Endpoint<Req, Res>,
  handler: (request: Req) => Promise<Res>,
  logger: Logger,
  countAnswer: ServiceOptions['countAnswer'],
): void {
  service.addEndpoint(endpoint.name, {
    subject: endpoint.subject,
    handler: (error, msg) => {
      if (error) {
        logger.error({ err: error, endpoint: endpoint.name }, 'endpoint failed');
        return;
      }
      void processSpan(msg.subject, endpoint.template, msg.headers, msg.data.length, () => respond(msg));
    },
  });

  async function respond(msg: ServiceMsg): Promise<void> {
    try {
      const request = decode(endpoint.request, msg.data, msg.subject);
      const result = await handler(request);
      msg.respond(encodeReply(endpoint.reply, result, msg.subject));
      countAnswer(endpoint.name, 'ok');
    } catch (error) {
      countAnswer(endpoint.name, 'error');
      const chatError = toChatError(error);
      if (error instanceof InvalidReplyError) logger.error({ endpoint: endpoint.name, ...error.logFields() }, 'reply failed its schema');
      else if (chatError.code === 'INTERNAL_ERROR') logger.error({ err: error, endpoint: endpoint.name }, 'endpoint handler failed');
      msg.respondError(chatError.status, chatError.message, new TextEncoder().encode(JSON.stringify(chatError.toPayload())));
    }
  }
}
