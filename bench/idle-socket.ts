/**
 * A Socket.IO client for idle load: a `ws` WebSocket speaking Engine.IO v4 and the Socket.IO protocol through
 * their own parsers (`engine.io-parser`, `socket.io-parser`), and nothing else — no Manager, no reconnection
 * state, no per-socket timers. It connects with `auth`, waits for `authenticated`, answers the server's pings
 * and says when it is gone. socket.io-client costs the load generator more CPU per connect than the gateway
 * spends accepting it (docs/benchmarks.md, issue 16), which made the generator, not the gateway, the limit of the
 * connection-rate and reconnect-storm figures; this one is what holding thousands of idle users needs.
 * The chatting pairs keep socket.io-client: theirs is the official client's behaviour, timed.
 */
import { decodePacket } from 'engine.io-parser';
import { Decoder, Encoder, PacketType, type Packet } from 'socket.io-parser';
import { WebSocket } from 'ws';

const encoder = new Encoder();

type IdleSocketState = 'connecting' | 'ready' | 'closed';

export class IdleSocket {
  #ws: WebSocket | undefined;
  #state: IdleSocketState = 'connecting';
  #onClose: ((reason: string) => void) | undefined;
  #onServerError: (() => void) | undefined;

  readonly url: string;
  readonly token: string;

  constructor(url: string, token: string) {
    this.url = url;
    this.token = token;
  }

  /**
   * Opens the connection; resolves once the server said `authenticated` (or `connect` when `readyOn` is
   * 'connect': the baseline has no such event), rejects with the reason it did not.
   */
  connect(readyOn: 'authenticated' | 'connect', timeoutMs = 30_000): Promise<void> {
    const endpoint = new URL(this.url);
    endpoint.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';
    endpoint.pathname = '/socket.io/';
    endpoint.search = '?EIO=4&transport=websocket';
    const ws = new WebSocket(endpoint, { perMessageDeflate: false });
    this.#ws = ws;
    const decoder = new Decoder();
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) {
          this.#state = 'closed';
          ws.terminate();
          reject(error);
        } else {
          this.#state = 'ready';
          resolve();
        }
      };
      const timer = setTimeout(() => settle(new Error(`no connection within ${timeoutMs / 1000} s`)), timeoutMs);
      decoder.on('decoded', (packet: Packet) => {
        if (packet.type === PacketType.CONNECT && readyOn === 'connect') settle();
        else if (packet.type === PacketType.CONNECT_ERROR) settle(new Error(String(packet.data?.message ?? 'connect_error')));
        else if (packet.type === PacketType.EVENT && packet.data?.[0] === 'authenticated') settle();
        else if (packet.type === PacketType.EVENT && packet.data?.[0] === 'error') this.#onServerError?.();
        else if (packet.type === PacketType.DISCONNECT) ws.close();
      });
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const packet = decodePacket(data.toString());
        if (packet.type === 'open') this.#send(encoder.encode({ type: PacketType.CONNECT, nsp: '/', data: { token: this.token } }));
        else if (packet.type === 'ping') ws.send('3');
        else if (packet.type === 'message' && typeof packet.data === 'string') {
          try {
            decoder.add(packet.data);
          } catch (error) {
            settle(error as Error);
          }
        } else if (packet.type === 'close') ws.close();
      });
      ws.on('error', (error: Error) => settle(new Error(`websocket error: ${(error as NodeJS.ErrnoException).code ?? error.message}`)));
      ws.on('unexpected-response', (_request, response) => settle(new Error(`websocket error: HTTP ${response.statusCode}`)));
      ws.on('close', () => {
        decoder.destroy();
        settle(new Error('websocket closed before it was ready'));
        const wasReady = this.#state === 'ready';
        this.#state = 'closed';
        if (wasReady) this.#onClose?.('transport close');
      });
    });
  }

  /** Called once when a connection that was ready drops (not after `disconnect()`). */
  onClose(listener: (reason: string) => void): void {
    this.#onClose = listener;
  }

  /** Called for every `error` event the server emits to this socket. */
  onServerError(listener: () => void): void {
    this.#onServerError = listener;
  }

  /** Closes it as a client that leaves does: a Socket.IO disconnect, then the WebSocket. */
  disconnect(): void {
    this.#onClose = undefined;
    if (this.#state === 'ready') this.#send(encoder.encode({ type: PacketType.DISCONNECT, nsp: '/' }));
    this.#state = 'closed';
    this.#ws?.close();
  }

  #send(encoded: unknown[]): void {
    // Engine.IO v4 over WebSocket: a message packet is '4' followed by the Socket.IO packet.
    for (const part of encoded) if (typeof part === 'string') this.#ws?.send(`4${part}`);
  }
}
