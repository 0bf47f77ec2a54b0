import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { UserId } from '@chat/contracts';
import { connectClient, signToken, waitFor } from '@chat/testing';
import { startTestGateway, useSystem } from '../support/system.ts';

/**
 * A gateway's stop fits its budget (SHUTDOWN_TIMEOUT_MS) whatever its clients do: here one that completed the
 * Socket.IO handshake and then stopped reading (a suspended phone) while the gateway had megabytes to send it.
 * A websocket close waits for the peer's close frame for 30 s; without bounds the stop took 31.4 s.
 */
const system = useSystem({ messages: false });
const BUDGET_MS = 6000;

/** A websocket that speaks just enough Engine.IO / Socket.IO to connect and authenticate, then freezes. */
async function frozenClient(url: string, token: string): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
  const connected = new Promise<void>((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (data) => {
      const packet = data.toString();
      if (packet.startsWith('0'))
        ws.send(`40${JSON.stringify({ token })}`); // Engine.IO open → Socket.IO connect
      else if (packet.startsWith('40')) resolve();
      else if (packet.startsWith('44')) reject(new Error(`connect refused: ${packet}`));
    });
  });
  await connected;
  // From now on nothing is read: the kernel's buffers fill, then the server's writes back up.
  (ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
  return ws;
}

describe('a gateway stopping with a client that stopped reading', () => {
  it('stops within SHUTDOWN_TIMEOUT_MS, its other clients told to reconnect', { timeout: 60_000 }, async () => {
    const gateway = await startTestGateway(system.ctx, { SHUTDOWN_TIMEOUT_MS: String(BUDGET_MS) });
    const frozen = await frozenClient(gateway.url, await signToken({ userId: 'frozen' as UserId }));
    const healthy = system.track(await connectClient(gateway.url, { token: await signToken({ userId: 'healthy' as UserId }) }));
    try {
      // A lot to send to the frozen client: far more than loopback socket buffers hold.
      const [target] = [...gateway.io.sockets.sockets.values()].filter((socket) => socket.data.user?.userId === 'frozen');
      expect(target).toBeDefined();
      const chunk = 'x'.repeat(1024 * 1024);
      for (let i = 0; i < 48; i += 1) target!.emit('error', { code: 'INTERNAL_ERROR', message: chunk });
      const wire = (target!.conn.transport as unknown as { socket: { _socket: import('node:net').Socket } }).socket._socket;
      await waitFor(() => wire.writableLength > 0);

      const disconnected = new Promise<string>((resolve) => healthy.once('disconnect', resolve));
      const outcome = await Promise.race([
        gateway.stop().then(() => 'stopped'),
        new Promise((resolve) => setTimeout(() => resolve('still stopping at the budget'), BUDGET_MS)),
      ]);
      expect(outcome).toBe('stopped');
      // The healthy client's transport was closed (it reconnects by itself), not a final disconnect.
      expect(await disconnected).toBe('transport close');
      expect(wire.destroyed).toBe(true);
    } finally {
      frozen.terminate();
    }
  });
});
