import type { JsMsg } from '@nats-io/jetstream';
import type { ConversationCommand } from '@chat/contracts';

/** How the command arrived: a redelivery may be the second attempt at work a crash interrupted. */
export interface Delivery {
  redelivered: boolean;
}

type Handler<T extends ConversationCommand['type']> = (command: Extract<ConversationCommand, { type: T }>, delivery: Delivery) => Promise<void>;

/** Routes a conversation command to its handler; they share a partition, so they apply in order. */
export function conversationCommandHandler(handlers: { send: Handler<'send'>; delivered: Handler<'delivered'>; read: Handler<'read'> }) {
  return (command: ConversationCommand, msg?: JsMsg): Promise<void> => {
    const delivery = { redelivered: msg ? msg.redelivered : true };
    switch (command.type) {
      case 'send':
        return handlers.send(command, delivery);
      case 'delivered':
        return handlers.delivered(command, delivery);
      case 'read':
        return handlers.read(command, delivery);
    }
  };
}
