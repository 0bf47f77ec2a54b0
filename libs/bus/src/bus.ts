import { readFileSync } from 'node:fs';
import {
  connect,
  credsAuthenticator,
  nkeyAuthenticator,
  type Authenticator,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
  type TlsOptions,
} from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type PubAck } from '@nats-io/jetstream';
import { ServiceError } from '@nats-io/services';
import { ChatError, ErrorPayloadSchema, toChatError, type Channel, type Endpoint } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import { decode, decodeReply, encode, InvalidReplyError } from './codec.ts';
import { processSpan, publishSpan } from './messaging-spans.ts';

export interface BusOptions {
  servers: string[];
  /** The connection's name as NATS monitoring shows it, e.g. `gateway`. */
  name: string;
  logger: Logger;
  /** How long the first connect may take before start-up fails. */
  connectTimeoutMs?: number;
  /** Credentials and TLS (`natsAuth(config)` of `@chat/config`); none: an open NATS. */
  auth?: BusAuth | undefined;
}

/** How the connection authenticates: at most one of a .creds file, an NKey seed, a user and password, a token. */
export interface BusAuth {
  /** Path of a .creds file (user JWT + NKey seed). */
  credsFile?: string;
  /** An NKey user seed (`SU…`) or the path of a file holding one. */
  nkeySeed?: string;
  user?: string;
  password?: string;
  token?: string;
  /** TLS with these files (paths); an empty object asks for TLS with the system's CAs. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

const NKEY_USER_SEED = /^SU[A-Z2-7]{56}$/;

function readSecretFile(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read ${what} ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** The client's options for `auth`, and a description of it for error messages (never the secret). */
function connectionAuth(auth: BusAuth): {
  options: { authenticator?: Authenticator; user?: string; pass?: string; token?: string; tls?: TlsOptions };
  method: string;
} {
  if (auth.credsFile)
    return {
      options: { authenticator: credsAuthenticator(readSecretFile(auth.credsFile, 'NATS credentials file')), ...tlsOf(auth) },
      method: `credentials file ${auth.credsFile}`,
    };
  if (auth.nkeySeed) {
    const inline = NKEY_USER_SEED.test(auth.nkeySeed.trim());
    const seed = inline ? new TextEncoder().encode(auth.nkeySeed.trim()) : readSecretFile(auth.nkeySeed, 'NATS NKey seed file');
    const text = new TextDecoder().decode(seed).trim();
    if (!NKEY_USER_SEED.test(text)) throw new Error(`the NATS NKey seed${inline ? '' : ` in ${auth.nkeySeed}`} is not a user seed (SU…)`);
    return { options: { authenticator: nkeyAuthenticator(new TextEncoder().encode(text)), ...tlsOf(auth) }, method: 'NKey seed' };
  }
  if (auth.user) return { options: { user: auth.user, pass: auth.password ?? '', ...tlsOf(auth) }, method: `user ${auth.user}` };
  if (auth.token) return { options: { token: auth.token, ...tlsOf(auth) }, method: 'token' };
  return { options: tlsOf(auth), method: 'no credentials' };
}

const tlsOf = (auth: BusAuth): { tls?: TlsOptions } => (auth.tls ? { tls: { ...auth.tls } } : {});

export interface PublishOptions {
  /** JetStream dedupe id (`Nats-Msg-Id`): a second publish with it inside the window is a no-op. */
  msgId?: string;
}

export interface SubscribeOptions {
  /** Queue group: each message goes to one member. */
  queue?: string;
}

/** How long a JetStream publish waits for its PubAck (see `publishDurable`). */
const PUBLISH_ACK_TIMEOUT_MS = 2000;

/** A publish's headers option: none at all when there are no headers (an empty header block still costs a parse). */
const headersOption = (headers: MsgHdrs | undefined): { headers?: MsgHdrs } => (headers ? { headers } : {});

/**
 * One NATS connection per process: typed, validated publish / subscribe / request, trace context in headers.
 * Reconnects forever once connected; the first connect fails fast so a misconfigured service stops at boot.
 */
export class Bus {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly #logger: Logger;
  #connected = true;
  readonly #reconnectListeners = new Set<() => void>();

  private constructor(nc: NatsConnection, jsm: JetStreamManager, logger: Logger) {
    this.nc = nc;
    this.jsm = jsm;
    this.js = jetstream(nc);
    this.#logger = logger;
  }

  static async connect({ servers, name, logger, connectTimeoutMs = 5000, auth = {} }: BusOptions): Promise<Bus> {
    const { options: authOptions, method } = connectionAuth(auth);
    let nc: NatsConnection;
    try {
      nc = await connect({
        ...authOptions,
        servers,
        name,
        timeout: connectTimeoutMs,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        pingInterval: 10_000,
        // The client otherwise builds an Error (a stack capture) for every request and JetStream publish, to
        // have the caller's stack should it fail: a fifth of the gateway's and the messages service's busy CPU
        // under load (bench profile, docs/benchmarks.md). Errors still come, without that stack.
        noAsyncTraces: true,
      });
    } catch (error) {
      const reason = (error as Error).message;
      // The server answers a missing, wrong or unauthorised identity alike ("Authorization Violation").
      const refused = /authori[sz]ation|authentication|permissions violation/i.test(reason);
      const hint = !refused
        ? ''
        : method === 'no credentials'
          ? ' (it requires credentials: set NATS_CREDS, NATS_NKEY_SEED, NATS_USER and NATS_PASSWORD, or NATS_TOKEN)'
          : ` (it refused this service's ${method})`;
      throw new Error(`cannot connect to NATS at ${servers.join(', ')}: ${reason}${hint}`, { cause: error });
    }
    const log = logger.child({ component: 'bus' });
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect' || status.type === 'reconnect') log.warn({ server: status.server }, `nats ${status.type}`);
        else if (status.type === 'error') log.error({ err: status.error }, 'nats error');
      }
    })();
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(nc, { timeout: connectTimeoutMs });
    } catch (error) {
      await nc.close();
      throw new Error(`NATS at ${servers.join(', ')} has no JetStream: ${(error as Error).message}`, { cause: error });
    }
    log.info({ server: nc.getServer() }, 'connected to NATS');
    const bus = new Bus(nc, jsm, log);
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') bus.#connected = false;
        else if (status.type === 'reconnect') {
          bus.#connected = true;
          for (const listener of bus.#reconnectListeners) listener();
        }
      }
    })();
    return bus;
  }

  /**
   * Calls `listener` each time the connection comes back after a loss. Core NATS publishes made meanwhile did
   * not reach this process (subscriptions resume by themselves, what was missed does not come back).
   */
  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => this.#reconnectListeners.delete(listener);
  }

  /** Whether the connection is up now (it reconnects by itself when it is not). */
  get connected(): boolean {
    return this.#connected && !this.nc.isClosed();
  }

  /** The version of the NATS server this process is connected to (`0.0.0` while unknown). */
  get serverVersion(): string {
    return this.nc.info?.version ?? '0.0.0';
  }

  /** Resolves once the server has seen everything sent so far (e.g. that a new subscription is in place). */
  async flush(): Promise<void> {
    await this.nc.flush();
  }

  /** A consumer's lag: messages not yet delivered plus delivered but unacknowledged; NaN when it cannot be read. */
  async consumerLag(stream: string, consumer: string): Promise<number> {
    return this.jsm.consumers.info(stream, consumer).then(
      (info) => info.num_pending + info.num_ack_pending,
      () => Number.NaN,
    );
  }

  /** Whether a stream still holds the message at this sequence number (a work queue drops it once acked). */
  async storedInStream(stream: string, seq: number): Promise<boolean> {
    return this.jsm.streams.getMessage(stream, { seq }).then(
      (stored) => stored !== null,
      () => false,
    );
  }

  /** Core NATS publish: at most once, to whoever is subscribed now. */
  publish<T>(channel: Channel<T>, payload: T): void {
    this.publishToEach([channel], payload);
  }

  /**
   * Core NATS publish of one payload to several subjects of the same contract (e.g. both participants'
   * deliveries): validated and encoded once.
   */
  publishToEach<T>(channels: ReadonlyArray<Channel<T>>, payload: T): void {
    const [first] = channels;
    if (!first) return;
    const data = encode(first.schema, payload, first.subject);
    for (const channel of channels) {
      publishSpan(channel, data.length, (headers) => this.nc.publish(channel.subject, data, headersOption(headers))).catch(
        (error: unknown) => {
          // At most once by design; a closed or draining connection (shutdown) just drops it.
          this.#logger.warn({ err: error, subject: channel.subject }, 'publish dropped');
        },
      );
    }
  }

  /**
   * JetStream publish: resolves once the stream stored it (or recognised it as a duplicate). Its PubAck is waited
   * for `PUBLISH_ACK_TIMEOUT_MS`, not the client's 5 s: a PubAck takes milliseconds, and one that cannot come (the
   * server went away with the publish in flight) should fail while the server is still away, so that the retry —
   * the client's resend, the partition's batch — goes out as soon as it is back (the chaos run's NATS recovery).
   */
  async publishDurable<T>(channel: Channel<T>, payload: T, options: PublishOptions = {}): Promise<PubAck> {
    const data = encode(channel.schema, payload, channel.subject);
    return publishSpan(channel, data.length, (headers) =>
      this.js.publish(channel.subject, data, {
        ...headersOption(headers),
        timeout: PUBLISH_ACK_TIMEOUT_MS,
        ...(options.msgId === undefined ? {} : { msgID: options.msgId }),
      }),
    );
  }

  /**
   * Subscribes with a validated handler. A payload that fails its schema is logged and dropped; a handler
   * that throws is logged: neither stops the subscription.
   */
  subscribe<T>(channel: Channel<T>, handler: (payload: T, msg: Msg) => void | Promise<void>, options: SubscribeOptions = {}): Subscription {
    return this.nc.subscribe(channel.subject, {
      ...(options.queue === undefined ? {} : { queue: options.queue }),
      callback: (error, msg) => {
        if (error) {
          this.#logger.error({ err: error, subject: channel.subject }, 'subscription failed');
          return;
        }
        let payload: T;
        try {
          payload = decode(channel.schema, msg.data, msg.subject);
        } catch (decodeError) {
          this.#logger.warn({ err: decodeError, subject: msg.subject }, 'dropped an invalid message');
          return;
        }
        processSpan(msg.subject, channel.template, msg.headers, msg.data.length, async () => handler(payload, msg)).catch(
          (handlerError: unknown) => this.#logger.error({ err: handlerError, subject: msg.subject }, 'handler failed'),
        );
      },
    });
  }

  /**
   * Request/reply to a NATS service endpoint: the request checked against the endpoint's request schema, the
   * reply against its reply schema. A service error comes back as the `ChatError` the service threw; no
   * responder or no answer in time is `UNAVAILABLE`; a reply that fails its schema is logged here and thrown as
   * an `INTERNAL_ERROR` (`InvalidReplyError`), never as the caller's `VALIDATION_ERROR`.
   */
  async request<Req, Res>(endpoint: Endpoint<Req, Res>, payload: Req, { timeoutMs = 5000 }: { timeoutMs?: number } = {}): Promise<Res> {
    const data = encode(endpoint.request, payload, endpoint.subject);
    let reply: Msg;
    try {
      reply = await publishSpan(endpoint, data.length, (headers) =>
        this.nc.request(endpoint.subject, data, { timeout: timeoutMs, ...headersOption(headers) }),
      );
    } catch (error) {
      throw new ChatError('UNAVAILABLE', `no answer from ${endpoint.subject}: ${(error as Error).message}`);
    }
    if (ServiceError.isServiceError(reply)) throw chatErrorFromServiceReply(reply);
    try {
      return decodeReply(endpoint.reply, reply.data, endpoint.subject);
    } catch (error) {
      if (error instanceof InvalidReplyError) this.#logger.error(error.logFields(), 'reply failed its schema');
      throw error;
    }
  }

  /** Lets in-flight messages finish, then closes. */
  async drain(): Promise<void> {
    if (this.nc.isClosed()) return;
    await this.nc.drain().catch((error: unknown) => this.#logger.warn({ err: error }, 'nats drain failed'));
  }

  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.close();
  }
}

function chatErrorFromServiceReply(reply: Msg): ChatError {
  try {
    const payload = ErrorPayloadSchema.parse(JSON.parse(new TextDecoder().decode(reply.data)));
    return new ChatError(payload.code, payload.message, payload.details);
  } catch {
    const serviceError = ServiceError.toServiceError(reply);
    return toChatError(new Error(serviceError?.message ?? 'service error'));
  }
}
