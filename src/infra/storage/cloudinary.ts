import type { v2 as CloudinarySdk, UploadApiResponse } from 'cloudinary';
import type { ProcessedImage } from '../images.ts';
import type { FileStorage } from './storage.ts';

export interface CloudinarySettings {
  cloudName: string;
  apiKey: string;
  apiSecret: string;
  uploadPrefix: string;
}

/**
 * The SDK (~3 MB of heap, ~500 files with lodash) is loaded only in processes configured for
 * Cloudinary: importing this file does not load it, creating the storage starts loading it.
 */
let sdk: Promise<typeof CloudinarySdk> | undefined;
const loadCloudinary = () => (sdk ??= import('cloudinary').then((module) => module.v2));

/**
 * Signed uploads into `spacer/<folder>` with the official SDK. Credentials go with every call
 * rather than into the SDK's process-wide configuration, so nothing else in the process can
 * change where our files go.
 */
export function cloudinaryStorage(settings: CloudinarySettings): FileStorage {
  // Early, so the first upload does not wait for it; a failure to load surfaces there.
  loadCloudinary().catch(() => {});
  const credentials = {
    cloud_name: settings.cloudName,
    api_key: settings.apiKey,
    api_secret: settings.apiSecret,
    upload_prefix: settings.uploadPrefix,
    secure: true,
  };
  return {
    kind: 'cloudinary',
    put: async (folder: string, image: ProcessedImage) => {
      const cloudinary = await loadCloudinary();
      return new Promise((resolve, reject) => {
        const stream = cloudinary.uploader.upload_stream(
          { ...credentials, folder: `spacer/${folder}`, resource_type: 'image', timeout: 60_000 },
          (error, result?: UploadApiResponse) => {
            if (error || !result) return reject(new Error(`Cloudinary upload failed: ${error?.message ?? 'no result'}`));
            resolve({ kind: 'cloudinary', key: result.public_id, url: result.secure_url });
          },
        );
        stream.end(image.data);
      });
    },
    async delete(publicId: string) {
      const cloudinary = await loadCloudinary();
      const result = (await cloudinary.uploader.destroy(publicId, { ...credentials, resource_type: 'image', invalidate: true })) as { result?: string };
      if (result.result !== 'ok' && result.result !== 'not found') throw new Error(`Cloudinary destroy answered ${JSON.stringify(result)}`);
    },
  };
}
