import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface InFlight {
  /** Resolves true once no request is being handled, or false when `timeoutMs` runs out first. */
  drained(timeoutMs: number): Promise<boolean>;
}

/**
 * Counts requests whose handlers are still running. The server's close() only waits for open
 * connections, and a client that hangs up mid-request closes its connection while the handler
 * goes on using the database, so shutdown waits for this to drain before closing the pool.
 */
export function trackInFlight(app: FastifyInstance): InFlight {
  const running = new Set<FastifyRequest>();
  app.addHook('onRequest', (request, _reply, done) => {
    running.add(request);
    done();
  });
  // onSend runs once the handler has answered, even for a client that is gone; onResponse
  // covers answers that skip it.
  app.addHook('onSend', (request, _reply, payload, done) => {
    running.delete(request);
    done(null, payload);
  });
  app.addHook('onResponse', (request, _reply, done) => {
    running.delete(request);
    done();
  });
  return {
    async drained(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (running.size > 0 && Date.now() < deadline) await sleep(10);
      return running.size === 0;
    },
  };
}
