import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { ProcessedImage } from '../images.ts';
import type { FileStorage } from './storage.ts';

/** Files under `root`, named by us (never by the uploader), served at `${publicUrl}/uploads/`. */
export function localStorage(root: string, publicUrl: string): FileStorage {
  const base = resolve(root);
  const pathOf = (key: string) => {
    const path = resolve(base, key);
    // Keys come from our own rows, but a path outside the uploads folder is never touched.
    if (!path.startsWith(base + sep)) throw new Error(`storage key escapes the uploads folder: ${key}`);
    return path;
  };
  return {
    kind: 'local',
    async put(folder: string, image: ProcessedImage) {
      const key = join(folder, `${randomUUID()}.${image.extension}`).split(sep).join('/');
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, image.data, { flag: 'wx' });
      return { kind: 'local', key, url: `${publicUrl}/uploads/${key}` };
    },
    async delete(key: string) {
      await rm(pathOf(key), { force: true });
    },
  };
}
