import { z } from 'zod';
import { DEFAULT_MESSAGE_PARTITIONS } from '@chat/contracts';
import { busEnv, natsAuthRules, loadConfig, opsEnv, positiveInt, url } from '@chat/config';
import { FAILPOINT_NAMES, isValidFailpointSpec } from './failpoints.ts';

export const MessagesConfigSchema = z
  .object({
    ...busEnv,
    ...opsEnv(9102),
    /** The database is the URL's path (`/chat` by default). */
    MONGO_URL: url(['mongodb', 'mongodb+srv']).default('mongodb://127.0.0.1:27017/chat'),
    /** Must equal the gateways' value: send commands are partitioned by conversation. */
    MESSAGE_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(DEFAULT_MESSAGE_PARTITIONS),
    /**
     * How long a command may stay unacknowledged before JetStream redelivers it (after a crash of its owner).
     * Work in hand is kept alive well within it, so it bounds failover, not how long a batch may take.
     */
    COMMAND_ACK_WAIT_MS: positiveInt(2_000),
    /** How long a partition's owner may go without pulling before the server gives the partition to another replica. */
    PARTITION_OWNER_TIMEOUT_MS: positiveInt(2_000),
    /** Commands of one partition in flight (delivered, not yet acknowledged) at most. */
    COMMAND_MAX_IN_FLIGHT: positiveInt(1_024),
    /** Commands worked in one batch at most. */
    COMMAND_BATCH_MAX: positiveInt(256),
    /** Conversations a partition's owner keeps in memory (sequence numbers, read state). */
    CONVERSATION_CACHE_SIZE: positiveInt(10_000),
    /** Test only: crash at a named point (see failpoints.ts). */
    FAILPOINTS: z
      .string()
      .optional()
      .refine(
        (spec) => isValidFailpointSpec(spec),
        `must be a comma-separated list of ${FAILPOINT_NAMES.map((n) => `${n}=kill`).join(' / ')} or send.insert=error:<clientMessageId>`,
      ),
  })
  .superRefine(...natsAuthRules);
export type MessagesConfig = z.output<typeof MessagesConfigSchema>;

export const loadMessagesConfig = (env?: Record<string, string | undefined>): MessagesConfig =>
  loadConfig('messages', MessagesConfigSchema, env);
