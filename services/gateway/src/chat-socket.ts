import type { Server, Socket } from 'socket.io';
import type { AuthUser } from '@chat/auth';
import type { ServerListenEvents, ServerToClientEvents } from '@chat/contracts';

export interface SocketData {
  /** Set once the socket authenticated (at the handshake or with `authenticate`). */
  user?: AuthUser;
  /** The client acknowledges each `new_message` (handshake `auth.deliveryAcks`): delivered means acknowledged. */
  deliveryAcks?: boolean;
}

export type ChatServer = Server<ServerListenEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type ChatSocket = Socket<ServerListenEvents, ServerToClientEvents, Record<string, never>, SocketData>;
