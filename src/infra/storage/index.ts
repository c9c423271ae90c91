import { join } from 'node:path';
import type { Config } from '../../config.ts';
import { cloudinaryStorage } from './cloudinary.ts';
import { localStorage } from './local.ts';
import type { FileStorage } from './storage.ts';

export type { FileStorage, StoredFile, StorageKind } from './storage.ts';

export const uploadsDir = (config: Pick<Config, 'DATA_DIR'>) => join(config.DATA_DIR, 'uploads');

export function createStorage(config: Config): FileStorage {
  if (config.CLOUDINARY_CLOUD_NAME && config.CLOUDINARY_API_KEY && config.CLOUDINARY_API_SECRET) {
    return cloudinaryStorage({
      cloudName: config.CLOUDINARY_CLOUD_NAME,
      apiKey: config.CLOUDINARY_API_KEY,
      apiSecret: config.CLOUDINARY_API_SECRET,
      uploadPrefix: config.CLOUDINARY_UPLOAD_PREFIX,
    });
  }
  return localStorage(uploadsDir(config), config.PUBLIC_URL);
}
