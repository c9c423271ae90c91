import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';

/**
 * Commands fail fast while Redis is away (no offline queue), so a request never waits on it;
 * the rate limiters then fall back to memory.
 */
export function createRedis(url: string, log: FastifyBaseLogger): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000, lazyConnect: false });
  let reported = false;
  redis.on('error', (error) => {
    if (!reported) log.warn({ err: error }, 'redis unavailable; rate limits fall back to this process');
    reported = true;
  });
  redis.on('ready', () => {
    reported = false;
  });
  return redis;
}

/**
 * Resolves once the connection is ready, fails, or `timeoutMs` passes. Waiting at
 * start-up keeps the first requests from being counted in memory while their successors are
 * counted in Redis, which would split one client's budget in two.
 */
export function redisReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      redis.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.on('ready', done);
    // A refused connection will not become ready in time; no point holding start-up for it.
    redis.on('error', done);
  });
}
