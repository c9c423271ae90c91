import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { principalOf } from '../../plugins/auth.ts';
import { errorResponses } from '../../shared/schemas.ts';
import { ADMINS_ONLY, canSeePlatformStats } from './admin.policy.ts';
import { AdminStatsSchema } from './admin.schemas.ts';
import type { AdminService } from './admin.service.ts';
import { ADMINS } from '../../shared/access.ts';

const tags = ['admin'];
const security = [{ bearerAuth: [] }];

const adminRoutes: FastifyPluginAsyncTypebox<{ admin: AdminService }> = async (app, { admin }) => {
  // Platform figures are for the admin who asked: no cache may keep them.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });

  app.get(
    '/stats',
    {
      onRequest: [app.authenticate, app.allow(canSeePlatformStats, ADMINS_ONLY)],
      config: { access: ADMINS },
      schema: {
        tags,
        security,
        operationId: 'adminStats',
        summary: 'Platform figures: accounts, listings, bookings and revenue by month (admin)',
        description: 'Revenue is completed payments minus refunds, per currency (never added across currencies), months in Africa/Nairobi time.',
        response: { 200: AdminStatsSchema, ...errorResponses(401, 403) },
      },
    },
    async (request) => admin.stats(principalOf(request)),
  );
};

export default adminRoutes;
