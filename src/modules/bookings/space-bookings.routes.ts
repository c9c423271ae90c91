import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../plugins/auth.ts';
import { errorResponses, IdParams } from '../../shared/schemas.ts';
import { AvailabilityQuery, AvailabilityResponse, CalendarQuery, CalendarUrlResponse } from './bookings.schemas.ts';
import { AVAILABILITY_WINDOW_DAYS, type BookingsService } from './bookings.service.ts';
import type { CalendarService } from './calendar.service.ts';
import { PUBLIC, SPACE_MANAGERS } from '../../shared/access.ts';

/** The routes under /api/spaces/:id that are about bookings: availability and calendars. */
const spaceBookingsRoutes: FastifyPluginAsyncTypebox<{ bookings: BookingsService; calendars: CalendarService }> = async (app, { bookings, calendars }) => {
  const tags = ['spaces'];
  const security = [{ bearerAuth: [] }];

  app.get(
    '/:id/availability',
    {
      config: { access: PUBLIC },
      schema: {
        tags,
        operationId: 'spaceAvailability',
        summary: `Busy slots of a space between from and to (at most ${AVAILABILITY_WINDOW_DAYS} days); no one's identity`,
        params: IdParams,
        querystring: AvailabilityQuery,
        response: { 200: AvailabilityResponse, ...errorResponses(400, 404) },
      },
    },
    async (request) => bookings.availability(request.params.id, request.query),
  );

  app.get(
    '/:id/calendar',
    {
      onRequest: [app.authenticate],
      config: { access: SPACE_MANAGERS },
      schema: {
        tags,
        security,
        operationId: 'spaceCalendarUrl',
        summary: "The secret subscription URL of the space's booking calendar (its owner or an admin)",
        params: IdParams,
        response: { 200: CalendarUrlResponse, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => calendars.calendarUrl(principalOf(request), request.params.id),
  );

  app.post(
    '/:id/calendar/rotate',
    {
      onRequest: [app.authenticate],
      config: { access: SPACE_MANAGERS },
      schema: {
        tags,
        security,
        operationId: 'rotateSpaceCalendar',
        summary: 'A new secret calendar URL; the old one stops working',
        params: IdParams,
        response: { 200: CalendarUrlResponse, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => calendars.rotate(principalOf(request), request.params.id),
  );

  app.get(
    '/:id/calendar.ics',
    {
      onRequest: [app.identify],
      config: { access: SPACE_MANAGERS },
      schema: {
        tags,
        security: [{ bearerAuth: [] }, {}],
        operationId: 'spaceCalendarFeed',
        summary: "iCalendar (RFC 5545) of the space's pending and confirmed bookings",
        description:
          'For the owner or an admin with a Bearer token, or for anyone with the secret `token` from GET /api/spaces/{id}/calendar. A wrong token is a 404.',
        params: IdParams,
        querystring: CalendarQuery,
        response: {
          200: { description: 'The iCalendar feed', content: { 'text/calendar': { schema: Type.String() } } },
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const feed = await calendars.feed(request.params.id, {
        actor: request.principal,
        ...(request.query.token !== undefined ? { token: request.query.token } : {}),
      });
      return reply
        .type('text/calendar; charset=utf-8')
        .header('content-disposition', `inline; filename="space-${request.params.id}.ics"`)
        .header('cache-control', 'private, max-age=300')
        .send(feed);
    },
  );
};

export default spaceBookingsRoutes;
