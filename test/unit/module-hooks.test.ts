import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What a fresh Node process sees of drizzle-orm: where each entry resolves and what it exports. */
function drizzleAsSeen(nodeOptions: string[]) {
  const script = `
    const entries = ['drizzle-orm', 'drizzle-orm/pg-core', 'drizzle-orm/node-postgres', 'drizzle-orm/pglite', 'drizzle-orm/pglite/migrator'];
    const seen = {};
    for (const entry of entries) seen[entry] = { url: import.meta.resolve(entry), exports: Object.keys(await import(entry)).sort() };
    const relations = await import(new URL('./relations.js', seen['drizzle-orm'].url).href);
    seen.relationsIsShared = relations.Relations === (await import('drizzle-orm')).Relations;
    console.log(JSON.stringify(seen));`;
  const output = execFileSync(process.execPath, [...nodeOptions, '--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  });
  return JSON.parse(output) as Record<string, unknown>;
}

describe('src/module-hooks.ts', () => {
  it('resolves drizzle-orm to the same files, with the same exports, as Node does without it', () => {
    const plain = drizzleAsSeen([]);
    const hooked = drizzleAsSeen(['--import', './src/module-hooks.ts']);
    assert.deepEqual(hooked, plain);
    assert.equal(hooked.relationsIsShared, true, 'a file reached by a relative import is the same module instance');
  });
});
