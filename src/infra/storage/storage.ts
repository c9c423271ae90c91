import type { ProcessedImage } from '../images.ts';

export type StorageKind = 'local' | 'cloudinary';

export interface StoredFile {
  kind: StorageKind;
  /** What `delete` needs: a relative path under the uploads folder, or a Cloudinary public_id. */
  key: string;
  /** Absolute URL clients load the image from. */
  url: string;
}

/**
 * Where processed images live. Drivers speak their real protocol; which one runs is
 * configuration (Cloudinary when configured, else local files served at /uploads).
 */
export interface FileStorage {
  readonly kind: StorageKind;
  /** `folder` is relative, e.g. `spaces/12` or `avatars/3`. */
  put(folder: string, image: ProcessedImage): Promise<StoredFile>;
  /** Removes a stored file; a file that is already gone is not an error. */
  delete(key: string): Promise<void>;
}
