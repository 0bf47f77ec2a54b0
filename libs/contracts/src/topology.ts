import { busNames } from './bus.ts';
import type { Channel, Endpoint, Namespace } from './channel.ts';
import type { ConversationId, UserId } from './ids.ts';
import type { FileId } from './uploads.ts';

/**
 * Who publishes and who consumes every subject, and every service endpoint: the one map the AsyncAPI document
 * and the services' READMEs are generated from. Subjects are built by `busNames` from placeholder tokens
 * (`{conversationId}`, `{userId}`, …), so they read as patterns.
 */
export interface TopologyChannel {
  key: string;
  channel: Pick<Channel<unknown>, 'subject' | 'schema' | 'template'>;
  /** Services (or outside parties) that publish on it. */
  from: readonly string[];
  /** Services (or outside parties) that consume it. */
  to: readonly string[];
  summary: string;
  /** The JetStream stream that stores it; none for core NATS. */
  stream?: string;
}

/** The services of the system, as named in `from`, `to` and endpoints' `callers`. */
export const SERVICES = ['gateway', 'messages', 'presence', 'uploads'] as const;
export type ServiceName = (typeof SERVICES)[number];

export function busTopology(ns: Namespace = '{ns}' as Namespace): {
  channels: TopologyChannel[];
  endpoints: Array<Endpoint<unknown, unknown>>;
} {
  const names = busNames(ns);
  const conversationId = '{conversationId}' as ConversationId;
  const userId = '{userId}' as UserId;
  const partition = '{partition}' as unknown as number;
  const command = names.conversationCommand(partition, conversationId, '{type}' as 'send');
  const { streams } = names;
  const channels: TopologyChannel[] = [
    {
      key: 'conversationCommand',
      channel: command,
      from: ['gateway'],
      to: ['messages'],
      stream: streams.commands.name,
      summary: 'Send, delivered and read commands of a conversation, consumed in order per partition',
    },
    {
      key: 'deadLetter',
      channel: { ...command, subject: names.deadLetter(command.subject), template: `dlq.${command.template}` },
      from: ['messages'],
      to: ['operator'],
      stream: streams.deadLetter.name,
      summary: 'A command set aside after repeated failures',
    },
    {
      key: 'messageCreated',
      channel: names.messageCreated(conversationId),
      from: ['messages'],
      to: ['anyone'],
      stream: streams.events.name,
      summary: 'A message was stored',
    },
    {
      key: 'userUpdated',
      channel: names.userUpdated(userId),
      from: ['gateway', 'the surrounding app'],
      to: ['messages'],
      stream: streams.events.name,
      summary: "A user's name or avatar changed (may also be published on core NATS)",
    },
    {
      key: 'uploadStored',
      channel: names.uploads.uploadStored('{fileId}' as FileId),
      from: ['uploads'],
      to: ['anyone'],
      stream: streams.events.name,
      summary: 'An upload was stored',
    },
    {
      key: 'userDelivery',
      channel: names.userDelivery(userId),
      from: ['messages', 'gateway'],
      to: ['gateway'],
      summary: "Anything for one user's sockets, on whichever gateways hold them (core NATS)",
    },
    {
      key: 'presenceStatusChanged',
      channel: names.presence.statusChanged(userId),
      from: ['presence'],
      to: ['gateway'],
      summary: 'A user went online or offline (core NATS)',
    },
  ];
  const endpoints = [names.messagesService, names.uploads.service, names.presence.service].flatMap((service) =>
    Object.values(service).filter(
      (member): member is Endpoint<unknown, unknown> => typeof member === 'object' && member !== null && 'reply' in member,
    ),
  );
  return { channels, endpoints };
}

/** An endpoint's key in the AsyncAPI document: `findByClientId`, `presenceReport`, `uploadsGet`. */
export function endpointKey(endpoint: Endpoint<unknown, unknown>): string {
  const camel = (text: string) => text.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
  return endpoint.service === 'messages' ? camel(endpoint.name) : camel(`${endpoint.service}-${endpoint.name}`);
}
