import { z } from 'zod';
import { channel, endpointsOf, type Namespace } from './channel.ts';
import { IsoDateSchema, tokenIdSchema, UserIdSchema, type UserId } from './ids.ts';

/**
 * Presence: which users have a live connection, and typing. Gateways report connections to the presence
 * service (request/reply, batched), heartbeat so that the connections of a gateway that died are expired,
 * and listen to the status changes of only the users their sockets watch.
 */

/** How often a gateway heartbeats by default; the presence service expires a gateway silent for its TTL. */
export const DEFAULT_PRESENCE_HEARTBEAT_MS = 5_000;
/** A gateway silent this long has its connections expired (must be well above the heartbeat interval). */
export const DEFAULT_PRESENCE_GATEWAY_TTL_MS = 15_000;
/** Typing: at most one forwarded `user_typing` per user per conversation per this interval. */
export const TYPING_THROTTLE_MS = 2_000;
/** Typing: an automatic `isTyping: false` after this long without a new `typing_start`. */
export const TYPING_IDLE_MS = 5_000;
/** The most users one `status` request may ask about (the conversation list asks for a page of them). */
export const MAX_STATUS_USERS = 500;

/**
 * A gateway's id for one epoch of its connections. A gateway that lost reports (presence or Redis was down)
 * re-registers every live connection under a new epoch; the old epoch then expires like a dead gateway,
 * taking with it the connections that ended meanwhile. Letters, digits, `-` and `.`; `<instance>.<epoch>` with a
 * decimal epoch tells presence which of two reports of one instance is the newer (a late report of an old epoch
 * never takes a connection back from a newer one).
 */
export const GatewayIdSchema = z.string().regex(/^[A-Za-z0-9.-]{1,100}$/, 'gateway ids are 1-100 letters, digits, "." or "-"');

/** One socket of a user on a gateway. Socket.IO ids are 20 characters of base64url. */
export const ConnectionSchema = z.object({
  connectionId: tokenIdSchema('connectionId'),
  userId: UserIdSchema,
});
export type Connection = z.infer<typeof ConnectionSchema>;

/**
 * gateway → presence (request/reply): connections that started and ended since the last report, in the
 * order they happened (each gateway has one report in flight at a time).
 */
export const PresenceReportSchema = z.object({
  gatewayId: GatewayIdSchema,
  connected: z.array(ConnectionSchema).max(1000),
  disconnected: z.array(ConnectionSchema).max(1000),
});
export type PresenceReport = z.infer<typeof PresenceReportSchema>;
export const PresenceReportResponseSchema = z.object({});
export type PresenceReportResponse = z.infer<typeof PresenceReportResponseSchema>;

/** gateway → presence (request/reply): still alive. */
export const PresenceHeartbeatSchema = z.object({ gatewayId: GatewayIdSchema });
export type PresenceHeartbeat = z.infer<typeof PresenceHeartbeatSchema>;
/** `known: false`: presence has no record of this gateway (its data was lost or expired): re-register all. */
export const PresenceHeartbeatResponseSchema = z.object({ known: z.boolean() });
export type PresenceHeartbeatResponse = z.infer<typeof PresenceHeartbeatResponseSchema>;

/**
 * A user's presence. `lastSeen`: when a connection of theirs last started or ended (null: never seen).
 * `version` grows with every online/offline flip, so a listener can drop a status older than one it has.
 */
export const UserPresenceSchema = z.object({
  userId: UserIdSchema,
  isOnline: z.boolean(),
  lastSeen: IsoDateSchema.nullable(),
  version: z.number().int().min(0),
});
export type UserPresence = z.infer<typeof UserPresenceSchema>;

/**
 * anyone → presence (request/reply): the status of one or many users, in the order asked. The REST
 * conversation list fills `otherUser.isOnline` from it. Answers `PRESENCE_UNAVAILABLE` while Redis is down.
 */
export const PresenceStatusRequestSchema = z.object({ userIds: z.array(UserIdSchema).min(1).max(MAX_STATUS_USERS) });
export type PresenceStatusRequest = z.infer<typeof PresenceStatusRequestSchema>;
export const PresenceStatusResponseSchema = z.object({ statuses: z.array(UserPresenceSchema) });
export type PresenceStatusResponse = z.infer<typeof PresenceStatusResponseSchema>;

/**
 * Presence subjects of a namespace (reached through `busNames(ns).presence`). Status changes travel on core
 * NATS, one subject per user: only gateways with a socket watching that user subscribe, so a change reaches
 * only the gateways that need it. They are never under `<ns>.evt.>`, so never stored.
 */
export function presenceNames(ns: Namespace) {
  const endpoint = endpointsOf(ns, 'presence');
  return {
    service: {
      name: 'presence',
      report: endpoint('report', PresenceReportSchema, PresenceReportResponseSchema, {
        summary: "Connections that started and ended since a gateway's last report",
        callers: ['gateway'],
      }),
      heartbeat: endpoint('heartbeat', PresenceHeartbeatSchema, PresenceHeartbeatResponseSchema, {
        summary: 'A gateway is still alive',
        callers: ['gateway'],
      }),
      status: endpoint('status', PresenceStatusRequestSchema, PresenceStatusResponseSchema, {
        summary: 'The status of many users',
        callers: ['gateway'],
      }),
    },
    /** presence → gateways: a user went online or offline. */
    statusChanged: (userId: UserId) => channel(`${ns}.presence.status.${userId}`, UserPresenceSchema, 'presence.status'),
  } as const;
}
export type PresenceNames = ReturnType<typeof presenceNames>;
