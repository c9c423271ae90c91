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
