import { registerHooks } from 'node:module';

/**
 * Run as a process of its own (test/process/footprint.test.ts): starts the app as src/server.ts
 * does, from the configuration in its environment, serves a few requests, and prints what the
 * process loaded: the npm packages (by name), their files (from the package's folder on) and whether Node loaded its bundled undici.
 */

const packages = new Set<string>();
const files = new Set<string>();
registerHooks({
  resolve(specifier, context, next) {
    const resolved = next(specifier, context);
    const at = resolved.url.lastIndexOf('/node_modules/');
    if (at !== -1) {
      const file = resolved.url.slice(at + '/node_modules/'.length);
      files.add(file);
      const [scope, name] = file.split('/');
      packages.add(scope!.startsWith('@') ? `${scope}/${name}` : scope!);
    }
    return resolved;
  },
});

const { loadConfig } = await import('../../src/config.ts');
const { openDatabase } = await import('../../src/db/client.ts');
const { buildApp } = await import('../../src/app.ts');
const config = loadConfig(process.env, { persistSecrets: false });
const database = await openDatabase(config);
await database.migrate();
const app = await buildApp(config, { database });
await app.ready();
const statuses: number[] = [];
for (const url of ['/health', '/ready', '/api/spaces', '/api/docs/json']) statuses.push((await app.inject(url)).statusCode);
await app.close();
await database.close();
process.stdout.write(
  `${JSON.stringify({
    statuses,
    packages: [...packages].sort(),
    files: [...files].sort(),
    undici: (process as unknown as { moduleLoadList: string[] }).moduleLoadList.some((entry) => entry.includes('undici')),
  })}\n`,
);
