import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import type * as Flexible from 'rate-limiter-flexible';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { rateLimited } from '../shared/errors.ts';

/**
 * Named counters for limits that the HTTP layer cannot see (per email, failed logins only).
 * They live in Redis when configured, so every process shares them; if Redis fails, an in-memory
 * limiter stands in rather than letting attempts through unlimited.
 */
export interface AttemptCounter {
  /** Counts an attempt; throws `rate_limited` when it is over the limit. */
  hit(key: string): Promise<void>;
  /** Throws `rate_limited` if the key is already at its limit, without counting. */
  check(key: string): Promise<void>;
  /** Counts a failed attempt without refusing it. */
  penalize(key: string): Promise<void>;
  reset(key: string): Promise<void>;
}

// The three classes this service uses, each from its own file: the package's index loads every
// store it supports (Mongo, MySQL, DynamoDB, Prisma …), ~1.2 MB of heap in every process.
const load = createRequire(import.meta.url);
const RateLimiterMemory = load('rate-limiter-flexible/lib/RateLimiterMemory.js') as typeof Flexible.RateLimiterMemory;
const RateLimiterRedis = load('rate-limiter-flexible/lib/RateLimiterRedis.js') as typeof Flexible.RateLimiterRedis;
const RateLimiterRes = load('rate-limiter-flexible/lib/RateLimiterRes.js') as typeof Flexible.RateLimiterRes;
type RateLimiterRes = Flexible.RateLimiterRes;

export type CounterFactory = (name: string, points: number, durationSeconds: number) => AttemptCounter;

export function createCounterFactory(options: { redis?: Redis; prefix: string }): CounterFactory {
  return (name, points, durationSeconds) => {
    const keyPrefix = `${options.prefix}${name}`;
    const limiter: RateLimiterAbstract = options.redis
      ? new RateLimiterRedis({
          storeClient: options.redis,
          keyPrefix,
          points,
          duration: durationSeconds,
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration: durationSeconds }),
        })
      : new RateLimiterMemory({ keyPrefix, points, duration: durationSeconds });

    const refuse = (result: RateLimiterRes) => rateLimited(result.msBeforeNext / 1000);

    return {
      async hit(key) {
        try {
          await limiter.consume(key);
        } catch (result) {
          if (result instanceof RateLimiterRes) throw refuse(result);
          throw result;
        }
      },
      async check(key) {
        const result = await limiter.get(key);
        if (result && result.consumedPoints >= points) throw refuse(result);
      },
      async penalize(key) {
        await limiter.penalty(key, 1);
      },
      async reset(key) {
        await limiter.delete(key);
      },
    };
  };
}
