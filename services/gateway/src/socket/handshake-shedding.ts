import type { IncomingMessage } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';

type AllowRequest = (request: IncomingMessage, callback: (error: string | null | undefined, success: boolean) => void) => void;

export interface HandshakeSheddingOptions {
  /** New sessions are refused while the event loop's delay over the last sample exceeded this. */
  maxDelayMs: number;
  /** How often the delay is read (and its histogram reset). */
  sampleMs?: number;
  /** How long new sessions stay refused after a sample found the loop behind. */
  holdMs?: number;
  onRefused?: () => void;
}

/**
 * Refuses new Socket.IO sessions while this gateway's event loop is behind, before any of a connection's work (the
 * WebSocket upgrade, the JWT check, the subscription, the presence report, the first catch-up) is done; the client
 * retries after its backoff, to this gateway or another. Sessions already open (long-polling requests, the upgrade
 * to WebSocket), their events and the REST API are not affected.
 *
 * Why: in a reconnect storm (a gateway gone, its users all coming back to the others at once) a gateway accepted
 * every connection and then got through them one after another; the later ones waited past the headers timeout
 * and were answered HTTP 408 after costing their share anyway, or authenticated after their client had given up
 * (docs/benchmarks.md, issue 16). The event loop's delay is the measure because it is what those clients wait
 * for, and no client can hold it up by opening connections that do nothing (a cap on handshakes in progress could
 * be filled that way).
 */
export class HandshakeShedding {
  readonly #histogram: ReturnType<typeof monitorEventLoopDelay> = monitorEventLoopDelay({ resolution: 20 });
  readonly #maxDelayNs: number;
  readonly #sampleMs: number;
  readonly #holdMs: number;
  readonly #onRefused: () => void;
  #behindUntil = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor({ maxDelayMs, sampleMs = 250, holdMs = 1000, onRefused = () => {} }: HandshakeSheddingOptions) {
    this.#maxDelayNs = maxDelayMs * 1e6;
    this.#sampleMs = sampleMs;
    this.#holdMs = holdMs;
    this.#onRefused = onRefused;
  }

  /** Whether new sessions are being refused now. */
  get behind(): boolean {
    return performance.now() < this.#behindUntil;
  }

  start(): void {
    this.#histogram.enable();
    let due = performance.now() + this.#sampleMs;
    this.#timer = setInterval(() => {
      // This timer's own lateness counts too: the histogram's sample of a long block may land after this read.
      const now = performance.now();
      const lateMs = now - due;
      due = now + this.#sampleMs;
      if (this.#histogram.max > this.#maxDelayNs || lateMs > this.#maxDelayNs / 1e6) this.#behindUntil = now + this.#holdMs;
      this.#histogram.reset();
    }, this.#sampleMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#histogram.disable();
  }

  /** Engine.IO's `allowRequest` (it is asked for new sessions only), in front of `next` when there is one. */
  allowRequest(next?: AllowRequest): AllowRequest {
    return (request, callback) => {
      if (this.behind) {
        this.#onRefused();
        callback('gateway busy; retry shortly', false);
        return;
      }
      if (next) next(request, callback);
      else callback(null, true);
    };
  }
}
