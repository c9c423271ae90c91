import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import type { InjectOptions } from 'fastify';
import { bookings } from '../../src/db/schema/index.ts';
import { ROLES, type AccessRole, type Outcome, type RouteEntry } from '../../src/shared/access.ts';
import { buildTestApp, call } from '../helpers/app.ts';
import { insertCompletedPayment } from '../helpers/bookings.ts';
import { createUser, uniqueEmail, type TestUser } from '../helpers/factories.ts';
import { smallJpeg } from '../helpers/images.ts';
import { createSpace, spaceInput } from '../helpers/spaces.ts';

/**
 * Every route the app registers × every kind of caller, against the access each route declares
 * beside its schema (src/shared/access.ts). The rows come from the app's own route table, so a new
 * route is in the matrix the moment it exists: without an access declaration, or without a request
 * below to exercise it, its row fails.
 */

// The callbacks' secrets are set, so their rows test the gate itself rather than an unconfigured route.
const app = await buildTestApp({
  env: { MPESA_CALLBACK_TOKEN: 'matrix-callback-secret-0123456789', STRIPE_WEBHOOK_SECRET: 'whsec_matrix_0123456789abcdefghij' },
});

const HOUR = 3_600_000;
const PASSWORD = 'Passw0rd!';

// --- The fixture world: one of everything, each tied to the roles the matrix names. ----------------

const admin = await createUser(app, { role: 'admin' });
const spaceOwner = await createUser(app, { role: 'owner' });
const otherOwner = await createUser(app, { role: 'owner' });
const booker = await createUser(app);
const otherClient = await createUser(app);
/** Whose credentials the login and refresh rows spend, so no role's own session is touched. */
const loginUser = await createUser(app);

// Deactivated after logging in: it still holds a signed, unexpired token, which must now be refused.
const deactivated = await createUser(app);
const deactivation = await call(app, 'DELETE', `/api/users/${deactivated.id}`, { token: admin.token });
assert.equal(deactivation.status, 200, deactivation.raw);

const users: Record<Exclude<AccessRole, 'anonymous'>, TestUser> = { booker, otherClient, spaceOwner, otherOwner, deactivated, admin };
const tokenOf = (role: AccessRole) => (role === 'anonymous' ? undefined : users[role].token);

let slot = 0;
/** A slot of its own for every booking, so no request is refused for a conflict it did not cause. */
function nextSlot() {
  const start = new Date(Math.ceil((Date.now() + 2 * 24 * HOUR) / HOUR) * HOUR + slot++ * 3 * HOUR);
  return { start_time: start.toISOString(), end_time: new Date(start.getTime() + 2 * HOUR).toISOString() };
}

async function ok(response: Promise<{ status: number; raw: string; body: any }>, status: number) {
  const answer = await response;
  assert.equal(answer.status, status, answer.raw);
  return answer.body;
}

const imageForm = async (field: string) => {
  const form = new FormData();
  form.append(field, new Blob([await smallJpeg()], { type: 'image/jpeg' }), 'photo.jpg');
  return form;
};

async function uploadImage(spaceId: number): Promise<{ id: number }> {
  const response = await app.inject({
    method: 'POST',
    url: `/api/spaces/${spaceId}/images`,
    headers: { authorization: `Bearer ${spaceOwner.token}` },
    payload: await imageForm('images'),
  });
  assert.equal(response.statusCode, 201, response.body);
  return response.json().images[0];
}

const pendingBooking = async (spaceId = space.id) =>
  ok(call(app, 'POST', '/api/bookings', { token: booker.token, body: { space_id: spaceId, ...nextSlot() } }), 201);

async function confirmedBooking() {
  const booking = await pendingBooking();
  return ok(call(app, 'PUT', `/api/bookings/${booking.id}/approve`, { token: spaceOwner.token }), 200);
}

/** A stay of the booker's that has ended, which is what entitles a guest to review a space. */
async function completedStay(spaceId: number) {
  const booking = await pendingBooking(spaceId);
  await app.services.database.db.update(bookings).set({ status: 'completed' }).where(eq(bookings.id, booking.id));
}

async function reviewOf(spaceId: number): Promise<{ id: number }> {
  await completedStay(spaceId);
  return ok(call(app, 'POST', `/api/spaces/${spaceId}/reviews`, { token: booker.token, body: { rating: 4, comment: 'Quiet and bright.' } }), 201);
}

const testimonialOf = () =>
  ok(call(app, 'POST', '/api/testimonials', { token: booker.token, body: { content: 'Booking a room took a minute.', rating: 5 } }), 201);
const paymentMethodOf = () =>
  ok(call(app, 'POST', '/api/users/me/payment-methods', { token: booker.token, body: { type: 'mpesa', phone_number: '0712345678' } }), 201);

/** A second session of the role, for the rows that end the session they are sent with. */
async function freshToken(role: AccessRole): Promise<string | undefined> {
  if (role === 'anonymous' || role === 'deactivated') return tokenOf(role);
  const user = users[role];
  return (await ok(call(app, 'POST', '/api/auth/login', { body: { email: user.email, password: user.password } }), 200)).access_token;
}

const space = await createSpace(app, spaceOwner.token);
const image = await uploadImage(space.id);
const booking = await confirmedBooking();
const payment = await insertCompletedPayment(app, booking.id);
const review = await reviewOf(space.id);
const testimonial = await testimonialOf();

// --- One valid request per route, keyed by operationId: what reaches authorization is never a 400. --

interface MatrixRequest {
  url: string;
  body?: unknown;
  form?: FormData;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** Instead of the role's standing token (for rows that end a session). */
  token?: string | undefined;
}

type RequestFor = (role: AccessRole) => Promise<MatrixRequest> | MatrixRequest;

const at =
  (url: string, rest: Omit<MatrixRequest, 'url'> = {}): RequestFor =>
  () => ({ url, ...rest });

/** A booking transition, on a booking of its own in the state the transition starts from. */
const transition =
  (action: string, body?: unknown): RequestFor =>
  async () => {
    const target = await pendingBooking();
    return { url: `/api/bookings/${target.id}/${action}`, ...(body ? { body } : {}) };
  };

const later = () => nextSlot();

const requests: Record<string, RequestFor> = {
  // system
  health: at('/health'),
  ready: at('/ready'),
  apiIndex: at('/api'),

  // auth
  register: () => ({ url: '/api/auth/register', body: { email: uniqueEmail('matrix'), password: PASSWORD, first_name: 'Matrix', last_name: 'Row' } }),
  // Each caller logs in as itself; the anonymous one as an account of its own.
  login: (role) => ({ url: '/api/auth/login', body: { email: (role === 'anonymous' ? loginUser : users[role]).email, password: PASSWORD } }),
  // Each caller spends a refresh token of its own; the deactivated one's was revoked with its account.
  refreshTokens: async (role) => {
    if (role === 'deactivated') return { url: '/api/auth/refresh', body: { refresh_token: deactivated.refreshToken } };
    const user = role === 'anonymous' ? loginUser : users[role];
    const session = await ok(call(app, 'POST', '/api/auth/login', { body: { email: user.email, password: PASSWORD } }), 200);
    return { url: '/api/auth/refresh', body: { refresh_token: session.refresh_token } };
  },
  logout: async (role) => ({ url: '/api/auth/logout', token: await freshToken(role) }),
  getMe: at('/api/auth/me'),
  verifyEmail: at('/api/auth/verify-email', { body: { token: 'not-an-issued-token' } }),
  resendVerification: at('/api/auth/resend-verification'),
  forgotPassword: at('/api/auth/forgot-password', { body: { email: loginUser.email } }),
  resetPassword: at('/api/auth/reset-password', { body: { token: 'not-an-issued-token', password: 'Another1pass' } }),
  changePassword: async (role) => ({ url: '/api/auth/password', token: await freshToken(role), body: { current_password: PASSWORD, new_password: PASSWORD } }),

  // users
  listUsers: at('/api/users'),
  getUser: at(`/api/users/${booker.id}`),
  updateUser: at(`/api/users/${booker.id}`, { body: { bio: 'Works from anywhere.' } }),
  uploadAvatar: async () => ({ url: `/api/users/${booker.id}/avatar`, form: await imageForm('avatar') }),
  deactivateUser: async () => ({ url: `/api/users/${(await createUser(app)).id}` }),

  // payment methods
  listPaymentMethods: at('/api/users/me/payment-methods'),
  addPaymentMethod: at('/api/users/me/payment-methods', { body: { type: 'mpesa', phone_number: '0712345679' } }),
  deletePaymentMethod: async () => ({ url: `/api/users/me/payment-methods/${(await paymentMethodOf()).id}` }),

  // spaces
  listSpaces: at('/api/spaces'),
  listMySpaces: at('/api/spaces/mine'),
  spaceStats: at('/api/spaces/stats'),
  getSpace: at(`/api/spaces/${space.id}`),
  createSpace: at('/api/spaces', { body: spaceInput() }),
  updateSpace: at(`/api/spaces/${space.id}`, { body: { description: 'A quiet room, now with a whiteboard.' } }),
  patchSpace: at(`/api/spaces/${space.id}`, { body: { description: 'A quiet room, now with a whiteboard.' } }),
  deleteSpace: async () => ({ url: `/api/spaces/${(await createSpace(app, spaceOwner.token)).id}` }),
  addSpaceImages: async () => ({ url: `/api/spaces/${space.id}/images`, form: await imageForm('images') }),
  setPrimaryImage: at(`/api/spaces/${space.id}/images/${image.id}`, { body: { is_primary: true } }),
  deleteSpaceImage: async () => {
    const own = await createSpace(app, spaceOwner.token);
    return { url: `/api/spaces/${own.id}/images/${(await uploadImage(own.id)).id}` };
  },
  spaceAvailability: () => {
    const window = later();
    return { url: `/api/spaces/${space.id}/availability`, query: { from: window.start_time, to: window.end_time } };
  },
  spaceCalendarUrl: at(`/api/spaces/${space.id}/calendar`),
  rotateSpaceCalendar: at(`/api/spaces/${space.id}/calendar/rotate`),
  // Without the secret `token`: the Bearer token alone decides.
  spaceCalendarFeed: at(`/api/spaces/${space.id}/calendar.ics`),
  listSpaceReviews: at(`/api/spaces/${space.id}/reviews`),
  createReview: at(`/api/spaces/${space.id}/reviews`, { body: { rating: 5 } }),

  // bookings
  listBookings: at('/api/bookings'),
  checkAvailability: () => ({ url: '/api/bookings/check-availability', query: { space_id: String(space.id), ...later() } }),
  getBooking: at(`/api/bookings/${booking.id}`),
  createBooking: () => ({ url: '/api/bookings', body: { space_id: space.id, ...later() } }),
  approveBooking: transition('approve'),
  approveBookingPost: transition('approve'),
  rejectBooking: transition('reject', { reason: 'Closed that week' }),
  rejectBookingPost: transition('reject', { reason: 'Closed that week' }),
  cancelBooking: transition('cancel', { reason: 'Plans changed' }),
  cancelBookingPost: transition('cancel', { reason: 'Plans changed' }),
  // Not yet ended, so the host's answer is a 409: authorization has let it through by then.
  completeBooking: transition('complete'),
  completeBookingPost: transition('complete'),
  cancellationQuote: at(`/api/bookings/${booking.id}/cancellation-quote`),

  // payments
  listPayments: at('/api/payments'),
  createPayment: async () => ({ url: '/api/payments', body: { booking_id: (await confirmedBooking()).id, payment_method: 'cash' } }),
  getPayment: at(`/api/payments/${payment.id}`),
  confirmCashPayment: async () => {
    const target = await confirmedBooking();
    const pending = await ok(call(app, 'POST', '/api/payments', { token: booker.token, body: { booking_id: target.id, payment_method: 'cash' } }), 201);
    return { url: `/api/payments/${pending.id}/confirm` };
  },
  refundPayment: async () => ({ url: `/api/payments/${(await insertCompletedPayment(app, (await confirmedBooking()).id)).id}/refund` }),
  getReceipt: at(`/api/payments/${payment.id}/receipt`),
  mpesaCallback: at('/api/payments/mpesa/callback/not-the-secret', {
    body: { Body: { stkCallback: { CheckoutRequestID: 'ws_CO_0', ResultCode: 0, ResultDesc: 'ok' } } },
  }),
  mpesaReversalResult: at('/api/payments/mpesa/reversal/not-the-secret', { body: { Result: {} } }),
  mpesaReversalTimeout: at('/api/payments/mpesa/reversal/not-the-secret/timeout', { body: { Result: {} } }),
  stripeWebhook: at('/api/payments/stripe/webhook', { body: { type: 'payment_intent.succeeded' }, headers: { 'stripe-signature': 't=1,v1=forged' } }),

  // testimonials
  listTestimonials: at('/api/testimonials'),
  getTestimonial: at(`/api/testimonials/${testimonial.id}`),
  createTestimonial: at('/api/testimonials', { body: { content: 'Found a room in minutes.', rating: 4 } }),
  updateTestimonial: at(`/api/testimonials/${testimonial.id}`, { body: { rating: 4 } }),
  deleteTestimonial: async () => ({ url: `/api/testimonials/${(await testimonialOf()).id}` }),

  // reviews
  getReview: at(`/api/reviews/${review.id}`),
  updateReview: at(`/api/reviews/${review.id}`, { body: { rating: 5 } }),
  deleteReview: async () => ({ url: `/api/reviews/${(await reviewOf((await createSpace(app, spaceOwner.token)).id)).id}` }),

  // admin
  adminStats: at('/api/admin/stats'),
};

/** Routes of plugins (docs UI, static files, CORS preflight): nothing to fill but a wildcard. */
function pluginRoute(route: RouteEntry): RequestFor | undefined {
  if (route.operationId !== undefined || route.url.includes(':')) return undefined;
  if (route.method === 'OPTIONS' && route.url === '*')
    return at('/api/spaces', { headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'GET' } });
  return route.method === 'GET' ? at(route.url.replace('*', 'index.html')) : undefined;
}

// --- The matrix. ----------------------------------------------------------------------------------

const keyOf = (route: RouteEntry) => route.operationId ?? `${route.method} ${route.url}`;

// HEAD routes are Fastify's copies of GET routes; every other route is a row. Changing a password
// ends the caller's other sessions, the world's own tokens included, so it runs last.
const runsLast = new Set(['changePassword']);
const routes = app.routeTable
  .filter((route) => !(route.method === 'HEAD' && app.routeTable.some((other) => other.method === 'GET' && other.url === route.url)))
  .toSorted((a, b) => Number(runsLast.has(keyOf(a))) - Number(runsLast.has(keyOf(b))));

async function send(route: RouteEntry, role: AccessRole, request: MatrixRequest) {
  const token = 'token' in request ? request.token : tokenOf(role);
  const headers: Record<string, string> = { ...request.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  const options: InjectOptions = { method: route.method, url: request.url, headers };
  if (request.query) options.query = request.query;
  if (request.form) options.payload = request.form;
  else if (request.body !== undefined) options.payload = request.body as InjectOptions['payload'];
  return app.inject(options);
}

function assertOutcome(expected: Outcome, status: number, body: string) {
  if (expected === 'allow') {
    assert.ok(status !== 401 && status !== 403, `expected authorization to let it through, got ${status}: ${body}`);
    assert.ok(status < 500, `got ${status}: ${body}`);
  } else if (expected === 'gated') {
    assert.ok(status === 400 || status === 404, `expected 400/404 without the secret, got ${status}: ${body}`);
  } else {
    assert.equal(status, expected, body);
  }
}

describe('authorization matrix', () => {
  it('covers the whole route table', () => {
    assert.ok(routes.length > 60, `only ${routes.length} routes seen: is the onRoute registry wired first?`);
  });

  for (const route of routes) {
    describe(`${route.method} ${route.url} (${keyOf(route)})`, () => {
      it('declares its access next to its schema', () => {
        assert.ok(route.access, `add config: { access: … } (src/shared/access.ts) to ${route.method} ${route.url}`);
      });

      const requestFor = requests[keyOf(route)] ?? pluginRoute(route);
      it('has a request in the matrix', () => {
        assert.ok(requestFor, `add a valid request for ${keyOf(route)} to this file's \`requests\``);
      });
      if (!route.access || !requestFor) return;

      for (const role of ROLES) {
        const expected = route.access[role];
        it(`${role}: ${expected}`, async () => {
          const response = await send(route, role, await requestFor(role));
          assertOutcome(expected, response.statusCode, response.body);
        });
      }
    });
  }
});
