import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { configDescriptions } from '../../src/config.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };

describe('README', () => {
  it('documents every configuration variable in its table, and none that does not exist', () => {
    const documented = [...readme.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((match) => match[1]);
    assert.deepEqual(documented.sort(), configDescriptions.map((setting) => setting.name).sort());
  });

  it('names only npm scripts that exist', () => {
    const named = new Set([...readme.matchAll(/npm run ([a-z:]+)/g)].map((match) => match[1]!));
    for (const script of named) assert.ok(packageJson.scripts[script], `npm run ${script} is not a script`);
  });

  it('keeps the quick start to the two commands', () => {
    assert.match(readme, /## Quick start\n\n```sh\nnpm ci && npm start\nnpm test\n```/);
  });
});
