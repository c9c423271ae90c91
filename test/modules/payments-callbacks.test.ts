import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eq, like } from 'drizzle-orm';
import { mailOutbox, payments, receiptCounters } from '../../src/db/schema/index.ts';
import { receiptYear } from '../../src/modules/payments/payments.rules.ts';
import { call } from '../helpers/app.ts';
import { assertError } from '../helpers/assertions.ts';
import { usingPostgres } from '../helpers/database.ts';
import { queuedMails } from '../helpers/mail.ts';
import {
  bookingRow,
  callbackPath,
  confirmedBooking,
  mpesaReceiptOf,
  paymentRow,
  paymentsApp,
  pendingMpesa,
  successCallback,
  type Booked,
} from '../helpers/payments.ts';

/** Daraja's STK callbacks and the STK query that stands in when they never come. */

const { app, clock, daraja, logs, db } = await paymentsApp({ env: { MPESA_QUERY_AFTER_S: '60' } });
const DARAJA_ACK = { ResultCode: 0, ResultDesc: 'Accepted' };

const callback = (body: unknown, token?: string) => call(app, 'POST', callbackPath(token), { body });

async function pendingPayment(options: Parameters<typeof confirmedBooking>[1] = {}) {
  const booked = await confirmedBooking(app, options);
  return { ...booked, payment: await pendingMpesa(app, booked) };
}

const receiptMailsOf = async (booked: Booked, paymentId: number) =>
  (await queuedMails(app, booked.client.email)).filter((mail) =>
    (mail.attachments as Array<{ ref: string }> | null)?.some((attachment) => attachment.ref === String(paymentId)),
  );

describe('POST /api/payments/mpesa/callback/:token', () => {
  it('completes the payment on success: transaction_id is the M-Pesa receipt, a receipt number, booking paid, receipt mail queued', async () => {
    const booked = await pendingPayment();
    const body = successCallback(daraja, booked.payment.checkout_request_id);
    const answer = await callback(body);
    assert.equal(answer.status, 200, answer.raw);
    assert.deepEqual(answer.body, DARAJA_ACK);

    const row = (await paymentRow(app, booked.payment.id))!;
    assert.equal(row.status, 'completed');
    assert.equal(row.transactionId, mpesaReceiptOf(body));
    assert.match(row.receiptNumber!, new RegExp(`^RCP-${receiptYear(clock.now())}-\\d{6}$`));
    assert.ok(row.completedAt);
    assert.equal(row.nextQueryAt, null);
    assert.equal((await bookingRow(app, booked.booking.id)).paymentStatus, 'paid');

    const mails = await receiptMailsOf(booked, row.id);
    assert.equal(mails.length, 1);
    assert.ok(mails[0]!.subject.includes(row.receiptNumber!), mails[0]!.subject);
    assert.deepEqual(mails[0]!.attachments, [{ kind: 'receipt', ref: String(row.id), filename: `${row.receiptNumber}.pdf`, contentType: 'application/pdf' }]);
    assert.ok(mails[0]!.textBody.includes(row.receiptNumber!), 'the number is filled in, not the slot');
  });

  it('answers 404 to a wrong path token and changes nothing', async () => {
    const booked = await pendingPayment();
    const body = successCallback(daraja, booked.payment.checkout_request_id);
    for (const token of ['wrong-token', `${'cb-token-0123456789abcdefghij'}x`, 'cb-token-0123456789abcdefghi'])
      assertError(await callback(body, token), 404, 'not_found');
    assert.equal((await paymentRow(app, booked.payment.id))!.status, 'pending');
    assert.equal((await bookingRow(app, booked.booking.id)).paymentStatus, 'pending');
  });

  it('answers 404 to an unknown CheckoutRequestID, changes nothing and logs a warning', async () => {
    const booked = await pendingPayment();
    const body = successCallback(daraja, booked.payment.checkout_request_id);
    body.Body.stkCallback.CheckoutRequestID = 'ws_CO_000000000000000000000';
    const mark = logs.lines.length;
    assertError(await callback(body), 404, 'not_found');
    assert.equal((await paymentRow(app, booked.payment.id))!.status, 'pending');
    assert.match(logs.since(mark), /unknown CheckoutRequestID/);
  });

  it("fails the payment when the Amount is not the payment's, leaves the booking unpaid and logs a warning", async () => {
    const booked = await pendingPayment();
    const body = successCallback(daraja, booked.payment.checkout_request_id);
    const amount = body.Body.stkCallback.CallbackMetadata.Item.find((item: { Name: string }) => item.Name === 'Amount');
    amount.Value = 1;
    const mark = logs.lines.length;
    const answer = await callback(body);
    assert.equal(answer.status, 200, answer.raw);
    const row = (await paymentRow(app, booked.payment.id))!;
    assert.equal(row.status, 'failed');
    assert.match(row.failureReason!, /amount/i);
    assert.match(row.failureReason!, /\b1\b.*\b2000\b/);
    assert.equal(row.receiptNumber, null);
    assert.equal((await bookingRow(app, booked.booking.id)).paymentStatus, 'unpaid');
    const warnings = logs.lines.slice(mark).map((line) => JSON.parse(line) as { level: number; msg: string; paymentId?: number });
    assert.ok(
      warnings.some((entry) => entry.level === 40 && /amount does not match/.test(entry.msg) && entry.paymentId === row.id),
      logs.since(mark),
    );
  });

  for (const [code, reason] of [
    [1032, /cancelled by the customer/i],
    [1037, /could not be reached/i],
    [1019, /expired/i],
    [4999, /The service request failed/],
  ] as const) {
    it(`fails the payment with a readable reason on ResultCode ${code}, and the booking is unpaid again`, async () => {
      const booked = await pendingPayment();
      daraja.settle(booked.payment.checkout_request_id, { resultCode: code });
      const answer = await callback(daraja.stkCallbackBody(booked.payment.checkout_request_id));
      assert.equal(answer.status, 200, answer.raw);
      assert.deepEqual(answer.body, DARAJA_ACK);
      const row = (await paymentRow(app, booked.payment.id))!;
      assert.equal(row.status, 'failed');
      assert.match(row.failureReason!, reason);
      assert.equal((await bookingRow(app, booked.booking.id)).paymentStatus, 'unpaid');
      const view = await call(app, 'GET', `/api/payments/${row.id}`, { token: booked.client.token });
      assert.equal(view.body.failure_reason, row.failureReason);
    });
  }

  it('completes once when the success callback comes twice: one receipt number, one mail', async () => {
    const booked = await pendingPayment();
    const body = successCallback(daraja, booked.payment.checkout_request_id);
    const [first, second] = await Promise.all([callback(body), callback(body)]);
    assert.deepEqual([first.status, second.status], [200, 200]);
    const third = await callback(body);
    assert.deepEqual(third.body, DARAJA_ACK);
    const row = (await paymentRow(app, booked.payment.id))!;
    assert.equal(row.status, 'completed');
    assert.equal((await receiptMailsOf(booked, row.id)).length, 1);
    const numbered = await db.select({ id: payments.id }).from(payments).where(eq(payments.receiptNumber, row.receiptNumber!));
    assert.equal(numbered.length, 1);
  });

  it('stays completed when a failure callback comes after the success', async () => {
    const booked = await pendingPayment();
    assert.equal((await callback(successCallback(daraja, booked.payment.checkout_request_id))).status, 200);
    const before = (await paymentRow(app, booked.payment.id))!;
    daraja.settle(booked.payment.checkout_request_id, { resultCode: 1032 });
    const late = await callback(daraja.stkCallbackBody(booked.payment.checkout_request_id));
    assert.equal(late.status, 200);
    const after = (await paymentRow(app, booked.payment.id))!;
    assert.equal(after.status, 'completed');
    assert.equal(after.failureReason, null);
    assert.equal(after.receiptNumber, before.receiptNumber);
    assert.equal((await bookingRow(app, booked.booking.id)).paymentStatus, 'paid');
  });

  it('stays failed when a success callback comes after a failure (the money is not taken twice)', async () => {
    const booked = await pendingPayment();
    daraja.settle(booked.payment.checkout_request_id, { resultCode: 1037 });
    await callback(daraja.stkCallbackBody(booked.payment.checkout_request_id));
    await callback(successCallback(daraja, booked.payment.checkout_request_id));
    assert.equal((await paymentRow(app, booked.payment.id))!.status, 'failed');
    assert.equal((await bookingRow(app, booked.booking.id)).paymentStatus, 'unpaid');
  });

  it('answers 400 to a body that is not a Daraja STK callback, changing nothing', async () => {
    const booked = await pendingPayment();
    const good = successCallback(daraja, booked.payment.checkout_request_id);
    const withoutMetadata = structuredClone(good);
    delete withoutMetadata.Body.stkCallback.CallbackMetadata;
    const badCode = structuredClone(good);
    badCode.Body.stkCallback.ResultCode = 'zero';
    const noReceipt = structuredClone(good);
    noReceipt.Body.stkCallback.CallbackMetadata.Item = noReceipt.Body.stkCallback.CallbackMetadata.Item.filter(
      (item: { Name: string }) => item.Name !== 'MpesaReceiptNumber',
    );
    for (const body of [{}, { Body: {} }, { Body: { stkCallback: 'x' } }, [1, 2], withoutMetadata, badCode, noReceipt]) {
      assertError(await callback(body), 400);
    }
    const invalidJson = await app.inject({ method: 'POST', url: callbackPath(), headers: { 'content-type': 'application/json' }, payload: '{"Body":' });
    assert.equal(invalidJson.statusCode, 400);
    assert.equal((await paymentRow(app, booked.payment.id))!.status, 'pending');
  });
});

describe('the STK query sweep', () => {
  it('completes a payment whose callback never came, once it is older than MPESA_QUERY_AFTER_S', async () => {
    const booked = await pendingPayment();
    daraja.settle(booked.payment.checkout_request_id, { resultCode: 0 });
    await app.services.payments.sweep();
    assert.equal((await paymentRow(app, booked.payment.id))!.status, 'pending', 'not queried before its time');
    assert.equal(
      daraja.requestsFor('stk_query').filter((entry) => (entry.body as { CheckoutRequestID: string }).CheckoutRequestID === booked.payment.checkout_request_id)
        .length,
      0,
    );

    clock.advance(61_000);
    await app.services.payments.sweep();
    const row = (await paymentRow(app, booked.payment.id))!;
    assert.equal(row.status, 'completed');
    assert.match(row.receiptNumber!, /^RCP-\d{4}-\d{6}$/);
    assert.equal((await bookingRow(app, booked.booking.id)).paymentStatus, 'paid');
    assert.equal((await receiptMailsOf(booked, row.id)).length, 1);
  });

  it('fails a payment the query reports cancelled', async () => {
    const booked = await pendingPayment();
    daraja.settle(booked.payment.checkout_request_id, { resultCode: 1032 });
    clock.advance(61_000);
    await app.services.payments.sweep();
    const row = (await paymentRow(app, booked.payment.id))!;
    assert.equal(row.status, 'failed');
    assert.match(row.failureReason!, /cancelled by the customer/i);
    assert.equal((await bookingRow(app, booked.booking.id)).paymentStatus, 'unpaid');
  });

  it('leaves a payment pending while Daraja is still processing it, and asks again later', async () => {
    const booked = await pendingPayment();
    clock.advance(61_000);
    await app.services.payments.sweep();
    assert.equal((await paymentRow(app, booked.payment.id))!.status, 'pending');
    daraja.settle(booked.payment.checkout_request_id, { resultCode: 0 });
    clock.advance(61_000);
    await app.services.payments.sweep();
    assert.equal((await paymentRow(app, booked.payment.id))!.status, 'completed');
  });

  it('fills in the M-Pesa receipt from a callback that arrives after the query completed the payment', async () => {
    const booked = await pendingPayment();
    const body = successCallback(daraja, booked.payment.checkout_request_id);
    clock.advance(61_000);
    await app.services.payments.sweep();
    const queried = (await paymentRow(app, booked.payment.id))!;
    assert.equal(queried.status, 'completed');
    assert.equal((await callback(body)).status, 200);
    const row = (await paymentRow(app, booked.payment.id))!;
    assert.equal(row.transactionId, mpesaReceiptOf(body), 'the receipt as transaction_id, as the contract promises for a success');
    assert.equal(row.receiptNumber, queried.receiptNumber);
  });

  it('completes each payment exactly once when its callback races the query sweep', async () => {
    const rounds = usingPostgres() ? 15 : 4;
    for (let round = 0; round < rounds; round++) {
      const booked = await pendingPayment();
      const body = successCallback(daraja, booked.payment.checkout_request_id);
      clock.advance(61_000);
      const answers = await Promise.all([app.services.payments.sweep(), callback(body), app.services.payments.sweep(), callback(body)]);
      assert.equal((answers[1] as { status: number }).status, 200);
      const row = (await paymentRow(app, booked.payment.id))!;
      assert.equal(row.status, 'completed', `round ${round}`);
      assert.equal((await db.select({ id: payments.id }).from(payments).where(eq(payments.receiptNumber, row.receiptNumber!))).length, 1);
      assert.equal((await receiptMailsOf(booked, row.id)).length, 1, `round ${round}: one receipt mail`);
    }
  });
});

describe('receipt numbers', () => {
  it('are sequential across many completions, with no gap and no duplicate', async () => {
    const completions = [];
    for (let index = 0; index < 8; index++) completions.push(await pendingPayment());
    await Promise.all(completions.map((booked) => callback(successCallback(daraja, booked.payment.checkout_request_id))));

    const year = receiptYear(clock.now());
    const numbers = (
      await db
        .select({ receiptNumber: payments.receiptNumber })
        .from(payments)
        .where(like(payments.receiptNumber, `RCP-${year}-%`))
    ).map((row) => row.receiptNumber!);
    for (const number of numbers) assert.match(number, new RegExp(`^RCP-${year}-\\d{6}$`));
    const sequence = numbers.map((number) => Number(number.slice(-6))).sort((a, b) => a - b);
    assert.deepEqual(
      sequence,
      Array.from({ length: sequence.length }, (_, index) => index + 1),
      'every number from 1 on, once',
    );
    const [counter] = await db.select().from(receiptCounters).where(eq(receiptCounters.year, year));
    assert.equal(counter!.last, sequence.length, 'no number taken and thrown away');
    const fresh = await Promise.all(completions.map(async (booked) => (await paymentRow(app, booked.payment.id))!.receiptNumber));
    assert.equal(new Set(fresh).size, completions.length);
    const mails = await db
      .select({ subject: mailOutbox.subject })
      .from(mailOutbox)
      .where(like(mailOutbox.subject, `%RCP-${year}-%`));
    assert.equal(mails.length, sequence.length, 'one receipt mail per number');
  });
});
