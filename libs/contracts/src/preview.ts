import type { MessageBody } from './message.ts';

/*
 * Free of zod (types only), so that a browser bundle may import it: `@chat/contracts/preview`, which libs/client
 * re-exports. The server writes it as the conversation's `lastMessage.text`; a client shows the same line.
 */

/** The line a conversation list shows for its last message (the spec's `content.text || "File"`). */
export function previewText(body: MessageBody): string {
  switch (body.messageType) {
    case 'text':
      return body.content.text;
    case 'image':
      return body.content.text ?? 'Image';
    case 'file':
      return body.content.text ?? body.content.fileName;
    case 'offer':
      return body.content.text ?? `Offer: ${body.content.offerAmount}${body.content.currency ? ` ${body.content.currency}` : ''}`;
  }
}
