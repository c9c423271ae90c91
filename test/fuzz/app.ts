import type { FastifyInstance } from 'fastify';
import { ManualClock } from '../../src/shared/clock.ts';
import { buildTestApp, type TestAppOptions } from '../helpers/app.ts';

export const FUZZ_CALLBACK_TOKEN = 'fuzz-callback-token-0123456789';

/**
 * The app as the fuzzer wants it. The clock stands still, so "in the past" means the same thing
 * for the whole run; the simulated payment callback is pushed beyond the run, because a write
 * arriving between two requests would look like a change made by a refused one.
 */
export async function fuzzApp(deps: Pick<TestAppOptions, 'database'> = {}): Promise<FastifyInstance> {
  const now = new Date();
  now.setUTCHours(0, 0, 0, 0);
  return buildTestApp({
    ...deps,
    clock: new ManualClock(now),
    env: {
      ACCESS_TOKEN_TTL: '30d',
      REFRESH_TOKEN_TTL: '60d',
      SIMULATED_PAYMENT_DELAY_MS: '3600000',
      MPESA_CALLBACK_TOKEN: FUZZ_CALLBACK_TOKEN,
      PUBLIC_URL: 'http://127.0.0.1:9',
    },
  });
}
