import type { Collection, Db } from 'mongodb';
import type { FileId, StorageKind, UploadRecord, UserId } from '@chat/contracts';

/** An upload's metadata as stored: the record with its id as `_id` and a real date. */
export interface UploadDoc {
  _id: FileId;
  ownerId: UserId;
  fileName: string;
  mimeType: string;
  size: number;
  sha256: string;
  storage: StorageKind;
  storageKey: string;
  createdAt: Date;
}

export class UploadStore {
  readonly uploads: Collection<UploadDoc>;

  constructor(db: Db) {
    this.uploads = db.collection<UploadDoc>('uploads');
  }

  async ensureIndexes(): Promise<void> {
    await this.uploads.createIndex({ ownerId: 1, createdAt: -1 });
  }

  async insert(record: UploadRecord): Promise<void> {
    const { fileId, createdAt, ...rest } = record;
    await this.uploads.insertOne({ _id: fileId, ...rest, createdAt: new Date(createdAt) });
  }

  async find(fileId: FileId): Promise<UploadRecord | null> {
    const doc = await this.uploads.findOne({ _id: fileId });
    if (!doc) return null;
    const { _id, createdAt, ...rest } = doc;
    return { fileId: _id, ...rest, createdAt: createdAt.toISOString() };
  }

  async remove(fileId: FileId): Promise<void> {
    await this.uploads.deleteOne({ _id: fileId });
  }
}
