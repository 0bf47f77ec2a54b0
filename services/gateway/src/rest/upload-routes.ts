import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  ErrorEnvelopeSchema,
  ChatError,
  FILE_ROUTE,
  FileParamsSchema,
  fileUrlOf,
  UPLOAD_ROUTE,
  UploadContentTypeSchema,
  UploadedFileEnvelopeSchema,
} from '@chat/contracts';
import type { TokenVerifier } from '@chat/auth';
import { authenticateFirst } from './authenticate.ts';
import { forward, relay } from './forward.ts';
import { documented } from './openapi.ts';

export interface UploadRoutesDeps {
  verifier: TokenVerifier;
  /** The uploads service's base URL (UPLOADS_URL). */
  uploadsUrl: string;
}

/**
 * What the OpenAPI document says of the bodies these routes leave to the uploads service: documentation only
 * (a validating schema would make Fastify read the body the gateway streams through).
 */
const uploadDocs = documented({
  body: {
    type: 'object',
    properties: { file: { type: 'string', format: 'binary', description: 'The file: one part, with a filename' } },
    required: ['file'],
  },
});
const downloadDocs = documented({
  response: {
    200: {
      description: 'The file (disk storage), with its own Content-Type where known',
      content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
    },
    302: {
      description: 'A short-lived presigned URL of the file (S3 storage)',
      type: 'null',
      headers: { location: { type: 'string', format: 'uri', description: 'The presigned URL' } },
    },
  },
});

const errors = {
  400: ErrorEnvelopeSchema,
  401: ErrorEnvelopeSchema,
  413: ErrorEnvelopeSchema,
  415: ErrorEnvelopeSchema,
  503: ErrorEnvelopeSchema,
};

/**
 * Uploads and downloads, streamed to and from the uploads service: the gateway checks the token first (an
 * anonymous body is never forwarded), then pipes the request through and the answer back, holding at most a
 * few socket buffers of a file. The uploads service checks the token again and answers in the same envelope.
 */
export function uploadRoutes({ verifier, uploadsUrl }: UploadRoutesDeps): FastifyPluginAsyncZod {
  return async (app) => {
    // The body is the uploads service's to read: leave multipart streams unparsed here (this plugin only).
    app.addContentTypeParser('multipart/form-data', (_request, _payload, done) => done(null));
    // The token is checked as soon as the headers are in, before a byte of the body is read or forwarded.
    app.addHook('onRequest', authenticateFirst(verifier));
    // An answer given before the whole body was read (401, 413, ...) closes the connection instead of
    // reading the rest of a file that is refused anyway.
    app.addHook('onSend', async (request, reply) => {
      if (!request.raw.readableEnded && request.method === 'POST') reply.header('connection', 'close');
    });

    app.post(
      UPLOAD_ROUTE,
      {
        config: { swaggerTransform: uploadDocs },
        schema: {
          operationId: 'uploadFile',
          summary: 'Upload a file for a chat message (multipart/form-data, one file part)',
          description:
            'The type is detected from the bytes and must be one of ALLOWED_FILE_TYPES (415 otherwise); files over MAX_FILE_SIZE are refused with 413. Put data.fileId and data.fileUrl in an image or file message.',
          tags: ['uploads'],
          security: [{ bearer: [] }],
          consumes: ['multipart/form-data'],
          response: { 200: UploadedFileEnvelopeSchema, ...errors },
        },
      },
      async (request, reply) => {
        const contentType = request.headers['content-type'];
        // The uploads service checks it too; a malformed one is not worth forwarding.
        if (!contentType || !UploadContentTypeSchema.safeParse(contentType).success) {
          throw new ChatError('VALIDATION_ERROR', 'Send multipart/form-data with one file part and a boundary of 1 to 70 characters');
        }
        const upstream = await forward(new URL(UPLOAD_ROUTE, uploadsUrl), {
          method: 'POST',
          headers: {
            authorization: request.headers.authorization,
            'content-type': contentType,
            ...(request.headers['content-length'] ? { 'content-length': request.headers['content-length'] } : {}),
          },
          body: request.raw,
        });
        return relay(reply, upstream);
      },
    );

    app.get(
      FILE_ROUTE,
      {
        config: { swaggerTransform: downloadDocs },
        schema: {
          operationId: 'downloadFile',
          summary: 'Download an uploaded file: its owner and the participants of a conversation it was sent in',
          description: 'Answers the bytes (disk storage) or a 302 to a short-lived presigned URL (S3).',
          tags: ['uploads'],
          security: [{ bearer: [] }],
          params: FileParamsSchema,
          response: { 401: ErrorEnvelopeSchema, 403: ErrorEnvelopeSchema, 404: ErrorEnvelopeSchema, 503: ErrorEnvelopeSchema },
        },
      },
      async (request, reply) => {
        const upstream = await forward(new URL(fileUrlOf(request.params.fileId), uploadsUrl), {
          method: 'GET',
          headers: { authorization: request.headers.authorization },
        });
        return relay(reply, upstream);
      },
    );
  };
}
