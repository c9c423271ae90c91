import { parseArgs } from 'node:util';
import { createPgliteDatabase, createScratchPostgres, usingPostgres } from '../helpers/database.ts';
import { fuzzApp, FUZZ_CALLBACK_TOKEN } from './app.ts';
import { formatSummary, runFuzz } from './fuzzer.ts';

/**
 * `npm run fuzz -- --requests N --seed S`: a long run against this process's test database
 * (TEST_DATABASE_URL, or the embedded one). Exits 1 when any request broke the contract.
 */
const { values } = parseArgs({
  options: { requests: { type: 'string', default: '5000' }, seed: { type: 'string', default: '1' }, json: { type: 'boolean', default: false } },
});
const requests = Number(values.requests);
const seed = Number(values.seed);
if (!Number.isSafeInteger(requests) || requests < 1 || !Number.isSafeInteger(seed)) {
  console.error('usage: npm run fuzz -- --requests N --seed S');
  process.exit(2);
}
const scratch = usingPostgres() ? await createScratchPostgres() : undefined;
const database = scratch?.database ?? (await createPgliteDatabase());
const app = await fuzzApp({ database });
const started = Date.now();
// Ctrl-C (or SIGTERM) ends a long run early and still prints what it found.
const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
const summary = await runFuzz(app, {
  requests,
  seed,
  callbackToken: FUZZ_CALLBACK_TOKEN,
  signal: stop.signal,
  progress: (running) =>
    console.error(`… ${running.requests} requests, ${running.violations.length} violations, ${((Date.now() - started) / 1000).toFixed(0)} s`),
});
console.log(values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
await app.close();
await (scratch ? scratch.drop() : database.close());
// The test helpers' `after` hooks (database, temp dirs) belong to node:test; a CLI run ends here.
process.exit(summary.violations.length > 0 ? 1 : 0);
