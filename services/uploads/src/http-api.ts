import type { FastifyInstance, FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import type { AuthUser, TokenVerifier } from '@chat/auth';
import { answerErrors, authenticateRequest } from '@chat/http-edge';
import {
  ChatError,
  FILE_ROUTE,
  FileParamsSchema,
  UPLOAD_ROUTE,
  UploadContentTypeSchema,
  validationError,
  type UploadedFile,
  type UserId,
} from '@chat/contracts';
import type { Logger } from '@chat/logger';
import type { FilePart } from './handlers/store-upload.ts';
import type { ServedFile } from './handlers/serve-file.ts';

export interface HttpApiDeps {
  verifier: TokenVerifier;
  maxFileSize: number;
  storeUpload: (ownerId: UserId, part: FilePart) => Promise<UploadedFile>;
  serveFile: (userId: UserId, fileId: string) => Promise<ServedFile>;
  onUpload: (outcome: string, bytes: number) => void;
  logger: Logger;
}

/** Multipart errors of @fastify/multipart and busboy, by their code, as the error registry's. */
const MULTIPART_ERRORS: Record<string, ChatError> = {
  FST_REQ_FILE_TOO_LARGE: new ChatError('FILE_TOO_LARGE'),
  FST_INVALID_MULTIPART_CONTENT_TYPE: new ChatError('VALIDATION_ERROR', 'Send multipart/form-data with one file part'),
  FST_FILES_LIMIT: new ChatError('VALIDATION_ERROR', 'Send one file per upload'),
  FST_PARTS_LIMIT: new ChatError('VALIDATION_ERROR', 'Too many parts'),
  FST_FIELDS_LIMIT: new ChatError('VALIDATION_ERROR', 'Too many fields'),
};

/**
 * What busboy throws on a malformed body, by message (it gives its errors no code): the client's fault, a 400.
 * The boundary in the content type is checked before busboy sees it (UploadContentTypeSchema).
 */
const MALFORMED_MULTIPART =
  /^(Unexpected end of (form|multipart data)|Malformed part header|Multipart: Boundary not found|Unsupported content type)/;

/** Whether the client went away before its request was all sent: its own doing, not an error of ours. */
const clientWentAway = (request: FastifyRequest): boolean => !request.raw.complete && (request.raw.destroyed || request.raw.aborted);

/**
 * The service's HTTP API, which the gateway streams to: the same paths and envelopes as the public ones. Every
 * request carries the caller's JWT, checked here again: this service trusts no header and no network.
 */
export async function registerHttpApi(app: FastifyInstance, deps: HttpApiDeps): Promise<void> {
  const { verifier, logger } = deps;
  await app.register(multipart, {
    // busboy cuts a file off at fileSize (and emits `limit`): the size is enforced while streaming.
    limits: { fileSize: deps.maxFileSize, files: 1, fields: 10, fieldSize: 1024, parts: 12, headerPairs: 50 },
  });

  answerErrors(app, {
    logger,
    classify: (error, request) => {
      if (MULTIPART_ERRORS[error.code]) return MULTIPART_ERRORS[error.code];
      if (error instanceof ChatError || (error.statusCode !== undefined && error.statusCode < 500)) return undefined;
      if (clientWentAway(request)) {
        // Nobody is left to answer; worth knowing about (a flaky link, a user who gave up), not an error of ours.
        logger.warn({ url: request.url, reason: error.message }, 'upload aborted by the client');
        return new ChatError('VALIDATION_ERROR', 'The request was aborted');
      }
      if (MALFORMED_MULTIPART.test(error.message ?? ''))
        return new ChatError('VALIDATION_ERROR', `Malformed multipart body: ${error.message}`);
      return undefined;
    },
    // The client may still be sending a body this answer refuses: do not read the rest of it on this connection.
    beforeSend: (request, reply) => {
      if (!request.raw.readableEnded) reply.header('connection', 'close');
    },
  });

  const authenticate = (request: FastifyRequest): Promise<AuthUser> => authenticateRequest(request, verifier);

  app.post(UPLOAD_ROUTE, async (request) => {
    const user = await authenticate(request);
    if (!UploadContentTypeSchema.safeParse(request.headers['content-type'] ?? '').success) {
      throw new ChatError('VALIDATION_ERROR', 'Send multipart/form-data with one file part and a boundary of 1 to 70 characters');
    }
    try {
      // preservePath: see the name as sent, so that a path is refused rather than silently cut to its last part.
      const part = await request.file({ preservePath: true });
      if (!part) throw new ChatError('VALIDATION_ERROR', 'The form has no file part');
      const data = await deps.storeUpload(user.userId, part);
      deps.onUpload('stored', data.fileSize);
      return { status: 200, message: 'File uploaded successfully', data };
    } catch (error) {
      const code = error instanceof ChatError ? error.code : ((error as { code?: string }).code ?? 'error');
      deps.onUpload(code, 0);
      throw error;
    }
  });

  app.get(FILE_ROUTE, async (request, reply) => {
    const user = await authenticate(request);
    const params = FileParamsSchema.safeParse(request.params);
    if (!params.success) throw validationError(params.error, 'file id');
    const { download, headers } = await deps.serveFile(user.userId, params.data.fileId);
    reply.headers(headers);
    if ('redirect' in download) return reply.redirect(download.redirect, 302);
    reply.header('content-length', download.size);
    return reply.send(download.stream);
  });
}
