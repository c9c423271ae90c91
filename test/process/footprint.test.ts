import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { TEST_SECRETS } from '../helpers/app.ts';
import { usingPostgres } from '../helpers/database.ts';
import { ROOT, serverStorage } from '../helpers/server-process.ts';

/**
 * What a server process carries is part of its memory (issue 12, bench/README.md "Memory"): a
 * module whose feature is not configured, or not used yet, is not loaded at all.
 */

const run = promisify(execFile);

async function loadedByApp(env: Record<string, string>) {
  const { stdout } = await run(process.execPath, ['--import', './src/preload.js', 'test/helpers/loaded-by-app.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'silent', BACKGROUND_JOBS: 'false', ...TEST_SECRETS, ...env },
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { statuses: number[]; packages: string[]; files: string[]; undici: boolean };
}

/** Each is loaded at the first use of its feature: receipts, mail, image uploads, cards, Redis. */
const ON_FIRST_USE = ['pdfkit', 'nodemailer', 'sharp', 'cloudinary', 'stripe', 'ioredis'];

describe('what a started server has loaded', () => {
  it(`after start-up and a few requests: none of ${ON_FIRST_USE.join(', ')}, nor Node's undici`, async () => {
    const loaded = await loadedByApp(await serverStorage());
    assert.deepEqual(loaded.statuses, [200, 200, 200, 200]);
    assert.deepEqual(
      ON_FIRST_USE.filter((name) => loaded.packages.includes(name)),
      [],
    );
    // An ES import of node:http reads its lazy WebSocket exports, which load undici (src/infra/payments/http.ts).
    assert.equal(loaded.undici, false, 'undici was loaded');
    assert.ok(loaded.packages.includes('fastify'), 'the hook saw the packages');
    // Its index loads a store for every database it knows (src/infra/rate-limit.ts takes the three it uses).
    assert.deepEqual(
      loaded.files.filter((file) => file === 'rate-limiter-flexible/index.js' || /RateLimiter(Mongo|MySQL|Postgres|Dynamo|Prisma)/.test(file)),
      [],
    );
    if (usingPostgres()) assert.equal(loaded.packages.includes('@electric-sql/pglite'), false, 'PGlite is loaded only for the embedded database');
  });
});
