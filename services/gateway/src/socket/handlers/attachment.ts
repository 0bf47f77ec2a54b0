import { ChatError, fileUrlOf, type BusNames, type MessageBody, type UserId } from '@chat/contracts';
import type { Bus } from '@chat/bus';

/**
 * An image or file message must reference an upload of its sender's (by `fileId`), checked with the uploads
 * service before anything is queued. What describes the file — its URL, size and type — is then taken from the
 * upload's record, so a client cannot point at another file or mislabel one; the shown `fileName` stays the
 * client's. Other message types pass unchanged.
 */
export async function checkAttachment(
  { bus, names }: { bus: Bus; names: BusNames },
  senderId: UserId,
  body: MessageBody,
): Promise<MessageBody> {
  if (body.messageType !== 'image' && body.messageType !== 'file') return body;
  const { fileId } = body.content;
  if (!fileId)
    throw new ChatError('UPLOAD_NOT_FOUND', 'An image or file message needs the fileId of your upload (POST /api/common/upload)');
  const { upload } = await bus.request(names.uploads.service.getUpload, { fileId });
  if (!upload || upload.ownerId !== senderId) throw new ChatError('UPLOAD_NOT_FOUND', 'No upload of yours has this fileId', { fileId });
  if (body.messageType === 'image' && !upload.mimeType.startsWith('image/')) {
    throw new ChatError('VALIDATION_ERROR', 'An image message must reference an image upload; send it as a file', {
      mimeType: upload.mimeType,
    });
  }
  return { ...body, content: { ...body.content, fileUrl: fileUrlOf(fileId), fileSize: upload.size, mimeType: upload.mimeType } };
}
