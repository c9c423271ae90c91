import { readFileSync } from 'node:fs';
import { registerHooks, type ResolveFnOutput } from 'node:module';

/**
 * Registered before the entry point by src/preload.js (`node --import ./src/preload.js`, in the npm
 * scripts), right after the compile cache is turned on.
 *
 * To learn that a `.js` file is an ES module, Node 24 looks up the package.json that governs it
 * and, on every lookup, parses that package.json's `exports` again. drizzle-orm's `exports` is a
 * 178 KB map, the app loads ~110 of its files and resolves `drizzle-orm…` from ~50 of ours: about
 * 300 parses, ~1.5 s of CPU and ~150 MB of garbage at every start (measured in bench/README.md,
 * "Memory"). These hooks give Node what it would have computed, once:
 *
 * - a relative `.js` import inside drizzle-orm (a `"type": "module"` package) is that file, as an
 *   ES module;
 * - a `drizzle-orm…` specifier resolves to the same file from every module of one package, so
 *   each is resolved by Node once per importing package and then reused.
 *
 * Everything else goes to Node untouched.
 */

const DRIZZLE_ROOT = /^(.*\/node_modules\/drizzle-orm\/)/;
const moduleTypeOf = new Map<string, boolean>();

function isModulePackage(root: string): boolean {
  let isModule = moduleTypeOf.get(root);
  if (isModule === undefined) {
    const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { type?: string };
    isModule = manifest.type === 'module';
    moduleTypeOf.set(root, isModule);
  }
  return isModule;
}

/** The package a module belongs to: its innermost node_modules entry, or the application itself. */
function packageOf(url: string): string {
  const at = url.lastIndexOf('/node_modules/');
  if (at === -1) return '';
  const rest = url.slice(at + '/node_modules/'.length).split('/');
  return url.slice(0, at) + '/node_modules/' + (rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]);
}

const resolved = new Map<string, ResolveFnOutput>();

registerHooks({
  resolve(specifier, context, nextResolve) {
    const parent = context.parentURL;
    if (parent && (specifier.startsWith('./') || specifier.startsWith('../')) && specifier.endsWith('.js')) {
      const root = DRIZZLE_ROOT.exec(parent)?.[1];
      if (root && isModulePackage(root)) return { url: new URL(specifier, parent).href, format: 'module', shortCircuit: true };
    }
    if (parent && (specifier === 'drizzle-orm' || specifier.startsWith('drizzle-orm/'))) {
      const key = `${packageOf(parent)}\0${specifier}\0${(context.conditions ?? []).join(',')}`;
      let result = resolved.get(key);
      if (!result) {
        result = nextResolve(specifier, context);
        resolved.set(key, result);
      }
      return { ...result, shortCircuit: true };
    }
    return nextResolve(specifier, context);
  },
});
