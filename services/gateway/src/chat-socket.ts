import type { Server, Socket } from 'socket.io';
import type { AuthUser } from '@chat/auth';
import type { ServerListenEvents, ServerToClientEvents, UserId } from '@chat/contracts';

export interface SocketData {
  /** Set once the socket authenticated (at the handshake or with `authenticate`). */
  user?: AuthUser;
  /** The client acknowledges each `new_message` (handshake `auth.deliveryAcks`): delivered means acknowledged. */
  deliveryAcks?: boolean;
  /** When the token expires (ms since the epoch), while the gateway's expiry timer holds the socket. */
  expiresAt?: number | undefined;
  /** The user whose deliveries this socket holds a subscription for, once it is confirmed. */
  subscribedAs?: UserId | undefined;
}

export type ChatServer = Server<ServerListenEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type ChatSocket = Socket<ServerListenEvents, ServerToClientEvents, Record<string, never>, SocketData>;
