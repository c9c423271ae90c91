import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../db/client.ts';
import { serviceUnavailable } from '../../shared/errors.ts';
import { errorResponses } from '../../shared/schemas.ts';
import { PUBLIC } from '../../shared/access.ts';

const tags = ['service'];

const systemRoutes: FastifyPluginAsyncTypebox<{ database: Database; version: string }> = async (app, { database, version }) => {
  app.get(
    '/health',
    {
      config: { access: PUBLIC },
      schema: { tags, operationId: 'health', summary: 'The process is alive', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      config: { access: PUBLIC },
      schema: {
        tags,
        operationId: 'ready',
        summary: 'The service can reach its database',
        response: { 200: Type.Object({ status: Type.Literal('ready'), database: Type.Literal('ok') }), ...errorResponses(503) },
      },
    },
    async (request) => {
      try {
        await database.ping(2000);
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check failed');
        throw serviceUnavailable('The database is unreachable', 5);
      }
      return { status: 'ready' as const, database: 'ok' as const };
    },
  );

  app.get(
    '/api',
    {
      config: { access: PUBLIC },
      schema: {
        tags,
        operationId: 'apiIndex',
        summary: 'Sections of this API',
        response: {
          200: Type.Object({
            name: Type.String(),
            version: Type.String(),
            docs: Type.String(),
            openapi: Type.String(),
            sections: Type.Record(Type.String(), Type.String(), {
              description: "Each section's base path; a space's reviews are at /api/spaces/{id}/reviews, a review at /api/reviews/{id}",
            }),
          }),
        },
      },
    },
    async () => ({
      name: 'Spacer API',
      version,
      docs: '/api/docs',
      openapi: '/api/openapi.json',
      sections: {
        auth: '/api/auth',
        users: '/api/users',
        spaces: '/api/spaces',
        bookings: '/api/bookings',
        payments: '/api/payments',
        testimonials: '/api/testimonials',
        reviews: '/api/reviews',
        admin: '/api/admin',
        docs: '/api/docs',
        openapi: '/api/openapi.json',
        health: '/health',
        ready: '/ready',
      },
    }),
  );
};

export default systemRoutes;
