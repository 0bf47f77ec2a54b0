import type { Collection, Db } from 'mongodb';
import type { Profile, UserId, UserUpdatedEvent } from '@chat/contracts';
import type { ProfileDoc } from './documents.ts';

/** Users' names and avatars as the chat last heard them (JWT claims at connect, users-updated events). */
export class ProfileStore {
  readonly profiles: Collection<ProfileDoc>;

  constructor(db: Db) {
    this.profiles = db.collection<ProfileDoc>('profiles');
  }

  /** Sets the fields the event carries; absent fields are left alone, `null` clears. */
  async apply(event: UserUpdatedEvent, now: Date): Promise<void> {
    const set: Partial<ProfileDoc> = { updatedAt: now };
    if (event.name !== undefined) set.name = event.name;
    if (event.avatar !== undefined) set.avatar = event.avatar;
    const setOnInsert: Partial<ProfileDoc> = {};
    if (event.name === undefined) setOnInsert.name = null;
    if (event.avatar === undefined) setOnInsert.avatar = null;
    await this.profiles.updateOne(
      { _id: event.userId },
      { $set: set, ...(Object.keys(setOnInsert).length > 0 ? { $setOnInsert: setOnInsert } : {}) },
      { upsert: true },
    );
  }

  /** Profiles of these users; a user the chat has never heard of gets nulls. */
  async findMany(userIds: UserId[]): Promise<Map<UserId, Profile>> {
    const docs = await this.profiles.find({ _id: { $in: userIds } }).toArray();
    const byId = new Map<UserId, Profile>(userIds.map((id) => [id, { _id: id, name: null, avatar: null }]));
    for (const doc of docs) byId.set(doc._id, { _id: doc._id, name: doc.name, avatar: doc.avatar });
    return byId;
  }
}
