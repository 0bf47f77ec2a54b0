import type { AuthUser } from '@chat/auth';
import type { BusNames, UserId } from '@chat/contracts';
import type { Bus } from '@chat/bus';
import type { Logger } from '@chat/logger';

/** Users remembered per gateway, so a reconnect with the same claims publishes nothing. */
const REMEMBERED_USERS = 10_000;

/**
 * Keeps the chat's profile of a user fresh from their JWT claims: at connect, the name and avatar the token
 * carries are published as a users-updated event (only when they differ from what this gateway last sent).
 */
export class ProfilePublisher {
  readonly #sent = new Map<UserId, string>();
  readonly #bus: Bus;
  readonly #names: BusNames;
  readonly #logger: Logger;

  constructor(bus: Bus, names: BusNames, logger: Logger) {
    this.#bus = bus;
    this.#names = names;
    this.#logger = logger;
  }

  publish(user: AuthUser): void {
    if (user.name === undefined && user.avatar === undefined) return;
    const event = {
      userId: user.userId,
      ...(user.name === undefined ? {} : { name: user.name.slice(0, 200) }),
      ...(user.avatar === undefined ? {} : { avatar: user.avatar.slice(0, 2048) }),
    };
    const fingerprint = JSON.stringify(event);
    if (this.#sent.get(user.userId) === fingerprint) return;
    if (this.#sent.size >= REMEMBERED_USERS) this.#sent.delete(this.#sent.keys().next().value as UserId);
    this.#sent.set(user.userId, fingerprint);
    this.#bus.publishDurable(this.#names.userUpdated(user.userId), event).catch((error: unknown) => {
      this.#sent.delete(user.userId);
      this.#logger.warn({ err: error, userId: user.userId }, 'could not publish a profile update');
    });
  }
}
