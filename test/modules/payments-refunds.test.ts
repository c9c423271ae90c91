import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { call } from '../helpers/app.ts';
import { assertError } from '../helpers/assertions.ts';
import { insertCompletedPayment } from '../helpers/bookings.ts';
import { createUser } from '../helpers/factories.ts';
import { queuedMails } from '../helpers/mail.ts';
import {
  DAY,
  HOUR,
  WEBHOOK_SECRET,
  bookingRow,
  callbackPath,
  confirmedBooking,
  mpesaReceiptOf,
  pay,
  paymentRow,
  paymentsApp,
  pendingMpesa,
  reversalPath,
  successCallback,
  type Booked,
  type BookingOptions,
} from '../helpers/payments.ts';
import { signedStripeEvent } from '../helpers/stripe.ts';

/** Refunds: by cancellation policy, in full from the host side, through each provider; the payment deadline; revenue. */

const { app, clock, daraja, stripe } = await paymentsApp();
const admin = await createUser(app, { role: 'admin' });
const MINUTE = 60_000;

const cancel = (booked: Booked, token = booked.client.token) => call(app, 'PUT', `/api/bookings/${booked.booking.id}/cancel`, { token, body: {} });
const quote = (booked: Booked, token = booked.client.token) => call(app, 'GET', `/api/bookings/${booked.booking.id}/cancellation-quote`, { token });

/** A confirmed booking paid in cash and confirmed by its owner (through the API). */
async function paidBooking(options: BookingOptions = {}) {
  const booked = await confirmedBooking(app, options);
  const created = await pay(app, booked, { payment_method: 'cash' });
  assert.equal(created.status, 201, created.raw);
  const confirmed = await call(app, 'PUT', `/api/payments/${created.body.id}/confirm`, { token: booked.owner.token });
  assert.equal(confirmed.status, 200, confirmed.raw);
  return { ...booked, payment: confirmed.body as { id: number; amount: number } & Record<string, any> };
}

/** An M-Pesa payment completed by Daraja's callback. */
async function paidByMpesa(options: BookingOptions = {}) {
  const booked = await confirmedBooking(app, options);
  const payment = await pendingMpesa(app, booked);
  const body = successCallback(daraja, payment.checkout_request_id);
  assert.equal((await call(app, 'POST', callbackPath(), { body })).status, 200);
  return { ...booked, payment, mpesaReceipt: mpesaReceiptOf(body) };
}

/** A card payment completed by Stripe's signed payment_intent.succeeded. */
async function paidByCard(options: BookingOptions = {}) {
  const booked = await confirmedBooking(app, options);
  const created = await pay(app, booked, { payment_method: 'card', phone_number: undefined });
  assert.equal(created.status, 201, created.raw);
  const intent = stripe.succeed(created.body.checkout_request_id);
  const event = signedStripeEvent('payment_intent.succeeded', { ...intent }, WEBHOOK_SECRET, Math.floor(clock.now().getTime() / 1000));
  const answer = await call(app, 'POST', '/api/payments/stripe/webhook', {
    body: event.payload,
    headers: { 'content-type': 'application/json', 'stripe-signature': event.header },
  });
  assert.equal(answer.status, 200, answer.raw);
  assert.equal((await paymentRow(app, created.body.id))!.status, 'completed');
  return { ...booked, payment: created.body, intentId: created.body.checkout_request_id as string };
}

async function assertRefunded(booked: Booked & { payment: { id: number } }, minor: number) {
  const row = (await paymentRow(app, booked.payment.id))!;
  assert.equal(row.status, 'refunded');
  assert.equal(row.refundedAmount, minor);
  assert.equal((await bookingRow(app, booked.booking.id)).paymentStatus, 'refunded');
  const view = await call(app, 'GET', `/api/payments/${booked.payment.id}`, { token: booked.client.token });
  assert.equal(view.body.status, 'refunded');
  assert.equal(view.body.refunded_amount, minor / 100);
}

describe("a booker's cancellation of a paid booking, by the space's policy", () => {
  // Each case: booked at `base` to start `startsIn` later, cancelled by the booker `cancelAt` after `base`.
  const cases: Array<{ policy: 'flexible' | 'moderate' | 'strict'; startsIn: number; cancelAt: (start: number) => number; percent: number; what: string }> = [
    { policy: 'flexible', startsIn: 3 * DAY, cancelAt: (start) => start - DAY - MINUTE, percent: 100, what: 'just before 24 h before the start' },
    { policy: 'flexible', startsIn: 3 * DAY, cancelAt: (start) => start - DAY + MINUTE, percent: 0, what: 'just within 24 h of the start' },
    { policy: 'moderate', startsIn: 10 * DAY, cancelAt: (start) => start - 5 * DAY - MINUTE, percent: 100, what: 'just before 5 days before' },
    { policy: 'moderate', startsIn: 10 * DAY, cancelAt: (start) => start - 5 * DAY + MINUTE, percent: 50, what: 'just within 5 days' },
    { policy: 'moderate', startsIn: 10 * DAY, cancelAt: (start) => start - DAY - MINUTE, percent: 50, what: 'just before 24 h before' },
    { policy: 'moderate', startsIn: 10 * DAY, cancelAt: (start) => start - DAY + MINUTE, percent: 0, what: 'just within 24 h' },
    {
      policy: 'strict',
      startsIn: 20 * DAY,
      cancelAt: (start) => start - 20 * DAY + 2 * DAY - MINUTE,
      percent: 100,
      what: 'just within 48 h of booking, 18 days ahead',
    },
    { policy: 'strict', startsIn: 20 * DAY, cancelAt: (start) => start - 20 * DAY + 2 * DAY + MINUTE, percent: 50, what: 'just after 48 h since booking' },
    {
      policy: 'strict',
      startsIn: 14 * DAY + HOUR + MINUTE,
      cancelAt: (start) => start - 14 * DAY - MINUTE,
      percent: 100,
      what: 'within 48 h of booking and just over 14 days ahead',
    },
    {
      policy: 'strict',
      startsIn: 14 * DAY + HOUR - MINUTE,
      cancelAt: (start) => start - 14 * DAY + MINUTE,
      percent: 50,
      what: 'within 48 h of booking but just under 14 days ahead',
    },
    { policy: 'strict', startsIn: 20 * DAY, cancelAt: (start) => start - 7 * DAY - MINUTE, percent: 50, what: 'just before 7 days before' },
    { policy: 'strict', startsIn: 20 * DAY, cancelAt: (start) => start - 7 * DAY + MINUTE, percent: 0, what: 'just within 7 days' },
  ];
  const base = clock.now().getTime();

  for (const { policy, startsIn, cancelAt, percent, what } of cases) {
    it(`${policy}, ${what}: refunds ${percent} %, and the quote said so`, async () => {
      clock.set(new Date(base));
      const booked = await paidBooking({ policy, startsInMs: startsIn, price: 1000, hours: 2 });
      const start = new Date(booked.booking.start_time).getTime();
      clock.set(new Date(cancelAt(start)));

      const quoted = await quote(booked);
      assert.equal(quoted.status, 200, quoted.raw);
      assert.equal(quoted.body.policy, policy);
      assert.equal(quoted.body.currency, 'KES');
      assert.equal(quoted.body.refund_amount, (2000 * percent) / 100, quoted.body.rule);

      const cancelled = await cancel(booked);
      assert.equal(cancelled.status, 200, cancelled.raw);
      assert.equal(cancelled.body.status, 'cancelled');
      const row = (await paymentRow(app, booked.payment.id))!;
      assert.equal(row.refundedAmount / 100, quoted.body.refund_amount, 'the cancellation refunds what the quote said');
      if (percent > 0) {
        await assertRefunded(booked, (200_000 * percent) / 100);
        assert.equal(cancelled.body.payment_status, 'refunded');
      } else {
        assert.equal(row.status, 'completed', 'nothing is refunded, so the payment stands');
        assert.equal(cancelled.body.payment_status, 'paid');
      }
    });
  }

  it('quotes 0 for an unpaid booking, with the rule saying why', async () => {
    clock.set(new Date(base));
    const booked = await confirmedBooking(app, { policy: 'flexible' });
    const quoted = await quote(booked);
    assert.equal(quoted.status, 200, quoted.raw);
    assert.equal(quoted.body.refund_amount, 0);
    assert.match(quoted.body.rule, /nothing has been paid/);
  });
});

describe('cancellations from the host side refund 100 %', () => {
  it("when the space's owner or an admin cancels a paid booking, whatever the policy", async () => {
    clock.set(new Date(clock.now().getTime() + MINUTE));
    for (const who of ['owner', 'admin'] as const) {
      const booked = await paidBooking({ policy: 'strict', startsInMs: 2 * DAY });
      const quoted = await quote(booked, who === 'owner' ? booked.owner.token : admin.token);
      assert.equal(quoted.body.refund_amount, 2000);
      const cancelled = await cancel(booked, who === 'owner' ? booked.owner.token : admin.token);
      assert.equal(cancelled.status, 200, cancelled.raw);
      assert.equal(cancelled.body.payment_status, 'refunded');
      await assertRefunded(booked, 200_000);
    }
  });

  it('when an admin deletes the space with force=true', async () => {
    const booked = await paidBooking({ policy: 'strict', startsInMs: 2 * DAY });
    assertError(await call(app, 'DELETE', `/api/spaces/${booked.space.id}`, { token: admin.token }), 409, 'invalid_state');
    const deleted = await call(app, 'DELETE', `/api/spaces/${booked.space.id}`, { token: admin.token, query: { force: 'true' } });
    assert.equal(deleted.status, 200, deleted.raw);
    assert.equal((await bookingRow(app, booked.booking.id)).status, 'cancelled');
    await assertRefunded(booked, 200_000);
  });

  it("when an admin deactivates the space's owner", async () => {
    const booked = await paidBooking({ policy: 'strict', startsInMs: 2 * DAY });
    const deleted = await call(app, 'DELETE', `/api/users/${booked.owner.id}`, { token: admin.token });
    assert.equal(deleted.status, 200, deleted.raw);
    assert.equal((await bookingRow(app, booked.booking.id)).status, 'cancelled');
    await assertRefunded(booked, 200_000);
  });

  it('when an admin deactivates the guest', async () => {
    const booked = await paidBooking({ policy: 'strict', startsInMs: 2 * DAY });
    assert.equal((await call(app, 'DELETE', `/api/users/${booked.client.id}`, { token: admin.token })).status, 200);
    assert.equal((await bookingRow(app, booked.booking.id)).status, 'cancelled');
    const row = (await paymentRow(app, booked.payment.id))!;
    assert.equal(row.status, 'refunded');
    assert.equal(row.refundedAmount, 200_000);
  });
});

describe("refunds through the payment's own provider", () => {
  it('M-Pesa: a Daraja reversal of the M-Pesa receipt, completed by the reversal result', async () => {
    const booked = await paidByMpesa({ policy: 'flexible' });
    const before = daraja.requestsFor('reversal').length;
    const cancelled = await cancel(booked);
    assert.equal(cancelled.status, 200, cancelled.raw);
    const reversals = daraja.requestsFor('reversal').slice(before);
    assert.equal(reversals.length, 1);
    const request = reversals[0]!.body as Record<string, unknown>;
    assert.equal(request.TransactionID, booked.mpesaReceipt);
    assert.equal(request.Amount, 2000);
    assert.equal(request.ResultURL, `http://127.0.0.1:9${reversalPath()}`);
    const waiting = (await paymentRow(app, booked.payment.id))!;
    assert.equal(waiting.status, 'completed', 'until Daraja reports the reversal');
    assert.equal(waiting.refundState, 'pending');

    const conversationId = [...daraja.reversals.values()].find((reversal) => reversal.request.TransactionID === booked.mpesaReceipt)!.conversationId;
    const result = await call(app, 'POST', reversalPath(), { body: daraja.reversalResultBody(conversationId) });
    assert.equal(result.status, 200, result.raw);
    assert.deepEqual(result.body, { ResultCode: 0, ResultDesc: 'Accepted' });
    await assertRefunded(booked, 200_000);
    const again = await call(app, 'POST', reversalPath(), { body: daraja.reversalResultBody(conversationId) });
    assert.equal(again.status, 200);
    await assertRefunded(booked, 200_000);
  });

  it('M-Pesa: a reversal result with a wrong token is 404, an unknown ConversationID is 404, and nothing changes', async () => {
    const booked = await paidByMpesa({ policy: 'flexible' });
    await cancel(booked);
    const conversationId = [...daraja.reversals.values()].find((reversal) => reversal.request.TransactionID === booked.mpesaReceipt)!.conversationId;
    assertError(await call(app, 'POST', reversalPath('nope'), { body: daraja.reversalResultBody(conversationId) }), 404);
    const unknown = daraja.reversalResultBody(conversationId);
    unknown.Result.ConversationID = 'AG_00000000_unknown';
    assertError(await call(app, 'POST', reversalPath(), { body: unknown }), 404);
    assert.equal((await paymentRow(app, booked.payment.id))!.status, 'completed');
  });

  it('M-Pesa: a 50 % share of an odd number of shillings is refunded in whole shillings, rounded down', async () => {
    const booked = await paidByMpesa({ policy: 'moderate', price: 1005, hours: 1, startsInMs: 3 * DAY });
    const before = daraja.requestsFor('reversal').length;
    assert.equal((await cancel(booked)).status, 200);
    const sent = daraja.requestsFor('reversal').slice(before);
    assert.equal(sent.length, 1, 'the reversal was sent, not refused for its half shilling');
    assert.equal((sent[0]!.body as { Amount: number }).Amount, 502);
    const row = (await paymentRow(app, booked.payment.id))!;
    assert.equal(row.refundDue, 50_200);
    await call(app, 'POST', reversalPath(), { body: daraja.reversalResultBody(row.refundReference!) });
    await assertRefunded(booked, 50_200);
  });

  it('card: a Stripe refund of the PaymentIntent, refunded at once when Stripe says succeeded', async () => {
    const booked = await paidByCard({ policy: 'flexible' });
    const cancelled = await cancel(booked, booked.owner.token);
    assert.equal(cancelled.status, 200, cancelled.raw);
    const refund = [...stripe.refunds.values()].find((entry) => entry.payment_intent === booked.intentId)!;
    assert.ok(refund, 'a refund was created at Stripe');
    assert.equal(refund.amount, 200_000);
    await assertRefunded(booked, 200_000);
  });

  it('card: a pending Stripe refund is completed by the charge.refunded webhook', async () => {
    const booked = await paidByCard({ policy: 'flexible' });
    stripe.refundStatus = 'pending';
    try {
      assert.equal((await cancel(booked)).status, 200);
    } finally {
      stripe.refundStatus = 'succeeded';
    }
    assert.equal((await paymentRow(app, booked.payment.id))!.status, 'completed');
    const charge = { id: 'ch_refunded', object: 'charge', payment_intent: booked.intentId, amount_refunded: 200_000, refunded: true };
    const event = signedStripeEvent('charge.refunded', charge, WEBHOOK_SECRET, Math.floor(clock.now().getTime() / 1000));
    const answer = await call(app, 'POST', '/api/payments/stripe/webhook', {
      body: event.payload,
      headers: { 'content-type': 'application/json', 'stripe-signature': event.header },
    });
    assert.equal(answer.status, 200, answer.raw);
    await assertRefunded(booked, 200_000);
  });

  it('M-Pesa: a Daraja failure keeps the cancellation, leaves the refund owed, and the sweep sends it once Daraja works', async () => {
    const booked = await paidByMpesa({ policy: 'flexible' });
    daraja.fail('reversal', { status: 500 });
    const cancelled = await cancel(booked);
    assert.equal(cancelled.status, 200, cancelled.raw);
    assert.equal(cancelled.body.status, 'cancelled');
    const owed = (await paymentRow(app, booked.payment.id))!;
    assert.equal(owed.status, 'completed');
    assert.equal(owed.refundState, 'due');
    assert.equal(owed.refundDue, 200_000);
    assert.ok(owed.refundError);

    clock.advance(2 * MINUTE);
    await app.services.payments.sweep();
    const sent = (await paymentRow(app, booked.payment.id))!;
    assert.equal(sent.refundState, 'pending');
    await call(app, 'POST', reversalPath(), { body: daraja.reversalResultBody(sent.refundReference!) });
    await assertRefunded(booked, 200_000);
  });

  it('card: a Stripe failure leaves the refund owed, and the sweep retries it', async () => {
    const booked = await paidByCard({ policy: 'flexible' });
    stripe.fail({ status: 500 });
    assert.equal((await cancel(booked)).status, 200);
    assert.equal((await bookingRow(app, booked.booking.id)).status, 'cancelled');
    assert.equal((await paymentRow(app, booked.payment.id))!.refundState, 'due');
    clock.advance(2 * MINUTE);
    await app.services.payments.sweep();
    await assertRefunded(booked, 200_000);
  });

  it('M-Pesa: a payment the STK query completed can still be reversed once its callback came', async () => {
    const booked = await confirmedBooking(app, { policy: 'flexible' });
    const payment = await pendingMpesa(app, booked);
    const body = successCallback(daraja, payment.checkout_request_id);
    clock.advance(2 * MINUTE);
    await app.services.payments.sweep();
    assert.equal((await paymentRow(app, payment.id))!.status, 'completed');
    await call(app, 'POST', callbackPath(), { body });
    const before = daraja.requestsFor('reversal').length;
    assert.equal((await cancel(booked)).status, 200);
    assert.equal(daraja.requestsFor('reversal').length, before + 1);
    assert.equal((daraja.requestsFor('reversal').at(-1)!.body as { TransactionID: string }).TransactionID, mpesaReceiptOf(body));
  });
});

describe('a payment that arrives after its booking was cancelled', () => {
  it('is completed, then refunded in full through a reversal', async () => {
    const booked = await confirmedBooking(app, { policy: 'strict' });
    const payment = await pendingMpesa(app, booked);
    assert.equal((await cancel(booked, booked.owner.token)).status, 200);
    const before = daraja.requestsFor('reversal').length;
    const body = successCallback(daraja, payment.checkout_request_id);
    assert.equal((await call(app, 'POST', callbackPath(), { body })).status, 200);
    const row = (await paymentRow(app, payment.id))!;
    assert.equal(row.status, 'completed');
    assert.equal(row.refundDue, 200_000);
    assert.equal(daraja.requestsFor('reversal').length, before + 1);
    await call(app, 'POST', reversalPath(), { body: daraja.reversalResultBody(row.refundReference!) });
    await assertRefunded({ ...booked, payment }, 200_000);
  });

  it('quotes what an M-Pesa cancellation refunds, in whole shillings', async () => {
    const booked = await paidByMpesa({ policy: 'moderate', price: 1005, hours: 1, startsInMs: 3 * DAY });
    const quoted = await quote(booked);
    assert.equal((await cancel(booked)).status, 200);
    assert.equal(quoted.body.refund_amount, (await paymentRow(app, booked.payment.id))!.refundDue! / 100);
  });
});

describe('POST /api/payments/:id/refund', () => {
  it('lets an admin refund a completed payment in full', async () => {
    const booked = await paidBooking();
    const refunded = await call(app, 'POST', `/api/payments/${booked.payment.id}/refund`, { token: admin.token });
    assert.equal(refunded.status, 200, refunded.raw);
    assert.equal(refunded.body.status, 'refunded');
    assert.equal(refunded.body.refunded_amount, 2000);
    await assertRefunded(booked, 200_000);
  });

  it('refunds an M-Pesa payment through a reversal: still completed until the result comes', async () => {
    const booked = await paidByMpesa();
    const answer = await call(app, 'POST', `/api/payments/${booked.payment.id}/refund`, { token: admin.token });
    assert.equal(answer.status, 200, answer.raw);
    assert.equal(answer.body.status, 'completed');
    const row = (await paymentRow(app, booked.payment.id))!;
    assert.equal(row.refundState, 'pending');
    await call(app, 'POST', reversalPath(), { body: daraja.reversalResultBody(row.refundReference!) });
    await assertRefunded(booked, 200_000);
  });

  it('answers 409 the second time, and for a payment not completed', async () => {
    const booked = await paidBooking();
    assert.equal((await call(app, 'POST', `/api/payments/${booked.payment.id}/refund`, { token: admin.token })).status, 200);
    assertError(await call(app, 'POST', `/api/payments/${booked.payment.id}/refund`, { token: admin.token }), 409, 'invalid_state');
    const pending = await pendingMpesa(app, await confirmedBooking(app));
    assertError(await call(app, 'POST', `/api/payments/${pending.id}/refund`, { token: admin.token }), 409, 'invalid_state');
    assertError(await call(app, 'POST', '/api/payments/987654321/refund', { token: admin.token }), 404, 'not_found');
  });

  it("answers 403 to the payer and the space's owner, 401 anonymous, and nothing is refunded", async () => {
    const booked = await paidBooking();
    for (const user of [booked.client, booked.owner])
      assertError(await call(app, 'POST', `/api/payments/${booked.payment.id}/refund`, { token: user.token }), 403, 'forbidden');
    assertError(await call(app, 'POST', `/api/payments/${booked.payment.id}/refund`), 401);
    const row = (await paymentRow(app, booked.payment.id))!;
    assert.equal(row.status, 'completed');
    assert.equal(row.refundState, null);
  });
});

describe('the payment deadline (bookings.sweep)', () => {
  it('cancels a confirmed booking still unpaid BOOKING_PAYMENT_TTL_HOURS after approval, as unpaid by the system, and mails the guest', async () => {
    const unpaid = await confirmedBooking(app, { startsInMs: 5 * DAY });
    const pendingPayment = await confirmedBooking(app, { startsInMs: 5 * DAY });
    await pendingMpesa(app, pendingPayment);
    const paid = await paidBooking({ startsInMs: 5 * DAY });

    clock.advance(24 * HOUR - MINUTE);
    await app.services.bookings.sweep();
    assert.equal((await bookingRow(app, unpaid.booking.id)).status, 'confirmed', 'not before the deadline');

    clock.advance(2 * MINUTE);
    await app.services.bookings.sweep();
    const cancelled = await bookingRow(app, unpaid.booking.id);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(cancelled.cancellationReason, 'unpaid');
    assert.equal(cancelled.cancelledBy, 'system');
    const view = await call(app, 'GET', `/api/bookings/${unpaid.booking.id}`, { token: unpaid.client.token });
    assert.equal(view.body.cancellation_reason, 'unpaid');
    assert.equal(view.body.cancelled_by, 'system');
    const mails = await queuedMails(app, unpaid.client.email);
    assert.ok(
      mails.some((mail) => /unpaid|not paid|payment/i.test(mail.subject + mail.textBody) && /cancel/i.test(mail.subject + mail.textBody)),
      mails.map((mail) => mail.subject).join(' | '),
    );

    assert.equal((await bookingRow(app, pendingPayment.booking.id)).status, 'confirmed', 'a payment is under way');
    assert.equal((await bookingRow(app, paid.booking.id)).status, 'confirmed', 'paid');
  });

  it('cancels an unpaid booking at its start, before the TTL runs out', async () => {
    const soon = await confirmedBooking(app, { startsInMs: 3 * HOUR });
    clock.advance(3 * HOUR - 2 * MINUTE);
    await app.services.bookings.sweep();
    assert.equal((await bookingRow(app, soon.booking.id)).status, 'confirmed');
    clock.advance(3 * MINUTE);
    await app.services.bookings.sweep();
    const row = await bookingRow(app, soon.booking.id);
    assert.equal(row.status, 'cancelled');
    assert.equal(row.cancellationReason, 'unpaid');
  });
});

describe('GET /api/spaces/stats revenue', () => {
  it("is completed payments minus refunds, per currency, over the owner's spaces", async () => {
    const owner = await createUser(app, { role: 'owner' });
    const empty = await call(app, 'GET', '/api/spaces/stats', { token: owner.token });
    assert.equal(empty.status, 200, empty.raw);
    assert.deepEqual(empty.body.revenue, { total: 0, currency: 'KES', by_currency: [] });

    const kept = await paidBooking({ owner, price: 1000, hours: 2 });
    const halfBack = await paidBooking({ owner, price: 1000, hours: 3, policy: 'moderate', startsInMs: 3 * DAY });
    assert.equal((await cancel(halfBack)).status, 200);
    assert.equal((await paymentRow(app, halfBack.payment.id))!.refundedAmount, 150_000);
    const allBack = await paidBooking({ owner, price: 500, hours: 2 });
    assert.equal((await cancel(allBack, owner.token)).status, 200);
    const dollars = await confirmedBooking(app, { owner, price: 40, hours: 2, currency: 'USD' });
    await insertCompletedPayment(app, dollars.booking.id);
    await paidBooking({ price: 9999 });

    const stats = await call(app, 'GET', '/api/spaces/stats', { token: owner.token });
    assert.equal(stats.status, 200, stats.raw);
    assert.deepEqual(stats.body.revenue, {
      total: 3500,
      currency: 'KES',
      by_currency: [
        { currency: 'KES', total: 3500 },
        { currency: 'USD', total: 80 },
      ],
    });
    assert.ok(kept);

    const all = await call(app, 'GET', '/api/spaces/stats', { token: admin.token });
    assert.ok(all.body.revenue.by_currency.find((entry: { currency: string }) => entry.currency === 'KES').total >= 3500 + 19_998);
  });
});
