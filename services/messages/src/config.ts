import { z } from 'zod';
import { DEFAULT_MESSAGE_PARTITIONS } from '@chat/contracts';
import { busEnv, loadConfig, opsEnv, positiveInt, url } from '@chat/config';
import { FAILPOINT_NAMES, isValidFailpointSpec } from './failpoints.ts';

export const MessagesConfigSchema = z.object({
  ...busEnv,
  ...opsEnv(9102),
  /** The database is the URL's path (`/chat` by default). */
  MONGO_URL: url(['mongodb', 'mongodb+srv']).default('mongodb://127.0.0.1:27017/chat'),
  /** Must equal the gateways' value: send commands are partitioned by conversation. */
  MESSAGE_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(DEFAULT_MESSAGE_PARTITIONS),
  /** How long a command may stay unacknowledged before JetStream redelivers it (e.g. after a crash). */
  COMMAND_ACK_WAIT_MS: positiveInt(30_000),
  /** Test only: crash at a named point (see failpoints.ts). */
  FAILPOINTS: z
    .string()
    .optional()
    .refine((spec) => isValidFailpointSpec(spec), `must be a comma-separated list of ${FAILPOINT_NAMES.map((n) => `${n}=kill`).join(' / ')}`),
});
export type MessagesConfig = z.output<typeof MessagesConfigSchema>;

export const loadMessagesConfig = (env?: Record<string, string | undefined>): MessagesConfig =>
  loadConfig('messages', MessagesConfigSchema, env);
