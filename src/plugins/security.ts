import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { PUBLIC } from '../shared/access.ts';
import { LEGACY_LIST_HEADERS } from './legacy-client.ts';

async function securityPlugin(app: FastifyInstance, options: { corsOrigins: string[] }) {
  await app.register(helmet, {
    // Swagger UI sets its own policy on its pages; JSON needs none beyond this.
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginResourcePolicy: { policy: 'cross-origin' },
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
