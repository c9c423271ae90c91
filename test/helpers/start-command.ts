import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The Node options of a tree's `npm start` (`node <options> src/server.ts`): its preloads and V8
 * flags, so that a server started by a test or a benchmark runs exactly as `npm start` runs it.
 */
export function startNodeOptions(root: string): string[] {
  const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const options = /^node\s+(.*?)\s*src\/server\.ts$/.exec(scripts?.start ?? '')?.[1];
  return options ? options.split(/\s+/) : [];
}
