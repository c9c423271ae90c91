import assert from 'node:assert/strict';
import { after } from 'node:test';
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { bookings, payments } from '../../src/db/schema/index.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { buildTestApp, call } from './app.ts';
import { startFakeDaraja, type FakeDaraja } from './daraja.ts';
import { createUser, type TestUser } from './factories.ts';
import { createSpace } from './spaces.ts';
import { startFakeStripe, type FakeStripe } from './stripe.ts';

/**
 * An app wired to the loopback Daraja and Stripe fakes, with an injectable clock and its log
 * lines kept, plus the set-up most payment tests share: a confirmed booking waiting to be paid.
 */

export const CALLBACK_TOKEN = 'cb-token-0123456789abcdefghij';
export const WEBHOOK_SECRET = 'whsec_test_0123456789abcdefghijklmnop';
export const callbackPath = (token = CALLBACK_TOKEN) => `/api/payments/mpesa/callback/${token}`;
export const reversalPath = (token = CALLBACK_TOKEN) => `/api/payments/mpesa/reversal/${token}`;

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** Log lines as pino writes them, one JSON object each. */
export function logCapture() {
  const lines: string[] = [];
  return {
    stream: { write: (line: string) => void lines.push(line) },
    lines,
    entries: () => lines.map((line) => JSON.parse(line) as { level: number; msg: string } & Record<string, unknown>),
    /** Everything written since `mark` (a `lines.length` taken before). */
    since: (mark: number) => lines.slice(mark).join(''),
  };
}

export interface PaymentsAppOptions {
  env?: Record<string, string>;
  clock?: ManualClock;
  /** The Daraja and Stripe fakes; off: the simulated providers stand in. */
  fakes?: boolean;
}

export async function paymentsApp(options: PaymentsAppOptions = {}) {
  const clock = options.clock ?? new ManualClock();
  const logs = logCapture();
  let daraja: FakeDaraja | undefined;
  let stripe: FakeStripe | undefined;
  let providerEnv: Record<string, string> = {};
  if (options.fakes !== false) {
    daraja = await startFakeDaraja();
    stripe = await startFakeStripe();
    const fakeDaraja = daraja;
    const fakeStripe = stripe;
    after(() => fakeDaraja.close());
    after(() => fakeStripe.close());
    providerEnv = {
      MPESA_CONSUMER_KEY: daraja.account.consumerKey,
      MPESA_CONSUMER_SECRET: daraja.account.consumerSecret,
      MPESA_BUSINESS_SHORTCODE: daraja.account.shortcode,
      MPESA_PASSKEY: daraja.account.passkey,
      MPESA_BASE_URL: daraja.url,
      MPESA_INITIATOR_NAME: 'spacer-api-operator',
      MPESA_SECURITY_CREDENTIAL: 'ZW5jcnlwdGVkLWluaXRpYXRvci1wYXNzd29yZA==',
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_BASE: stripe.url,
    };
  }
  const app = await buildTestApp({
    clock,
    logStream: logs.stream,
    env: {
      LOG_LEVEL: 'info',
      // Tests move the clock by days; the tokens they hold must outlive that.
      ACCESS_TOKEN_TTL: '90d',
      REFRESH_TOKEN_TTL: '120d',
      PUBLIC_URL: 'http://127.0.0.1:9',
      MPESA_CALLBACK_TOKEN: CALLBACK_TOKEN,
      PAYMENT_PROVIDER_TIMEOUT_MS: '2000',
      SIMULATED_PAYMENT_DELAY_MS: '0',
      ...providerEnv,
      ...options.env,
    },
  });
  return { app, clock, logs, daraja: daraja!, stripe: stripe!, db: app.services.database.db };
}

export interface Booked {
  owner: TestUser;
  client: TestUser;
  space: any;
  booking: any;
}

export interface BookingOptions {
  owner?: TestUser;
  client?: TestUser;
  policy?: 'flexible' | 'moderate' | 'strict';
  price?: number;
  hours?: number;
  /** From the app clock's now to the start. */
  startsInMs?: number;
  /** Approve it (the default), or leave it pending. */
  approve?: boolean;
  currency?: string;
  /** Book this space (of `owner`) instead of a new one. */
  space?: any;
}

/** A space and a booking of it by a client, approved by the owner unless told otherwise. */
export async function confirmedBooking(app: FastifyInstance, options: BookingOptions = {}): Promise<Booked> {
  const owner = options.owner ?? (await createUser(app, { role: 'owner' }));
  const client = options.client ?? (await createUser(app, { first_name: 'Amina', last_name: 'Wanjiru' }));
  const space =
    options.space ??
    (await createSpace(app, owner.token, {
      price_per_hour: options.price ?? 1000,
      cancellation_policy: options.policy ?? 'flexible',
      ...(options.currency ? { currency: options.currency } : {}),
    }));
  const now = app.services.clock.now().getTime();
  const start = new Date(Math.ceil((now + (options.startsInMs ?? 3 * DAY)) / 60_000) * 60_000);
  const end = new Date(start.getTime() + (options.hours ?? 2) * HOUR);
  const booked = await call(app, 'POST', '/api/bookings', {
    token: client.token,
    body: { space_id: space.id, start_time: start.toISOString(), end_time: end.toISOString() },
  });
  assert.equal(booked.status, 201, booked.raw);
  if (options.approve === false) return { owner, client, space, booking: booked.body };
  const approved = await call(app, 'PUT', `/api/bookings/${booked.body.id}/approve`, { token: owner.token });
  assert.equal(approved.status, 200, approved.raw);
  return { owner, client, space, booking: approved.body };
}

export async function paymentRow(app: FastifyInstance, id: number) {
  const [row] = await app.services.database.db.select().from(payments).where(eq(payments.id, id));
  return row;
}

export async function paymentsOfBooking(app: FastifyInstance, bookingId: number) {
  return app.services.database.db.select().from(payments).where(eq(payments.bookingId, bookingId)).orderBy(payments.id);
}

export async function bookingRow(app: FastifyInstance, id: number) {
  const [row] = await app.services.database.db.select().from(bookings).where(eq(bookings.id, id));
  return row!;
}

/** POST /api/payments by the booker. */
export const pay = (
  app: FastifyInstance,
  booked: Pick<Booked, 'client' | 'booking'>,
  body: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) =>
  call(app, 'POST', '/api/payments', {
    token: booked.client.token,
    body: { booking_id: booked.booking.id, payment_method: 'mpesa', phone_number: '0712345678', ...body },
    headers,
  });

/** A pending M-Pesa payment whose STK push the fake accepted. */
export async function pendingMpesa(app: FastifyInstance, booked: Booked, phone = '0712345678') {
  const created = await pay(app, booked, { payment_method: 'mpesa', phone_number: phone });
  assert.equal(created.status, 201, created.raw);
  return created.body as { id: number; checkout_request_id: string; amount: number } & Record<string, any>;
}

/** Daraja's success callback for a checkout, built by the fake (settles it there too). */
export function successCallback(daraja: FakeDaraja, checkoutRequestId: string): any {
  daraja.settle(checkoutRequestId, { resultCode: 0 });
  return daraja.stkCallbackBody(checkoutRequestId);
}

export const mpesaReceiptOf = (body: any): string =>
  body.Body.stkCallback.CallbackMetadata.Item.find((item: { Name: string }) => item.Name === 'MpesaReceiptNumber').Value;
