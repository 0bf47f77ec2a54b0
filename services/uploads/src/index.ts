export { loadUploadsConfig, UploadsConfigSchema } from './config.ts';
export type { UploadsConfig } from './config.ts';
export { createStorage, startUploadsService, SERVICE_VERSION } from './service.ts';
export type { UploadsService } from './service.ts';
export { UploadStore } from './store/upload-store.ts';
export type { UploadDoc } from './store/upload-store.ts';
export type { FileStorage } from './storage/file-storage.ts';
