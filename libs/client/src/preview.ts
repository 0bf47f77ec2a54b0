import { previewText as contractsPreview } from '@chat/contracts/preview';
import type { MessageBody } from './types.ts';

/**
 * The line a conversation list shows for a message: the server's own `lastMessage.text` (one implementation,
 * in the contracts, free of zod), so that an optimistic row and the refreshed list say the same.
 */
export const previewText = (body: MessageBody): string => contractsPreview(body as Parameters<typeof contractsPreview>[0]);
