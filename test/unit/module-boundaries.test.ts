import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

/**
 * The shape of src/modules (src/modules/README.md), checked on the source itself so that a new
 * module copies the boundaries and not a leak.
 */

const MODULES = resolve(import.meta.dirname, '../../src/modules');

interface Import {
  file: string;
  specifier: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const found: Import[] = [];
  for (const match of text.matchAll(/^import\s+(type\s+)?[^'"]*?from\s+'([^']+)';/gms)) {
    found.push({ file, specifier: match[2]!, typeOnly: Boolean(match[1]) });
  }
  return found;
}

const moduleOf = (path: string) => relative(MODULES, path).split('/')[0]!;
const files = sourceFiles(MODULES);
const imports = files.flatMap(importsOf);

describe('module boundaries', () => {
  it('finds the modules and their imports (the check is not vacuous)', () => {
    assert.ok(new Set(files.map(moduleOf)).size >= 5);
    assert.ok(imports.length > 100);
  });

  it('imports nothing of another module but its service and its schemas', () => {
    const leaks = imports
      .filter((entry) => entry.specifier.startsWith('.'))
      .map((entry) => ({ ...entry, target: resolve(dirname(entry.file), entry.specifier) }))
      .filter((entry) => entry.target.startsWith(MODULES) && moduleOf(entry.target) !== moduleOf(entry.file))
      .filter((entry) => !/\.(service|schemas)\.ts$/.test(entry.target))
      .map((entry) => `${relative(MODULES, entry.file)} imports ${relative(MODULES, entry.target)}`);
    assert.deepEqual(leaks, []);
  });

  it('keeps SQL in repositories: no other module file imports drizzle or prepares statements', () => {
    const outside = imports
      .filter((entry) => !entry.file.endsWith('.repository.ts') && !entry.typeOnly)
      .filter((entry) => entry.specifier === 'drizzle-orm' || entry.specifier.startsWith('drizzle-orm/') || entry.specifier.endsWith('/db/prepared.ts'))
      .map((entry) => `${relative(MODULES, entry.file)} imports ${entry.specifier}`);
    assert.deepEqual(outside, []);
  });

  it('names every file <name>.<role>.ts with a known role', () => {
    const roles = /\.(routes|schemas|service|repository|rules|policy|mapper|mails|pdf|worker)\.ts$/;
    const odd = files.filter((file) => !file.endsWith('README.md') && !roles.test(file)).map((file) => relative(MODULES, file));
    assert.deepEqual(odd, []);
  });

  it('wires cross-module reactions in app.ts, through the event hub', () => {
    const app = readFileSync(resolve(MODULES, '../app.ts'), 'utf8');
    for (const event of ['user.deactivated', 'user.email_changed', 'space.archiving']) {
      assert.match(app, new RegExp(`events\\.on\\('${event.replace('.', '\\.')}'`), `${event} is subscribed in app.ts`);
    }
    assert.doesNotMatch(app, /\.repository\.ts'/, 'app.ts imports no repository');
  });
});
