import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type, type Static } from 'typebox';
import { principalOf } from '../../plugins/auth.ts';
import { sendReplayed } from '../../plugins/replay.ts';
import { errorResponses, IdempotencyHeaders, IdParams, Page } from '../../shared/schemas.ts';
import {
  BookingListQuery,
  BookingSchema,
  CheckAvailabilityQuery,
  CheckAvailabilityResponse,
  CreateBookingBody,
  QuoteResponse,
  ReasonBody,
} from './bookings.schemas.ts';
import type { BookingsService } from './bookings.service.ts';
import { AUTHENTICATED, BOOKER_OR_HOST, CLIENTS_AND_ADMINS, PUBLIC, SPACE_MANAGERS, type Access } from '../../shared/access.ts';

const tags = ['bookings'];

/**
 * Answers that are JSON text already, sent as they are, not serialized again: the list, built by
 * the database (ADR 0008), and a new booking, serialized once by the service.
 */
const sendJson = (reply: FastifyReply, json: string, status = 200) => reply.status(status).type('application/json; charset=utf-8').send(json);
const security = [{ bearerAuth: [] }];

const bookingsRoutes: FastifyPluginAsyncTypebox<{ bookings: BookingsService }> = async (app, { bookings }) => {
  const authenticated = { onRequest: [app.authenticate] };

  app.get(
    '/',
    {
      ...authenticated,
      config: { access: AUTHENTICATED },
      schema: {
        tags,
        security,
        operationId: 'listBookings',
        summary: 'Bookings you may see: your own (client), those of your spaces (owner), all (admin)',
        querystring: BookingListQuery,
        response: { 200: Page('bookings', Type.Ref('Booking')), ...errorResponses(400, 401) },
      },
    },
    async (request, reply) => sendJson(reply, await bookings.list(principalOf(request), request.query)),
  );

  app.get(
    '/check-availability',
    {
      config: { access: PUBLIC },
      schema: {
        tags,
        operationId: 'checkAvailability',
        summary: 'Whether a slot could be booked now, and what is in its way',
        querystring: CheckAvailabilityQuery,
        response: { 200: CheckAvailabilityResponse, ...errorResponses(400, 404) },
      },
    },
    async (request) => bookings.checkAvailability(request.query),
  );

  app.get(
    '/:id',
    {
      ...authenticated,
      config: { access: BOOKER_OR_HOST },
      schema: {
        tags,
        security,
        operationId: 'getBooking',
        summary: "One booking (its booker, the space's owner, or an admin)",
        params: IdParams,
        response: { 200: BookingSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => bookings.getById(principalOf(request), request.params.id),
  );

  app.post(
    '/',
    {
      ...authenticated,
      config: { access: CLIENTS_AND_ADMINS },
      schema: {
        tags,
        security,
        operationId: 'createBooking',
        summary: 'Request a booking (client or admin); it starts pending',
        description:
          'Rule violations are 400 with a code naming the rule: invalid_time_range, start_in_past, insufficient_notice, too_far_ahead, duration_too_short, duration_too_long, outside_operating_hours, capacity_exceeded. ' +
          'A slot overlapping a pending or confirmed booking (or its buffer) is 409 booking_conflict. With Idempotency-Key, a repeat with the same body within 24 h returns the first answer (header Idempotent-Replayed: true).',
        headers: IdempotencyHeaders,
        body: CreateBookingBody,
        response: { 201: BookingSchema, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const result = await bookings.create(principalOf(request), request.body, request.headers['idempotency-key']);
      if (result.replayed) return sendReplayed(reply, result.json);
      return sendJson(reply, result.json, 201);
    },
  );

  /** A state change answers the booking; POST is accepted as well as PUT. */
  const transition = (operationId: string, summary: string, withReason: boolean, access: Access) => ({
    ...authenticated,
    config: { access },
    schema: {
      tags,
      security,
      operationId,
      summary,
      params: IdParams,
      ...(withReason ? { body: ReasonBody } : {}),
      response: { 200: BookingSchema, ...errorResponses(400, 401, 403, 404, 409) },
    },
  });
  const reasonOf = (body: unknown) => (body as Static<typeof ReasonBody> | undefined)?.reason;

  for (const method of ['PUT', 'POST'] as const) {
    const suffix = method === 'POST' ? 'Post' : '';
    app.route({
      method,
      url: '/:id/approve',
      ...transition(
        `approveBooking${suffix}`,
        "Confirm a pending booking (the space's owner or an admin); the guest then has BOOKING_PAYMENT_TTL_HOURS (24), and at most until the start, to pay",
        false,
        SPACE_MANAGERS,
      ),
      handler: async (request) => bookings.approve(principalOf(request), request.params.id),
    });
    app.route({
      method,
      url: '/:id/reject',
      ...transition(`rejectBooking${suffix}`, "Decline a pending booking (the space's owner or an admin)", true, SPACE_MANAGERS),
      handler: async (request) => bookings.reject(principalOf(request), request.params.id, reasonOf(request.body)),
    });
    app.route({
      method,
      url: '/:id/cancel',
      ...transition(
        `cancelBooking${suffix}`,
        'Cancel a pending or confirmed booking (the booker before the start; the owner or an admin any time); a paid booking is refunded by the cancellation policy',
        true,
        BOOKER_OR_HOST,
      ),
      handler: async (request) => bookings.cancel(principalOf(request), request.params.id, reasonOf(request.body)),
    });
    app.route({
      method,
      url: '/:id/complete',
      ...transition(`completeBooking${suffix}`, "Mark a confirmed booking that has ended as completed (the space's owner or an admin)", false, SPACE_MANAGERS),
      handler: async (request) => bookings.complete(principalOf(request), request.params.id),
    });
  }

  app.get(
    '/:id/cancellation-quote',
    {
      ...authenticated,
      config: { access: BOOKER_OR_HOST },
      schema: {
        tags,
        security,
        operationId: 'cancellationQuote',
        summary: "What cancelling now would refund you: the space's cancellation policy applied to what was paid",
        params: IdParams,
        response: { 200: QuoteResponse, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => bookings.cancellationQuote(principalOf(request), request.params.id),
  );
};

export default bookingsRoutes;
