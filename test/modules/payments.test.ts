import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import { extractText, getDocumentProxy } from 'unpdf';
import { queryRows } from '../../src/db/client.ts';
import { bookings, mailOutbox, payments, providerEvents } from '../../src/db/schema/index.ts';
import { call } from '../helpers/app.ts';
import { assertError, assertInvalidField } from '../helpers/assertions.ts';
import { insertCompletedPayment } from '../helpers/bookings.ts';
import { usingPostgres } from '../helpers/database.ts';
import { createUser } from '../helpers/factories.ts';
import {
  WEBHOOK_SECRET,
  bookingRow,
  callbackPath,
  confirmedBooking,
  pay,
  paymentRow,
  paymentsApp,
  paymentsOfBooking,
  pendingMpesa,
  successCallback,
  type Booked,
} from '../helpers/payments.ts';
import { signedStripeEvent } from '../helpers/stripe.ts';

/** POST /api/payments, cash confirmation, the Stripe webhook, and reading payments and receipts. */

const { app, clock, daraja, stripe, db } = await paymentsApp({ env: { PAYMENT_PROVIDER_TIMEOUT_MS: '1500' } });
const admin = await createUser(app, { role: 'admin' });

const webhook = (payload: string, header: string) =>
  call(app, 'POST', '/api/payments/stripe/webhook', { body: payload, headers: { 'content-type': 'application/json', 'stripe-signature': header } });
const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);

/** A booking paid by cash and confirmed by the owner: completed, with a receipt. */
async function paidByCash(booked?: Booked) {
  const target = booked ?? (await confirmedBooking(app));
  const created = await pay(app, target, { payment_method: 'cash' });
  assert.equal(created.status, 201, created.raw);
  const confirmed = await call(app, 'PUT', `/api/payments/${created.body.id}/confirm`, { token: target.owner.token });
  assert.equal(confirmed.status, 200, confirmed.raw);
  return { ...target, payment: confirmed.body };
}

describe('POST /api/payments', () => {
  it('creates a pending M-Pesa payment of the booking total, sends the STK push and marks the booking pending', async () => {
    const booked = await confirmedBooking(app, { price: 1500, hours: 3 });
    const created = await pay(app, booked, { amount: 1, phone_number: '0712 345-678' });
    assert.equal(created.status, 201, created.raw);
    assert.equal(created.body.status, 'pending');
    assert.equal(created.body.amount, 4500, 'the booking total, not the amount sent');
    assert.equal(created.body.currency, 'KES');
    assert.equal(created.body.payment_method, 'mpesa');
    assert.equal(created.body.user_id, booked.client.id);
    assert.match(created.body.checkout_request_id, /^ws_CO_/);
    assert.equal(created.body.receipt_number, null);
    assert.equal(created.headers['cache-control'], 'no-store');

    const push = daraja.transactions.get(created.body.checkout_request_id)!;
    assert.equal(push.request.Amount, 4500);
    assert.equal(push.request.PhoneNumber, '254712345678');
    assert.equal(push.request.CallBackURL, `http://127.0.0.1:9${callbackPath()}`);
    const row = await paymentRow(app, created.body.id);
    assert.equal(row!.amount, 450_000);
    assert.equal(row!.phoneNumber, '254712345678');
    assert.equal(row!.provider, 'daraja');
    assert.equal((await bookingRow(app, booked.booking.id)).paymentStatus, 'pending');
  });

  it('accepts 07…, 01…, +254… and 254… numbers and stores them as 2547…/2541…', async () => {
    const first = await confirmedBooking(app);
    const cases: Array<[string, string]> = [
      ['0712345678', '254712345678'],
      ['0112345678', '254112345678'],
      ['+254722000111', '254722000111'],
      ['254110000222', '254110000222'],
    ];
    for (const [index, [typed, stored]] of cases.entries()) {
      const booked =
        index === 0
          ? first
          : await confirmedBooking(app, { owner: first.owner, client: first.client, space: first.space, startsInMs: (4 + index) * 86_400_000 });
      const created = await pay(app, booked, { phone_number: typed });
      assert.equal(created.status, 201, `${typed}: ${created.raw}`);
      assert.equal((await paymentRow(app, created.body.id))!.phoneNumber, stored, typed);
    }
  });

  it('refuses a phone that is not a Kenyan mobile number with 400, storing nothing', async () => {
    const booked = await confirmedBooking(app);
    for (const phone of ['0812345678', '+255712345678', '07123456', '071234567890', '020 2345678', 'not a phone', '+1 202 555 0143']) {
      const response = await pay(app, booked, { phone_number: phone });
      assertError(response, 400);
      assert.equal(response.body.code, 'validation_error', phone);
    }
    assertInvalidField(await pay(app, booked, { phone_number: undefined }), 'phone_number');
    assert.equal((await paymentsOfBooking(app, booked.booking.id)).length, 0);
    assert.equal((await bookingRow(app, booked.booking.id)).paymentStatus, 'unpaid');
  });

  it("pays with the payer's own saved M-Pesa method", async () => {
    const booked = await confirmedBooking(app);
    const saved = await call(app, 'POST', '/api/users/me/payment-methods', {
      token: booked.client.token,
      body: { type: 'mpesa', phone_number: '0722 000 333' },
    });
    assert.equal(saved.status, 201, saved.raw);
    const created = await pay(app, booked, { phone_number: undefined, payment_method_id: saved.body.id });
    assert.equal(created.status, 201, created.raw);
    assert.equal((await paymentRow(app, created.body.id))!.phoneNumber, '254722000333');
  });

  it("answers 404 for another user's saved method and 400 for a saved method of another type", async () => {
    const booked = await confirmedBooking(app);
    const stranger = await createUser(app);
    const theirs = await call(app, 'POST', '/api/users/me/payment-methods', { token: stranger.token, body: { type: 'mpesa', phone_number: '0722000444' } });
    assertError(await pay(app, booked, { phone_number: undefined, payment_method_id: theirs.body.id }), 404, 'not_found');
    const card = await call(app, 'POST', '/api/users/me/payment-methods', {
      token: booked.client.token,
      body: { type: 'card', provider_token: 'pm_card_visa', brand: 'Visa', last4: '4242' },
    });
    assert.equal(card.status, 201, card.raw);
    assertInvalidField(await pay(app, booked, { phone_number: undefined, payment_method_id: card.body.id }), 'payment_method_id');
    assert.equal((await paymentsOfBooking(app, booked.booking.id)).length, 0);
  });

  it("lets only the booker pay: 403 for the space's owner, another owner, another client and an admin; 401 anonymous", async () => {
    const booked = await confirmedBooking(app);
    const body = { booking_id: booked.booking.id, payment_method: 'cash' };
    for (const user of [booked.owner, await createUser(app, { role: 'owner' }), await createUser(app), admin]) {
      assertError(await call(app, 'POST', '/api/payments', { token: user.token, body }), 403, 'forbidden');
    }
    assertError(await call(app, 'POST', '/api/payments', { body }), 401);
    assert.equal((await paymentsOfBooking(app, booked.booking.id)).length, 0);
  });

  it('answers 400 unsupported_amount for M-Pesa on a booking not in whole Kenyan shillings, writing nothing; cash still pays it', async () => {
    const usd = await confirmedBooking(app, { currency: 'USD' });
    const cents = await confirmedBooking(app, { price: 10.25 });
    for (const booked of [usd, cents]) {
      assertError(await pay(app, booked), 400, 'unsupported_amount');
      assert.equal((await paymentsOfBooking(app, booked.booking.id)).length, 0);
      assert.equal((await bookingRow(app, booked.booking.id)).paymentStatus, 'unpaid');
    }
    const cash = await pay(app, cents, { payment_method: 'cash', phone_number: undefined });
    assert.equal(cash.status, 201, cash.raw);
    assert.equal(cash.body.amount, 20.5);
  });

  it('judges the booking before the input: 404 for an unknown booking and 403 for a stranger even with a bad phone, then 400', async () => {
    const booked = await confirmedBooking(app);
    const stranger = await createUser(app);
    const body = { booking_id: booked.booking.id, payment_method: 'mpesa', phone_number: '0812345678' };
    assertError(await call(app, 'POST', '/api/payments', { token: stranger.token, body }), 403, 'forbidden');
    assertError(await call(app, 'POST', '/api/payments', { token: stranger.token, body: { ...body, booking_id: 987_654_320 } }), 404, 'not_found');
    assertInvalidField(await pay(app, booked, { phone_number: '0812345678' }), 'phone_number');
    assertError(await pay(app, booked, { phone_number: undefined, payment_method_id: 987_654_320 }), 404, 'not_found');
    assert.equal((await paymentsOfBooking(app, booked.booking.id)).length, 0);
    assert.equal((await bookingRow(app, booked.booking.id)).paymentStatus, 'unpaid');
  });

  it('answers 404 for an unknown booking', async () => {
    const client = await createUser(app);
    assertError(await call(app, 'POST', '/api/payments', { token: client.token, body: { booking_id: 987_654_321, payment_method: 'cash' } }), 404, 'not_found');
  });

  it('answers 409 invalid_state for a booking that is pending, cancelled or completed', async () => {
    const pending = await confirmedBooking(app, { approve: false });
    assertError(await pay(app, pending, { payment_method: 'cash' }), 409, 'invalid_state');

    const cancelled = await confirmedBooking(app);
    assert.equal((await call(app, 'PUT', `/api/bookings/${cancelled.booking.id}/cancel`, { token: cancelled.client.token })).status, 200);
    assertError(await pay(app, cancelled, { payment_method: 'cash' }), 409, 'invalid_state');

    const completed = await confirmedBooking(app);
    await db.update(bookings).set({ status: 'completed' }).where(eq(bookings.id, completed.booking.id));
    assertError(await pay(app, completed, { payment_method: 'cash' }), 409, 'invalid_state');

    for (const booked of [pending, cancelled, completed]) assert.equal((await paymentsOfBooking(app, booked.booking.id)).length, 0);
  });

  it('answers 409 invalid_state when the booking is already paid or has a payment pending', async () => {
    const paid = await confirmedBooking(app);
    await insertCompletedPayment(app, paid.booking.id);
    assertError(await pay(app, paid), 409, 'invalid_state');
    assert.equal((await paymentsOfBooking(app, paid.booking.id)).length, 1);

    const pending = await confirmedBooking(app);
    await pendingMpesa(app, pending);
    assertError(await pay(app, pending, { payment_method: 'cash' }), 409, 'invalid_state');
    assert.equal((await paymentsOfBooking(app, pending.booking.id)).length, 1);
  });

  it('replays the first answer for the same Idempotency-Key and body, creating one payment', async () => {
    const booked = await confirmedBooking(app);
    const headers = { 'idempotency-key': `pay-${booked.booking.id}` };
    const first = await pay(app, booked, {}, headers);
    assert.equal(first.status, 201, first.raw);
    const again = await pay(app, booked, {}, headers);
    assert.equal(again.status, 201, again.raw);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(again.body, first.body);
    assert.equal((await paymentsOfBooking(app, booked.booking.id)).length, 1);
    assert.equal(
      daraja.requestsFor('stk_push').filter((entry) => (entry.body as { AccountReference: string }).AccountReference === `Booking${booked.booking.id}`).length,
      1,
      'one STK push',
    );
  });

  it('answers 409 idempotency_key_reused for the same key with another body', async () => {
    const booked = await confirmedBooking(app);
    const headers = { 'idempotency-key': `reuse-${booked.booking.id}` };
    assert.equal((await pay(app, booked, {}, headers)).status, 201);
    assertError(await pay(app, booked, { payment_method: 'cash', phone_number: undefined }, headers), 409, 'idempotency_key_reused');
    assert.equal((await paymentsOfBooking(app, booked.booking.id)).length, 1);
  });

  it('lets exactly one of two concurrent payments of one booking through', async () => {
    for (let round = 0; round < (usingPostgres() ? 5 : 2); round++) {
      const booked = await confirmedBooking(app);
      const answers = await Promise.all([pay(app, booked, { payment_method: 'cash' }), pay(app, booked, { payment_method: 'cash' })]);
      assert.deepEqual(answers.map((answer) => answer.status).sort(), [201, 409], answers.map((answer) => answer.raw).join(' | '));
      assertError(
        answers.find((answer) => answer.status === 409)!,
        409,
        'invalid_state',
      );
      assert.equal((await paymentsOfBooking(app, booked.booking.id)).length, 1);
    }
  });

  it('refuses a card number anywhere in the body with 400 card_number_refused and stores nothing', async () => {
    const booked = await confirmedBooking(app);
    for (const extra of [{ card_number: '4111111111111111' }, { note: 'card 4242-4242-4242-4242 exp 12/29' }, { nested: { deep: ['5555 5555 5555 4444'] } }]) {
      assertError(await pay(app, booked, { payment_method: 'card', ...extra }), 400, 'card_number_refused');
    }
    assert.equal((await paymentsOfBooking(app, booked.booking.id)).length, 0);
    assert.equal((await bookingRow(app, booked.booking.id)).paymentStatus, 'unpaid');
  });
});

describe('POST /api/payments when the provider fails', () => {
  it('answers 503 when Daraja answers 500: the payment is failed with its reason, the booking unpaid, and a retry succeeds', async () => {
    const booked = await confirmedBooking(app);
    daraja.fail('stk_push', { status: 500 });
    const failed = await pay(app, booked);
    assertError(failed, 503, 'service_unavailable');
    const [row] = await paymentsOfBooking(app, booked.booking.id);
    assert.equal(row!.status, 'failed');
    assert.match(row!.failureReason!, /Daraja stk_push: Spike arrest violation/);
    assert.equal((await bookingRow(app, booked.booking.id)).paymentStatus, 'unpaid');

    const retry = await pay(app, booked);
    assert.equal(retry.status, 201, retry.raw);
    assert.equal((await bookingRow(app, booked.booking.id)).paymentStatus, 'pending');
  });

  it('answers 502 payment_provider_error when Daraja refuses the push', async () => {
    const booked = await confirmedBooking(app);
    daraja.fail('stk_push', { status: 400, body: { requestId: '1', errorCode: '400.002.02', errorMessage: 'Bad Request - Invalid PhoneNumber' } });
    const refused = await pay(app, booked);
    assertError(refused, 502, 'payment_provider_error');
    assert.match(refused.body.error, /Invalid PhoneNumber/);
    const [row] = await paymentsOfBooking(app, booked.booking.id);
    assert.equal(row!.status, 'failed');
    assert.match(row!.failureReason!, /Invalid PhoneNumber/);
    assert.equal((await bookingRow(app, booked.booking.id)).paymentStatus, 'unpaid');
  });

  it('answers 503 when Daraja does not answer in time, and the same Idempotency-Key then runs again', async () => {
    const booked = await confirmedBooking(app);
    const headers = { 'idempotency-key': `timeout-${booked.booking.id}` };
    daraja.fail('stk_push', { hang: true });
    assertError(await pay(app, booked, {}, headers), 503, 'service_unavailable');
    const [row] = await paymentsOfBooking(app, booked.booking.id);
    assert.equal(row!.status, 'failed');
    assert.match(row!.failureReason!, /did not answer within 1500 ms/);

    const retry = await pay(app, booked, {}, headers);
    assert.equal(retry.status, 201, retry.raw);
    assert.equal(retry.headers['idempotent-replayed'], undefined, 'ran again, not replayed');
    const replay = await pay(app, booked, {}, headers);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.body.id, retry.body.id);
    assert.equal((await paymentsOfBooking(app, booked.booking.id)).length, 2);
  });

  it('holds no transaction while waiting for the provider: the owner cancels the booking meanwhile without waiting', async () => {
    const booked = await confirmedBooking(app);
    daraja.fail('stk_push', { hang: true });
    const pushesBefore = daraja.requestsFor('stk_push').length;
    const payStarted = performance.now();
    const paying = pay(app, booked);
    while (daraja.requestsFor('stk_push').length === pushesBefore) await sleep(5);
    if (usingPostgres()) {
      // While the push hangs, no connection of this database sits in an open transaction.
      const [idle] = await queryRows<{ n: number }>(
        db,
        sql`select count(*)::int as n from pg_stat_activity where state = 'idle in transaction' and datname = current_database()`,
      );
      assert.equal(idle!.n, 0);
    }
    const started = performance.now();
    const cancelled = await call(app, 'PUT', `/api/bookings/${booked.booking.id}/cancel`, { token: booked.owner.token });
    const took = performance.now() - started;
    assert.equal(cancelled.status, 200, cancelled.raw);
    assert.ok(took < 1000, `the cancellation took ${Math.round(took)} ms, so it waited for the provider call`);
    assertError(await paying, 503, 'service_unavailable');
    assert.ok(performance.now() - payStarted < 1500 + 1000, 'the hung provider freed the request after PAYMENT_PROVIDER_TIMEOUT_MS');
    const stored = await bookingRow(app, booked.booking.id);
    assert.equal(stored.status, 'cancelled');
    assert.equal(stored.paymentStatus, 'unpaid');
    assert.equal((await paymentsOfBooking(app, booked.booking.id))[0]!.status, 'failed');
  });
});

describe('PUT /api/payments/:id/confirm', () => {
  it("lets the space's owner confirm a pending cash payment: completed with a receipt, booking paid", async () => {
    const booked = await confirmedBooking(app);
    const created = await pay(app, booked, { payment_method: 'cash' });
    assert.equal(created.status, 201, created.raw);
    assert.equal(created.body.checkout_request_id, null);
    const confirmed = await call(app, 'PUT', `/api/payments/${created.body.id}/confirm`, { token: booked.owner.token });
    assert.equal(confirmed.status, 200, confirmed.raw);
    assert.equal(confirmed.body.status, 'completed');
    assert.match(confirmed.body.receipt_number, /^RCP-\d{4}-\d{6}$/);
    assert.ok(confirmed.body.completed_at);
    assert.equal((await bookingRow(app, booked.booking.id)).paymentStatus, 'paid');
  });

  it('lets an admin confirm it too', async () => {
    const booked = await confirmedBooking(app);
    const created = await pay(app, booked, { payment_method: 'cash' });
    const confirmed = await call(app, 'PUT', `/api/payments/${created.body.id}/confirm`, { token: admin.token });
    assert.equal(confirmed.status, 200, confirmed.raw);
    assert.equal(confirmed.body.status, 'completed');
  });

  it('answers 403 for the payer, another owner and another client, 401 anonymous, and the payment stays pending', async () => {
    const booked = await confirmedBooking(app);
    const created = await pay(app, booked, { payment_method: 'cash' });
    for (const user of [booked.client, await createUser(app, { role: 'owner' }), await createUser(app)]) {
      assertError(await call(app, 'PUT', `/api/payments/${created.body.id}/confirm`, { token: user.token }), 403, 'forbidden');
    }
    assertError(await call(app, 'PUT', `/api/payments/${created.body.id}/confirm`), 401);
    assert.equal((await paymentRow(app, created.body.id))!.status, 'pending');
  });

  it('answers 409 for a payment that is not cash, or no longer pending', async () => {
    const booked = await confirmedBooking(app);
    const mpesa = await pendingMpesa(app, booked);
    assertError(await call(app, 'PUT', `/api/payments/${mpesa.id}/confirm`, { token: booked.owner.token }), 409, 'invalid_state');
    assert.equal((await paymentRow(app, mpesa.id))!.status, 'pending');

    const { owner, payment } = await paidByCash();
    assertError(await call(app, 'PUT', `/api/payments/${payment.id}/confirm`, { token: owner.token }), 409, 'invalid_state');
    assertError(await call(app, 'PUT', '/api/payments/987654321/confirm', { token: owner.token }), 404, 'not_found');
  });
});

describe('card payments through Stripe', () => {
  async function cardPayment() {
    const booked = await confirmedBooking(app);
    const created = await pay(app, booked, { payment_method: 'card', phone_number: undefined });
    assert.equal(created.status, 201, created.raw);
    return { ...booked, payment: created.body, intentId: created.body.checkout_request_id as string };
  }

  it("answers a pending card payment with the PaymentIntent's client_secret", async () => {
    const { payment, intentId } = await cardPayment();
    const intent = stripe.intents.get(intentId)!;
    assert.ok(intent, 'a PaymentIntent was created');
    assert.equal(payment.client_secret, intent.client_secret);
    assert.equal(intent.amount, 200_000);
    assert.equal(intent.currency, 'kes');
    assert.equal((intent.metadata as Record<string, string>).payment_id, String(payment.id));
    assert.equal(payment.status, 'pending');
    assert.equal((await paymentRow(app, payment.id))!.provider, 'stripe');
  });

  it('refuses a webhook with a bad signature, a tampered body or a stale timestamp with 400, changing nothing', async () => {
    const { payment, intentId } = await cardPayment();
    const object = { ...stripe.succeed(intentId) };
    const forged = signedStripeEvent('payment_intent.succeeded', object, 'whsec_someone_else_entirely', nowSeconds());
    assertError(await webhook(forged.payload, forged.header), 400, 'invalid_signature');
    const genuine = signedStripeEvent('payment_intent.succeeded', object, WEBHOOK_SECRET, nowSeconds());
    assertError(await webhook(genuine.payload.replace('"amount":200000', '"amount":1'), genuine.header), 400, 'invalid_signature');
    const stale = signedStripeEvent('payment_intent.succeeded', object, WEBHOOK_SECRET, nowSeconds() - 600);
    assertError(await webhook(stale.payload, stale.header), 400, 'invalid_signature');
    assertError(
      await call(app, 'POST', '/api/payments/stripe/webhook', { body: genuine.payload, headers: { 'content-type': 'application/json' } }),
      400,
      'invalid_signature',
    );

    assert.equal((await paymentRow(app, payment.id))!.status, 'pending');
    const seen = await db.select().from(providerEvents).where(eq(providerEvents.eventId, genuine.event.id));
    assert.equal(seen.length, 0);
  });

  it('completes the payment on payment_intent.succeeded, and a replayed event changes nothing', async () => {
    const { client, booking, payment, intentId } = await cardPayment();
    const intent = stripe.succeed(intentId);
    const event = signedStripeEvent('payment_intent.succeeded', { ...intent }, WEBHOOK_SECRET, nowSeconds());
    const answer = await webhook(event.payload, event.header);
    assert.equal(answer.status, 200, answer.raw);
    assert.deepEqual(answer.body, { received: true });
    const row = (await paymentRow(app, payment.id))!;
    assert.equal(row.status, 'completed');
    assert.equal(row.transactionId, intent.latest_charge);
    assert.match(row.receiptNumber!, /^RCP-\d{4}-\d{6}$/);
    assert.equal((await bookingRow(app, booking.id)).paymentStatus, 'paid');

    const replay = await webhook(event.payload, event.header);
    assert.equal(replay.status, 200, replay.raw);
    const after = (await paymentRow(app, payment.id))!;
    assert.equal(after.receiptNumber, row.receiptNumber);
    assert.equal(after.updatedAt.getTime(), row.updatedAt.getTime());
    const mails = await db.select().from(mailOutbox).where(eq(mailOutbox.toAddress, client.email.toLowerCase()));
    assert.equal(mails.filter((mail) => mail.subject.includes(row.receiptNumber!)).length, 1);
    assert.equal((await db.select().from(providerEvents).where(eq(providerEvents.eventId, event.event.id))).length, 1);
  });

  it("fails the payment on payment_intent.payment_failed, with the card's reason, and the booking is unpaid", async () => {
    const { booking, payment, intentId } = await cardPayment();
    const intent = stripe.decline(intentId, 'Your card has insufficient funds.');
    const event = signedStripeEvent('payment_intent.payment_failed', { ...intent }, WEBHOOK_SECRET, nowSeconds());
    assert.equal((await webhook(event.payload, event.header)).status, 200);
    const row = (await paymentRow(app, payment.id))!;
    assert.equal(row.status, 'failed');
    assert.equal(row.failureReason, 'Your card has insufficient funds.');
    assert.equal((await bookingRow(app, booking.id)).paymentStatus, 'unpaid');
  });

  it("fails a succeeded event whose amount is not the payment's", async () => {
    const { booking, payment, intentId } = await cardPayment();
    const intent = { ...stripe.succeed(intentId), amount_received: 100 };
    const event = signedStripeEvent('payment_intent.succeeded', intent, WEBHOOK_SECRET, nowSeconds());
    assert.equal((await webhook(event.payload, event.header)).status, 200);
    const row = (await paymentRow(app, payment.id))!;
    assert.equal(row.status, 'failed');
    assert.match(row.failureReason!, /amount/);
    assert.equal((await bookingRow(app, booking.id)).paymentStatus, 'unpaid');
  });
});

describe('GET /api/payments', () => {
  it('shows a client their own, an owner those of their spaces, an admin all, with the list shape', async () => {
    const first = await paidByCash();
    const second = await paidByCash(await confirmedBooking(app, { owner: first.owner }));
    const strangerPaid = await paidByCash();

    const mine = await call(app, 'GET', '/api/payments', { token: first.client.token });
    assert.equal(mine.status, 200, mine.raw);
    assert.deepEqual(
      mine.body.payments.map((payment: { id: number }) => payment.id),
      [first.payment.id],
    );
    assert.equal(mine.body.total, 1);
    assert.equal(mine.body.pages, 1);
    assert.equal(mine.body.current_page, 1);
    assert.equal(mine.body.per_page, 10);
    assert.equal(mine.headers['cache-control'], 'no-store');

    const hosted = await call(app, 'GET', '/api/payments', { token: first.owner.token });
    assert.deepEqual(hosted.body.payments.map((payment: { id: number }) => payment.id).sort(), [first.payment.id, second.payment.id].sort());

    const all = await call(app, 'GET', '/api/payments', { token: admin.token, query: { per_page: '100' } });
    const ids = all.body.payments.map((payment: { id: number }) => payment.id);
    for (const id of [first.payment.id, second.payment.id, strangerPaid.payment.id]) assert.ok(ids.includes(id));
    assert.equal(all.body.total, (await db.select({ id: payments.id }).from(payments)).length);
  });

  it('pages deterministically and filters by status and booking_id', async () => {
    const booked = await confirmedBooking(app);
    daraja.fail('stk_push', { status: 500 });
    await pay(app, booked);
    const pending = await pendingMpesa(app, booked);

    const page1 = await call(app, 'GET', '/api/payments', { token: booked.client.token, query: { per_page: '1' } });
    const page2 = await call(app, 'GET', '/api/payments', { token: booked.client.token, query: { per_page: '1', page: '2' } });
    const page3 = await call(app, 'GET', '/api/payments', { token: booked.client.token, query: { per_page: '1', page: '3' } });
    assert.equal(page1.body.total, 2);
    assert.equal(page1.body.pages, 2);
    assert.equal(page1.body.payments.length, 1);
    assert.notEqual(page1.body.payments[0].id, page2.body.payments[0].id);
    assert.deepEqual(page3.body.payments, []);

    const byStatus = await call(app, 'GET', '/api/payments', { token: booked.client.token, query: { status: 'pending' } });
    assert.deepEqual(
      byStatus.body.payments.map((payment: { id: number }) => payment.id),
      [pending.id],
    );
    const byBooking = await call(app, 'GET', '/api/payments', { token: admin.token, query: { booking_id: String(booked.booking.id) } });
    assert.equal(byBooking.body.total, 2);
    assertError(await call(app, 'GET', '/api/payments', { token: admin.token, query: { per_page: '101' } }), 400);
    assertError(await call(app, 'GET', '/api/payments', { token: admin.token, query: { status: 'paid' } }), 400);
    assertError(await call(app, 'GET', '/api/payments'), 401);
  });
});

describe('GET /api/payments/:id', () => {
  it("shows a payment to its payer, the space's owner and an admin; 403 to others; 404 unknown; 401 anonymous", async () => {
    const { client, owner, payment } = await paidByCash();
    for (const user of [client, owner, admin]) {
      const response = await call(app, 'GET', `/api/payments/${payment.id}`, { token: user.token });
      assert.equal(response.status, 200, response.raw);
      assert.deepEqual(response.body, payment);
    }
    for (const user of [await createUser(app), await createUser(app, { role: 'owner' })]) {
      assertError(await call(app, 'GET', `/api/payments/${payment.id}`, { token: user.token }), 403, 'forbidden');
    }
    assertError(await call(app, 'GET', '/api/payments/987654321', { token: admin.token }), 404, 'not_found');
    assertError(await call(app, 'GET', `/api/payments/${payment.id}`), 401);
  });
});

describe('GET /api/payments/:id with a non-canonical id', () => {
  it('answers 400 for 0<id> rather than the row of <id>', async () => {
    const { payment } = await paidByCash();
    for (const spelling of [`0${payment.id}`, `+${payment.id}`, `${payment.id}.0`]) {
      const response = await call(app, 'GET', `/api/payments/${spelling}`, { token: admin.token });
      assert.ok(response.status === 400 || response.status === 404, `${spelling}: ${response.status}`);
    }
  });
});

describe('GET /api/payments/:id/receipt', () => {
  it('answers every contract field as JSON', async () => {
    const booked = await confirmedBooking(app, { price: 1500, hours: 3 });
    const { payment, space, booking } = await paidByCash(booked);
    const receipt = await call(app, 'GET', `/api/payments/${payment.id}/receipt`, { token: booked.client.token });
    assert.equal(receipt.status, 200, receipt.raw);
    assert.deepEqual(Object.keys(receipt.body).sort(), [
      'amount',
      'booking_id',
      'currency',
      'end_time',
      'hours',
      'issued_at',
      'payer',
      'payment_id',
      'payment_method',
      'rate',
      'receipt_number',
      'space',
      'start_time',
      'transaction_id',
    ]);
    assert.equal(receipt.body.receipt_number, payment.receipt_number);
    assert.equal(receipt.body.issued_at, payment.completed_at);
    assert.equal(receipt.body.payment_id, payment.id);
    assert.equal(receipt.body.booking_id, booking.id);
    assert.deepEqual(receipt.body.payer, { name: 'Amina Wanjiru', email: booked.client.email });
    assert.deepEqual(receipt.body.space, { id: space.id, name: space.name, address: space.address, city: space.city });
    assert.equal(receipt.body.start_time, booking.start_time);
    assert.equal(receipt.body.end_time, booking.end_time);
    assert.equal(receipt.body.hours, 3);
    assert.equal(receipt.body.rate, 1500);
    assert.equal(receipt.body.amount, 4500);
    assert.equal(receipt.body.currency, 'KES');
    assert.equal(receipt.body.payment_method, 'cash');
    assert.equal(receipt.body.transaction_id, null);
    assert.equal(receipt.headers['cache-control'], 'no-store');
  });

  it('answers a PDF with Accept: application/pdf or ?format=pdf, showing the number, the amount and the payer', async () => {
    const booked = await confirmedBooking(app, { price: 1500, hours: 3 });
    const { payment } = await paidByCash(booked);
    for (const request of [
      { url: `/api/payments/${payment.id}/receipt`, headers: { accept: 'application/pdf' } },
      { url: `/api/payments/${payment.id}/receipt?format=pdf`, headers: {} },
    ]) {
      const pdf = await app.inject({ method: 'GET', url: request.url, headers: { ...request.headers, authorization: `Bearer ${booked.owner.token}` } });
      assert.equal(pdf.statusCode, 200);
      assert.equal(pdf.headers['content-type'], 'application/pdf');
      const { text } = await extractText(await getDocumentProxy(new Uint8Array(pdf.rawPayload)), { mergePages: true });
      assert.ok(text.includes(payment.receipt_number), text);
      assert.ok(text.includes('KES 4,500.00'), text);
      assert.ok(text.includes('Amina Wanjiru'), text);
    }
  });

  it('answers 409 for a pending or failed payment', async () => {
    const booked = await confirmedBooking(app);
    daraja.fail('stk_push', { status: 500 });
    await pay(app, booked);
    const [failed] = await paymentsOfBooking(app, booked.booking.id);
    assertError(await call(app, 'GET', `/api/payments/${failed!.id}/receipt`, { token: booked.client.token }), 409, 'invalid_state');
    const pending = await pendingMpesa(app, booked);
    assertError(await call(app, 'GET', `/api/payments/${pending.id}/receipt`, { token: booked.client.token }), 409, 'invalid_state');
    assertError(await call(app, 'GET', `/api/payments/${pending.id}/receipt?format=pdf`, { token: booked.client.token }), 409, 'invalid_state');
  });

  it('shows the receipt to the payer, the owner and an admin only', async () => {
    const { client, owner, payment } = await paidByCash();
    for (const user of [client, owner, admin]) assert.equal((await call(app, 'GET', `/api/payments/${payment.id}/receipt`, { token: user.token })).status, 200);
    for (const user of [await createUser(app), await createUser(app, { role: 'owner' })]) {
      assertError(await call(app, 'GET', `/api/payments/${payment.id}/receipt`, { token: user.token }), 403, 'forbidden');
      assertError(await call(app, 'GET', `/api/payments/${payment.id}/receipt?format=pdf`, { token: user.token }), 403, 'forbidden');
    }
    assertError(await call(app, 'GET', `/api/payments/${payment.id}/receipt`), 401);
  });

  it('keeps the receipt of an M-Pesa payment with its transaction id', async () => {
    const booked = await confirmedBooking(app);
    const pending = await pendingMpesa(app, booked);
    const body = successCallback(daraja, pending.checkout_request_id);
    assert.equal((await call(app, 'POST', callbackPath(), { body })).status, 200);
    const receipt = await call(app, 'GET', `/api/payments/${pending.id}/receipt`, { token: booked.client.token });
    assert.equal(receipt.status, 200, receipt.raw);
    assert.equal(receipt.body.payment_method, 'mpesa');
    assert.equal(receipt.body.transaction_id, (await paymentRow(app, pending.id))!.transactionId);
  });
});
