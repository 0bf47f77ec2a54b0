import type { AnyBulkWriteOperation, Collection, Db } from 'mongodb';
import { cleanName, ProfileSchema, safeAvatarUrl, type Profile, type UserId, type UserUpdatedEvent } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import type { ProfileDoc } from './documents.ts';

const FIELDS = ['name', 'avatar'] as const;

/** Users' names and avatars as the chat last heard them (JWT claims at connect, users-updated events). */
export class ProfileStore {
  readonly profiles: Collection<ProfileDoc>;
  readonly #logger: Logger;

  constructor(db: Db, logger: Logger) {
    this.profiles = db.collection<ProfileDoc>('profiles');
    this.#logger = logger;
  }

  /**
   * Sets the fields the event carries; absent fields are left alone, `null` clears. A field a new profile does
   * not get is written as `null` by a second, conditional `$set`: FerretDB drops `$setOnInsert: { field: null }`
   * on an upsert, and a profile without the field is what once failed whole conversation lists. Both go in one
   * ordered `update` command (one round trip; it was two per new user, issue 16).
   */
  async apply(event: UserUpdatedEvent, now: Date): Promise<void> {
    const set: Partial<ProfileDoc> = { updatedAt: now };
    if (event.name !== undefined) set.name = event.name;
    if (event.avatar !== undefined) set.avatar = event.avatar;
    const operations: AnyBulkWriteOperation<ProfileDoc>[] = [
      { updateOne: { filter: { _id: event.userId }, update: { $set: set }, upsert: true } },
    ];
    for (const field of FIELDS) {
      if (event[field] !== undefined) continue;
      // Only where the field is missing: a concurrent update that set it meanwhile is not undone.
      operations.push({ updateOne: { filter: { _id: event.userId, [field]: { $exists: false } }, update: { $set: { [field]: null } } } });
    }
    await this.profiles.bulkWrite(operations, { ordered: true });
  }

  /**
   * Profiles of these users; a user the chat has never heard of gets nulls, and so does a stored field that is
   * missing or not what the contract allows (logged): one odd document never fails a caller's list.
   */
  async findMany(userIds: UserId[]): Promise<Map<UserId, Profile>> {
    const docs = await this.profiles.find({ _id: { $in: userIds } }).toArray();
    const byId = new Map<UserId, Profile>(userIds.map((id) => [id, { _id: id, name: null, avatar: null }]));
    for (const doc of docs) byId.set(doc._id, this.#read(doc));
    return byId;
  }

  #read(doc: ProfileDoc): Profile {
    const profile: Profile = { _id: doc._id, name: null, avatar: null };
    const shape = ProfileSchema.shape;
    for (const field of FIELDS) {
      const value: unknown = doc[field];
      if (value === undefined || value === null) continue;
      // Written before names and avatars were cleaned on the way in (UserUpdatedEventSchema): cleaned here too.
      if (shape[field].safeParse(value).success)
        profile[field] = field === 'name' ? cleanName(value as string) : safeAvatarUrl(value as string);
      else this.#logger.warn({ userId: doc._id, field }, 'stored profile field is invalid; read as null');
    }
    return profile;
  }
}
