import type { ConversationCommand } from '@chat/contracts';

type Handler<T extends ConversationCommand['type']> = (command: Extract<ConversationCommand, { type: T }>) => Promise<void>;

/** Routes a conversation command to its handler; they share a partition, so they apply in order. */
export function conversationCommandHandler(handlers: { send: Handler<'send'>; delivered: Handler<'delivered'>; read: Handler<'read'> }) {
  return (command: ConversationCommand): Promise<void> => {
    switch (command.type) {
      case 'send':
        return handlers.send(command);
      case 'delivered':
        return handlers.delivered(command);
      case 'read':
        return handlers.read(command);
    }
  };
}
