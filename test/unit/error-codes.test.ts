import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ERROR_CODES } from '../../src/shared/error-codes.ts';
import { ErrorSchema } from '../../src/shared/schemas.ts';

/** The list published as x-error-codes holds every code src can put in an error body. */

const SRC = join(import.meta.dirname, '../../src');
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );

const LITERAL = String.raw`'([a-z][a-z0-9_]*)'`;
// A first argument that is a string, template or name: the message before a code given second.
const MESSAGE = String.raw`(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\x60[^\x60]*\x60|[A-Za-z_.]+)`;
const PATTERNS = [
  new RegExp(String.raw`\b(?:badRequest|conflict)\(\s*${LITERAL}`, 'g'),
  new RegExp(String.raw`new AppError\(\s*[^,]+,\s*${LITERAL}`, 'g'),
  new RegExp(String.raw`new AppError\(\s*[^,]+,\s*[^,]*\?\?\s*${LITERAL}`, 'g'),
  new RegExp(String.raw`\bforbidden\(\s*${MESSAGE}\s*,\s*${LITERAL}`, 'g'),
  new RegExp(String.raw`^\s*\d{3}: ${LITERAL},$`, 'gm'),
];

function thrownCodes(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of files(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of PATTERNS) for (const match of text.matchAll(pattern)) found.set(match[1]!, file.slice(SRC.length + 1));
  }
  return found;
}

describe('error codes', () => {
  it('lists every code passed to badRequest, conflict, forbidden, new AppError and the status table', () => {
    const listed = new Set<string>(ERROR_CODES);
    const found = thrownCodes();
    assert.ok(found.size >= 35, `the scan still finds the codes (${found.size})`);
    const missing = [...found].filter(([code]) => !listed.has(code)).map(([code, file]) => `${code} (${file})`);
    assert.deepEqual(missing, [], 'add these to src/shared/error-codes.ts');
  });

  it('publishes the list on the Error schema, with code still a plain string', () => {
    assert.deepEqual((ErrorSchema as unknown as Record<string, unknown>)['x-error-codes'], [...ERROR_CODES]);
    assert.equal(ErrorSchema.properties.code.type, 'string');
    assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length);
    for (const code of ERROR_CODES) assert.match(code, /^[a-z]+(_[a-z]+)*$/);
  });
});
