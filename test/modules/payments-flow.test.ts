import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { extractText, getDocumentProxy } from 'unpdf';
import { bookings, mailOutbox, payments } from '../../src/db/schema/index.ts';
import { buildTestApp, call } from '../helpers/app.ts';
import { createUser } from '../helpers/factories.ts';
import { createSpace } from '../helpers/spaces.ts';

/**
 * The money path end to end on the simulated providers, as `npm start` with no configuration
 * runs it: booking → approval → payment → the provider's own callback → completed → receipt.
 */

// The simulated callback must not overtake the service's own write of the provider reference (with
// no delay, a loaded machine let it arrive first, and a payment whose reference is not stored yet
// waits for the STK query sweep, which this app does not run). A real callback comes seconds later.
const app = await buildTestApp({ env: { SIMULATED_PAYMENT_DELAY_MS: '300' } });
const db = app.services.database.db;

async function confirmedBooking(price = 1500) {
  const owner = await createUser(app, { role: 'owner' });
  const client = await createUser(app, { first_name: 'Amina', last_name: 'Wanjiru' });
  const space = await createSpace(app, owner.token, { price_per_hour: price });
  const start = new Date(Date.now() + 3 * 86_400_000);
  start.setUTCHours(9, 0, 0, 0);
  const end = new Date(start.getTime() + 3 * 3_600_000);
  const booked = await call(app, 'POST', '/api/bookings', {
    token: client.token,
    body: { space_id: space.id, start_time: start.toISOString(), end_time: end.toISOString() },
  });
  assert.equal(booked.status, 201, booked.raw);
  const approved = await call(app, 'PUT', `/api/bookings/${booked.body.id}/approve`, { token: owner.token });
  assert.equal(approved.status, 200, approved.raw);
  return { owner, client, space, booking: booked.body };
}

async function settled(paymentId: number) {
  // The simulated provider answers after its delay, from a timer; a loaded machine may take seconds.
  for (let i = 0; i < 500; i++) {
    const [row] = await db.select().from(payments).where(eq(payments.id, paymentId));
    if (row && row.status !== 'pending') return row;
    await sleep(20);
  }
  throw new Error(`payment ${paymentId} stayed pending`);
}

describe('paying with the simulated providers', () => {
  it('M-Pesa: an STK push, then the simulated Daraja callback completes the payment, numbers its receipt and marks the booking paid', async () => {
    const { client, booking } = await confirmedBooking();
    const created = await call(app, 'POST', '/api/payments', {
      token: client.token,
      body: { booking_id: booking.id, payment_method: 'mpesa', phone_number: '0712 345 678', amount: 1 },
    });
    assert.equal(created.status, 201, created.raw);
    assert.equal(created.body.status, 'pending');
    assert.equal(created.body.amount, 4500, 'the booking total, whatever the body says');
    assert.match(created.body.checkout_request_id, /^ws_CO_/);

    const row = await settled(created.body.id);
    assert.equal(row.status, 'completed');
    assert.match(row.receiptNumber!, /^RCP-\d{4}-\d{6}$/);
    assert.ok(row.transactionId, 'the M-Pesa receipt');
    assert.equal(row.phoneNumber, '254712345678');
    const [stored] = await db.select().from(bookings).where(eq(bookings.id, booking.id));
    assert.equal(stored!.paymentStatus, 'paid');

    const receipt = await call(app, 'GET', `/api/payments/${row.id}/receipt`, { token: client.token });
    assert.equal(receipt.status, 200, receipt.raw);
    assert.equal(receipt.body.receipt_number, row.receiptNumber);
    assert.equal(receipt.body.amount, 4500);
    assert.equal(receipt.body.hours, 3);
    assert.equal(receipt.body.rate, 1500);
    assert.equal(receipt.body.payer.name, 'Amina Wanjiru');

    const pdf = await app.inject({ method: 'GET', url: `/api/payments/${row.id}/receipt?format=pdf`, headers: { authorization: `Bearer ${client.token}` } });
    assert.equal(pdf.statusCode, 200);
    assert.equal(pdf.headers['content-type'], 'application/pdf');
    const { text } = await extractText(await getDocumentProxy(new Uint8Array(pdf.rawPayload)), { mergePages: true });
    assert.ok(text.includes(row.receiptNumber!), text);
    assert.ok(text.includes('KES 4,500.00'), text);
    assert.ok(text.includes('Amina Wanjiru'), text);

    const mails = await db.select().from(mailOutbox).where(eq(mailOutbox.toAddress, client.email));
    const receiptMail = mails.find((mail) => mail.subject.includes(row.receiptNumber!));
    assert.ok(receiptMail, `a receipt mail among ${mails.map((mail) => mail.subject).join(' | ')}`);
    assert.deepEqual(receiptMail.attachments, [{ kind: 'receipt', ref: String(row.id), filename: `${row.receiptNumber}.pdf`, contentType: 'application/pdf' }]);
  });

  it('M-Pesa: a phone number ending in 000 fails, and the booking may be paid again', async () => {
    const { client, booking } = await confirmedBooking();
    const created = await call(app, 'POST', '/api/payments', {
      token: client.token,
      body: { booking_id: booking.id, payment_method: 'mpesa', phone_number: '0712345000' },
    });
    assert.equal(created.status, 201, created.raw);
    const row = await settled(created.body.id);
    assert.equal(row.status, 'failed');
    assert.ok(row.failureReason);
    const [stored] = await db.select().from(bookings).where(eq(bookings.id, booking.id));
    assert.equal(stored!.paymentStatus, 'unpaid');
    const again = await call(app, 'POST', '/api/payments', { token: client.token, body: { booking_id: booking.id, payment_method: 'cash' } });
    assert.equal(again.status, 201, again.raw);
  });

  it('card: a client_secret, then the signed simulated Stripe event completes it', async () => {
    const { client, booking } = await confirmedBooking();
    const created = await call(app, 'POST', '/api/payments', { token: client.token, body: { booking_id: booking.id, payment_method: 'card' } });
    assert.equal(created.status, 201, created.raw);
    assert.ok(created.body.client_secret);
    const row = await settled(created.body.id);
    assert.equal(row.status, 'completed');
  });

  it('cash: pending until the owner confirms; a cancellation by the host then refunds it in full', async () => {
    const { owner, client, booking } = await confirmedBooking();
    const created = await call(app, 'POST', '/api/payments', { token: client.token, body: { booking_id: booking.id, payment_method: 'cash' } });
    assert.equal(created.status, 201, created.raw);
    const confirmed = await call(app, 'PUT', `/api/payments/${created.body.id}/confirm`, { token: owner.token });
    assert.equal(confirmed.status, 200, confirmed.raw);
    assert.equal(confirmed.body.status, 'completed');
    const cancelled = await call(app, 'PUT', `/api/bookings/${booking.id}/cancel`, { token: owner.token });
    assert.equal(cancelled.status, 200, cancelled.raw);
    assert.equal(cancelled.body.payment_status, 'refunded');
    const [row] = await db.select().from(payments).where(eq(payments.id, created.body.id));
    assert.equal(row!.status, 'refunded');
    assert.equal(row!.refundedAmount, 450_000);
  });
});

describe('in production, without a provider configured', () => {
  it('answers 503 service_unavailable for M-Pesa and card, leaves the booking unpaid, and still takes cash', async () => {
    const production = await buildTestApp({
      env: { NODE_ENV: 'production', CORS_ORIGINS: 'https://spacer.example', PUBLIC_URL: 'https://api.spacer.example' },
      database: app.services.database,
    });
    const owner = await createUser(production, { role: 'owner' });
    const client = await createUser(production);
    const space = await createSpace(production, owner.token);
    const start = new Date(Date.now() + 3 * 86_400_000);
    start.setUTCHours(9, 0, 0, 0);
    const booked = await call(production, 'POST', '/api/bookings', {
      token: client.token,
      body: { space_id: space.id, start_time: start.toISOString(), end_time: new Date(start.getTime() + 7_200_000).toISOString() },
    });
    assert.equal(booked.status, 201, booked.raw);
    assert.equal((await call(production, 'PUT', `/api/bookings/${booked.body.id}/approve`, { token: owner.token })).status, 200);
    for (const body of [{ payment_method: 'mpesa', phone_number: '0712345678' }, { payment_method: 'card' }]) {
      const refused = await call(production, 'POST', '/api/payments', { token: client.token, body: { booking_id: booked.body.id, ...body } });
      assert.equal(refused.status, 503, refused.raw);
      assert.equal(refused.body.code, 'service_unavailable');
    }
    const [stored] = await db.select().from(bookings).where(eq(bookings.id, booked.body.id));
    assert.equal(stored!.paymentStatus, 'unpaid');
    assert.equal((await db.select().from(payments).where(eq(payments.bookingId, booked.body.id))).length, 0);
    const cash = await call(production, 'POST', '/api/payments', { token: client.token, body: { booking_id: booked.body.id, payment_method: 'cash' } });
    assert.equal(cash.status, 201, cash.raw);
  });
});

describe('a pending cash payment when its booking is cancelled', () => {
  it('fails, so the cash can no longer be confirmed for a cancelled booking', async () => {
    const { owner, client, booking } = await confirmedBooking();
    const created = await call(app, 'POST', '/api/payments', { token: client.token, body: { booking_id: booking.id, payment_method: 'cash' } });
    assert.equal(created.status, 201, created.raw);
    assert.equal((await call(app, 'PUT', `/api/bookings/${booking.id}/cancel`, { token: client.token })).status, 200);
    const [row] = await db.select().from(payments).where(eq(payments.id, created.body.id));
    assert.equal(row!.status, 'failed');
    assert.match(row!.failureReason!, /cancelled/);
    const confirm = await call(app, 'PUT', `/api/payments/${created.body.id}/confirm`, { token: owner.token });
    assert.equal(confirm.status, 409, confirm.raw);
  });
});
