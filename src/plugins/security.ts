import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import helmet from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PUBLIC } from '../shared/access.ts';
import { LEGACY_LIST_HEADERS } from './legacy-client.ts';

/**
 * The headers a helmet middleware sets, worked out once by running it on a recorder. They depend
 * on nothing in the request (no CSP nonces), and @fastify/helmet built the whole middleware anew
 * on every request (parsing the CSP directives each time): ~4 % of the server's CPU under load.
 */
function headersOf(middleware: ReturnType<typeof helmet>): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  let failure: unknown;
  middleware({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => void (failure = error));
  if (failure !== undefined) throw new Error('helmet refused its options', { cause: failure });
  return headers;
}

async function securityPlugin(app: FastifyInstance, options: { corsOrigins: string[] }) {
  const securityHeaders = headersOf(
    helmet({
      // Swagger UI sets its own policy on its pages; JSON needs none beyond this.
      contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      crossOriginResourcePolicy: { policy: 'cross-origin' },
    }),
  );
  // On every reply, errors and 404s included; a route may still replace one (Swagger UI's CSP).
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(securityHeaders);
    done();
  });
  // The preflight route is @fastify/cors's own, and a preflight carries no credentials: public.
  app.addHook('onRoute', (route) => {
    if (route.method === 'OPTIONS' && route.url === '*') route.config = { ...route.config, access: PUBLIC };
  });
  await app.register(cors, {
    // Exact origins only: tokens travel in headers, never in cookies, so no credentials mode.
    origin: options.corsOrigins.length > 0 ? options.corsOrigins : false,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    exposedHeaders: ['X-Request-Id', 'Retry-After', 'Idempotent-Replayed', 'Content-Disposition', ...LEGACY_LIST_HEADERS],
    maxAge: 600,
    // A bare OPTIONS (no Origin, no Access-Control-Request-Method) is answered 204 like a
    // preflight instead of a plain-text 400 outside the error envelope.
    strictPreflight: false,
  });
}

export default fp(securityPlugin, { name: 'security' });
