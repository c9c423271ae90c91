import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { PUBLIC } from '../shared/access.ts';

/** The OpenAPI document is generated from the route schemas; nothing here describes a route by hand. */
async function swaggerPlugin(app: FastifyInstance, options: { publicUrl: string; version: string }) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Spacer API',
        version: options.version,
        description:
          'Hosts list rentable spaces by the hour; guests find, book and pay for them. Errors always use the `Error` envelope.\n\n' +
          'A booking request not approved within BOOKING_PENDING_TTL_HOURS (24) or by its start is cancelled as `expired`; a confirmed booking still unpaid ' +
          'BOOKING_PAYMENT_TTL_HOURS (24) after its approval, or at its start, is cancelled as `unpaid`, so an unpaid booking never holds its slot for long.',
      },
      servers: [{ url: options.publicUrl }],
      tags: [
        { name: 'service', description: 'Liveness, readiness and this document' },
        { name: 'auth', description: 'Accounts, tokens and sessions' },
        { name: 'users', description: 'User accounts' },
        { name: 'spaces', description: 'Listings, their images, search, availability and calendars' },
        { name: 'bookings', description: 'Booking requests and their workflow' },
        { name: 'payments', description: 'Paying for confirmed bookings (M-Pesa, card, cash), provider callbacks, refunds and receipts' },
        { name: 'testimonials', description: 'What members say about Spacer' },
        { name: 'reviews', description: "Guests' reviews of the spaces they used" },
        { name: 'admin', description: 'Platform figures for admins' },
      ],
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
    // Shared schemas appear under their $id ("User", "Error") instead of generated names.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  // The UI's routes (page, assets, its copies of the document) are the plugin's own: declared public here.
  await app.register(async (docs) => {
    docs.addHook('onRoute', (route) => {
      route.config = { ...route.config, access: PUBLIC };
    });
    await docs.register(swaggerUi, {
      routePrefix: '/api/docs',
      staticCSP: true,
      // Served over plain http in development, where upgrading the page's own asset requests to
      // https would break it; TLS, when present, is the proxy's business.
      transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/, ''),
      // No call to the public validator service: the docs work offline.
      uiConfig: { deepLinking: true, persistAuthorization: false, validatorUrl: null },
    });
  });
  app.get('/api/openapi.json', { config: { access: PUBLIC }, schema: { hide: true } }, () => app.swagger());
}

export default fp(swaggerPlugin, { name: 'swagger' });
