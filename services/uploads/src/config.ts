import { z } from 'zod';
import { DEFAULT_ALLOWED_FILE_TYPES, DEFAULT_MAX_FILE_SIZE, MimeTypeSchema } from '@chat/contracts';
import {
  bothOrNeither,
  busEnv,
  natsAuthRules,
  exactlyOneJwtKey,
  headersWithinRequest,
  httpTimeoutsEnv,
  jwtEnv,
  loadConfig,
  opsEnv,
  port,
  positiveInt,
  url,
} from '@chat/config';

const flag = z.enum(['true', 'false']).transform((value) => value === 'true');

export const UploadsConfigSchema = z
  .object({
    ...busEnv,
    ...opsEnv(9104),
    /** The HTTP port the gateway streams uploads and downloads to. */
    UPLOADS_PORT: port(4300),
    HOST: z.string().default('0.0.0.0'),
    /** The request timeout is an upload's: MAX_FILE_SIZE on a slow link (keep the gateway's UPLOAD_REQUEST_TIMEOUT_MS equal). */
    ...httpTimeoutsEnv(120_000),
    /** The database is the URL's path (`/chat` by default). */
    MONGO_URL: url(['mongodb', 'mongodb+srv']).default('mongodb://127.0.0.1:27017/chat'),
    /** The same keys as the gateway's: this service checks the caller's token itself and trusts no header. */
    ...jwtEnv,
    /** Largest file, in bytes; a larger one is cut off while streaming and refused with 413. */
    MAX_FILE_SIZE: positiveInt(DEFAULT_MAX_FILE_SIZE),
    /** Types accepted, as detected from the file's bytes (comma-separated). */
    ALLOWED_FILE_TYPES: z
      .string()
      .default(DEFAULT_ALLOWED_FILE_TYPES.join(','))
      .transform((value) =>
        value
          .split(',')
          .map((part) => part.trim().toLowerCase())
          .filter(Boolean),
      )
      .pipe(z.array(MimeTypeSchema).min(1)),
    /** Where files are stored when S3_BUCKET is not set. */
    UPLOAD_DIR: z.string().default('uploads'),
    /** Store in this S3 bucket instead of on disk (it must exist). */
    S3_BUCKET: z.string().min(3).max(63).optional(),
    /** The standard AWS variables; unset ones fall back to the SDK's default chain (profile, instance role, ...). */
    AWS_REGION: z.string().default('us-east-1'),
    AWS_ENDPOINT_URL_S3: url(['http', 'https']).optional(),
    AWS_ENDPOINT_URL: url(['http', 'https']).optional(),
    AWS_ACCESS_KEY_ID: z.string().optional(),
    AWS_SECRET_ACCESS_KEY: z.string().optional(),
    AWS_SESSION_TOKEN: z.string().optional(),
    /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need. */
    S3_FORCE_PATH_STYLE: flag.default(false),
    /** Downloads are redirected to presigned URLs of this endpoint (one clients can reach); default: the S3 endpoint. */
    S3_PUBLIC_ENDPOINT: url(['http', 'https']).optional(),
    /** How long a presigned download URL is valid. */
    S3_PRESIGN_TTL_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  })
  .superRefine(...natsAuthRules)
  .refine(...exactlyOneJwtKey)
  .refine(...headersWithinRequest)
  .refine(...bothOrNeither('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'));
export type UploadsConfig = z.output<typeof UploadsConfigSchema>;

export const loadUploadsConfig = (env?: Record<string, string | undefined>): UploadsConfig =>
  loadConfig('uploads', UploadsConfigSchema, env);
