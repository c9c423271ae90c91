import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuzzApp, FUZZ_CALLBACK_TOKEN } from '../fuzz/app.ts';
import { formatSummary, runFuzz } from '../fuzz/fuzzer.ts';

/** The short, seeded run of the OpenAPI fuzzer; `npm run fuzz -- --requests N --seed S` runs long ones. */

const app = await fuzzApp();

describe('the OpenAPI fuzzer', () => {
  it('finds no 5xx, no off-contract answer and no write by a refused request in 2,000 seeded requests', async () => {
    const summary = await runFuzz(app, { requests: 2000, seed: 20_260_601, callbackToken: FUZZ_CALLBACK_TOKEN });
    assert.deepEqual(summary.violations, [], formatSummary(summary));
    assert.ok(Object.keys(summary.byOperation).length >= 55, `every operation is reached: ${Object.keys(summary.byOperation).length}`);
    for (const status of [200, 201, 400, 401, 403, 404, 409, 413, 415]) assert.ok(summary.byStatus[status]! > 0, `some ${status}: ${formatSummary(summary)}`);
  });
});
