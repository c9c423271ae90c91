import type { Db, DbOrTx, Tx } from '../../db/client.ts';
import type { SqlFigure } from '../../db/fragments.ts';
import type { PaymentMethod, PaymentProviderName, PaymentRow } from '../../db/schema/index.ts';
import { claimKey, purgeAbandonedClaims, releaseKey, rememberAnswer } from '../../infra/idempotency.ts';
import {
  MalformedCallbackError,
  normalizeKenyanPhone,
  PaymentInputError,
  ProviderError,
  WebhookSignatureError,
  cardEventOutcome,
  type CardProvider,
  type MpesaProvider,
  type PaymentProvider,
  type PaymentProviders,
} from '../../infra/payments/index.ts';
import type { Clock } from '../../shared/clock.ts';
import { safeEqual } from '../../shared/crypto.ts';
import { AppError, badRequest, conflict, forbidden, notFound, serviceUnavailable, validationError } from '../../shared/errors.ts';
import type { DomainEvents, FollowUp } from '../../shared/events.ts';
import { pageOf, pageRequest } from '../../shared/pagination.ts';
import type { Principal } from '../../shared/principal.ts';
import { monthlyRevenueFigures, revenueFigures, type MonthlyRevenue } from '../../shared/revenue.ts';
import { toPaymentResponse, toReceipt, toStoredMethodResponse } from './payments.mapper.ts';
import { receiptMail } from './payments.mails.ts';
import { canConfirmCash, canPay, canRefund, canViewPayment, listScope } from './payments.policy.ts';
import * as repo from './payments.repository.ts';
import { receiptYear, refundShare } from './payments.rules.ts';
import type { CreatePaymentBody, CreatePaymentMethodBody, PaymentListQuery, PaymentResponse } from './payments.schemas.ts';
import type { ReceiptRenderer } from './receipt.pdf.ts';

export interface PaymentsServiceDeps {
  db: Db;
  clock: Clock;
  log: { warn(details: object, message: string): void; info(details: object, message: string): void };
  providers: PaymentProviders;
  /** The secret path segment of the M-Pesa callback URLs. */
  mpesaCallbackToken: string | undefined;
  /** A pending M-Pesa payment is settled through an STK query after this long. */
  queryAfterMs: number;
  /** PAYMENT_PROVIDER_TIMEOUT_MS: how long one call to a provider may take. */
  providerTimeoutMs: number;
  receipts: ReceiptRenderer;
  mailQueued: () => void;
}

const IDEMPOTENCY_SCOPE = 'POST /api/payments';
/** Daraja wants exactly this once a callback is stored. */
export const DARAJA_ACK = { ResultCode: 0, ResultDesc: 'Accepted' } as const;
/** A payment M-Pesa never settled is given up after a day of queries. */
const GIVE_UP_AFTER_MS = 24 * 3_600_000;
const MAX_RETRY_MS = 6 * 3_600_000;

export type CreatePaymentResult = { replayed: false; payment: PaymentResponse & { client_secret?: string } } | { replayed: true; json: string };

const backoff = (attempts: number, baseMs: number) => Math.min(baseMs * 2 ** Math.max(0, attempts - 1), MAX_RETRY_MS);

/** What a provider's failure means for the payer: retry later (503), or a refusal to show (502). */
function providerFailure(error: unknown): AppError {
  if (error instanceof PaymentInputError) return validationError(error.field, error.message);
  if (error instanceof ProviderError && error.kind === 'rejected')
    return new AppError(502, 'payment_provider_error', `The payment provider refused the payment: ${error.message}`);
  return serviceUnavailable('The payment provider did not answer; nothing was charged, please retry', 5);
}

/** The most payments one completing statement takes. */
const COMPLETION_BATCH = 64;

/**
 * Completions of this process go to the database in batches, one statement at a time: those that
 * arrive while a statement runs wait for it and go together in the next. Every completion queues
 * on the year's receipt counter row for the length of a statement and its commit (gapless numbers
 * allow nothing else), so completing one payment per hold caps callbacks at one commit at a time;
 * a batch numbers all of its payments in one hold. Alone, a completion goes at once. A batch that
 * fails is retried payment by payment, so one payment's error stays its own.
 */
function completionQueue(db: Db) {
  type Waiting = { item: repo.Completion; year: number; resolve: (receipt: string | undefined) => void; reject: (error: unknown) => void };
  let queue: Waiting[] = [];
  let running = false;

  async function completeOne(entry: Waiting) {
    try {
      entry.resolve((await repo.completeBatch(db, entry.year, [entry.item])).get(entry.item.id));
    } catch (error) {
      entry.reject(error);
    }
  }

  async function drain() {
    running = true;
    try {
      while (queue.length > 0) {
        // One year per statement, and each payment once (a second message for it waits for the next).
        const year = queue[0]!.year;
        const batch: Waiting[] = [];
        const rest: Waiting[] = [];
        const ids = new Set<number>();
        for (const entry of queue) {
          if (entry.year === year && !ids.has(entry.item.id) && batch.length < COMPLETION_BATCH) {
            batch.push(entry);
            ids.add(entry.item.id);
          } else rest.push(entry);
        }
        queue = rest;
        if (batch.length === 1) {
          await completeOne(batch[0]!);
          continue;
        }
        let receipts: Map<number, string>;
        try {
          receipts = await repo.completeBatch(
            db,
            year,
            batch.map((entry) => entry.item),
          );
        } catch {
          for (const entry of batch) await completeOne(entry);
          continue;
        }
        for (const entry of batch) entry.resolve(receipts.get(entry.item.id));
      }
    } finally {
      running = false;
    }
  }

  return {
    /** The receipt number when this call completed the payment; undefined when it was no longer pending. */
    complete(item: repo.Completion, year: number): Promise<string | undefined> {
      return new Promise((resolve, reject) => {
        queue.push({ item, year, resolve, reject });
        if (!running) void drain();
      });
    },
  };
}

export function createPaymentsService(deps: PaymentsServiceDeps) {
  const { db, clock, log, providers } = deps;
  const completions = completionQueue(db);
  // Starting a payment is at most two provider calls (Daraja's OAuth, then the push), each bounded
  // by the timeout, and a few statements. A payment still without its provider reference after
  // that, or an Idempotency-Key still unanswered, was left by a process that died mid-way.
  const startWindowMs = 2 * deps.providerTimeoutMs + 10_000;

  /** The provider that takes new payments of this method; none in production when unconfigured. */
  function providerForMethod(method: PaymentMethod): PaymentProvider | undefined {
    if (method === 'mpesa') return providers.mpesa;
    if (method === 'card') return providers.card;
    return undefined;
  }

  /** The provider that handled a payment (refunds go back the same way). */
  function providerOf(payment: Pick<PaymentRow, 'method' | 'provider'>): PaymentProvider | undefined {
    const candidate = payment.method === 'mpesa' ? providers.mpesa : payment.method === 'card' ? providers.card : undefined;
    return candidate?.name === payment.provider ? candidate : undefined;
  }

  async function loadVisible(actor: Principal, id: number) {
    const context = await repo.findById(db, id);
    if (!context) throw notFound('Payment');
    if (!canViewPayment(actor.user, context.payment, context.space)) throw forbidden('This payment is not yours to see');
    return context;
  }

  /** The payer's phone for M-Pesa: from the body, else from their saved method; normalised. */
  async function payerPhone(actor: Principal, body: CreatePaymentBody): Promise<string | null> {
    let saved: string | null = null;
    if (body.payment_method_id !== undefined) {
      const method = await repo.findMethod(db, actor.user.id, body.payment_method_id);
      if (!method) throw notFound('Payment method');
      if (method.type !== body.payment_method) throw validationError('payment_method_id', `is a saved ${method.type} method, not ${body.payment_method}`);
      saved = method.phoneNumber;
    }
    if (body.payment_method !== 'mpesa') return null;
    const raw = body.phone_number ?? saved;
    if (!raw) throw validationError('phone_number', 'is required for M-Pesa (or give a saved payment_method_id)');
    const phone = normalizeKenyanPhone(raw);
    if (!phone) throw validationError('phone_number', 'must be a Kenyan mobile number such as 0712345678 or +254712345678');
    return phone;
  }

  /**
   * Pay for a booking: a pending payment (and the booking `pending`) is committed first; the
   * provider is asked after, outside any transaction; a provider that fails leaves the payment
   * failed with its reason and the booking unpaid, so the guest may try again.
   *
   * What does not depend on the booking (the phone, a saved method, the provider) is judged
   * before the one statement that reads the booking and writes the payment, but named only after
   * the booking's own checks, in the order a caller meets them: no such booking, not theirs, then
   * their input, then the booking's state.
   */
  async function create(actor: Principal, body: CreatePaymentBody, idempotencyKey?: string): Promise<CreatePaymentResult> {
    const method = body.payment_method;
    const provider = providerForMethod(method);
    let refusal: Error | undefined;
    const phone = await payerPhone(actor, body).catch((error: unknown) => {
      refusal = error instanceof Error ? error : new Error(String(error));
      return null;
    });
    if (refusal === undefined && method !== 'cash' && !provider) {
      refusal = serviceUnavailable(`${method === 'mpesa' ? 'M-Pesa' : 'Card'} payments are not available right now`);
    }
    const providerName: PaymentProviderName = provider?.name ?? 'cash';
    const now = clock.now();
    const start = async (handle: DbOrTx) => {
      const started = await repo.startPending(handle, {
        bookingId: body.booking_id,
        userId: actor.user.id,
        method,
        provider: providerName,
        phone,
        nextQueryAt: method === 'mpesa' ? new Date(now.getTime() + deps.queryAfterMs) : null,
        now,
        proceed: refusal === undefined,
      });
      if (!started) throw notFound('Booking');
      const { booking, paymentId } = started;
      // Written means every check passed in SQL: nothing below may refuse a payment already written.
      if (paymentId !== undefined) return { booking, id: paymentId };
      if (!canPay(actor.user, booking)) throw forbidden('Only the guest who booked may pay for a booking');
      if (refusal !== undefined) throw refusal;
      if (method === 'mpesa' && !repo.mpesaTakes(booking)) {
        throw badRequest('unsupported_amount', 'M-Pesa takes whole Kenyan shillings only; pay this booking by card or cash');
      }
      throw conflict('invalid_state', 'This booking is not awaiting payment: it must be confirmed and unpaid');
    };

    const claim = idempotencyKey ? { userId: actor.user.id, scope: IDEMPOTENCY_SCOPE, key: idempotencyKey, body, abandonedAfterMs: startWindowMs } : undefined;
    let started: { booking: repo.BookingToPay; id: number };
    if (!claim) started = await start(db);
    else {
      const claimed = await db.transaction(async (tx) => {
        const stored = await claimKey(tx, claim, now);
        return stored ? { stored } : { started: await start(tx) };
      });
      if ('stored' in claimed) return { replayed: true, json: claimed.stored!.body };
      started = claimed.started;
    }
    const { booking, id } = started;

    let clientSecret: string | undefined;
    // The row as the provider's reference left it; read again only when that did not answer it (cash, or no longer pending).
    let row: PaymentRow | undefined;
    if (provider) {
      try {
        const accepted = await provider.startPayment({
          paymentId: id,
          bookingId: booking.id,
          amountMinor: booking.totalPrice,
          currency: booking.currency,
          ...(phone ? { phone } : {}),
          accountReference: `Booking${booking.id}`,
          description: `Spacer booking ${booking.id}`,
        });
        row = await repo.setCheckout(db, id, accepted.providerReference, clock.now());
        clientSecret = accepted.clientSecret;
      } catch (error) {
        const reason = error instanceof ProviderError || error instanceof PaymentInputError ? error.message : 'The payment could not be started';
        if (!(error instanceof ProviderError || error instanceof PaymentInputError)) log.warn({ err: error, paymentId: id }, 'starting a payment failed');
        await repo.fail(db, id, reason, clock.now());
        if (claim) await releaseKey(db, claim);
        throw providerFailure(error);
      }
    }
    row ??= (await repo.findById(db, id))!.payment;
    const payment = { ...toPaymentResponse(row), ...(clientSecret ? { client_secret: clientSecret } : {}) };
    if (claim) await rememberAnswer(db, claim, { statusCode: 201, body: JSON.stringify(payment) });
    return { replayed: false, payment };
  }

  async function list(actor: Principal, query: PaymentListQuery) {
    const page = pageRequest(query);
    const filters: repo.PaymentFilters = {};
    if (query.status) filters.status = query.status;
    if (query.booking_id !== undefined) filters.bookingId = query.booking_id;
    const { rows, total } = await repo.findMany(db, listScope(actor.user), filters, { limit: page.perPage, offset: page.offset });
    return pageOf('payments', rows.map(toPaymentResponse), total, page);
  }

  async function getById(actor: Principal, id: number) {
    return toPaymentResponse((await loadVisible(actor, id)).payment);
  }

  /**
   * pending → completed, with its receipt number and the receipt mail, in one statement. A
   * callback naming another amount than the payment's fails it instead (and is logged), and a
   * payment whose booking was cancelled meanwhile is refunded in full.
   */
  async function settle(
    context: repo.PaymentContext,
    result: { state: 'completed'; amountMinor?: number | undefined; transactionId?: string | undefined } | { state: 'failed'; reason: string },
    source: string,
  ) {
    const { payment } = context;
    const now = clock.now();
    if (result.state === 'failed') {
      await repo.fail(db, payment.id, result.reason, now);
      return;
    }
    if (result.amountMinor !== undefined && result.amountMinor !== payment.amount) {
      log.warn(
        { paymentId: payment.id, source, reported: result.amountMinor, expected: payment.amount },
        'suspicious payment message: the amount does not match the payment',
      );
      await repo.fail(db, payment.id, `The amount paid (${result.amountMinor / 100}) is not the amount due (${payment.amount / 100})`, now);
      return;
    }
    const mail = receiptMail(context.payer, toReceipt(context, repo.RECEIPT_NUMBER_SLOT), { kind: 'receipt', ref: String(payment.id) });
    const done = await completions.complete({ id: payment.id, transactionId: result.transactionId ?? null, now, mail }, receiptYear(now));
    if (done === undefined) return;
    deps.mailQueued();
    const booking = await repo.findBookingToPay(db, context.booking.id);
    if (booking && booking.status === 'cancelled') {
      // Paid after the booking ended (a late callback): the money goes back in full.
      const due = await repo.markRefundDue(db, payment.id, payment.amount, 'The booking was cancelled before the payment arrived', now);
      if (due) await processRefund(payment.id);
    }
  }

  function mpesaProvider(token: string): MpesaProvider {
    const provider = providers.mpesa;
    // The path token is the only proof a callback comes from the URL we gave Daraja.
    if (!provider || !deps.mpesaCallbackToken || !safeEqual(token, deps.mpesaCallbackToken)) throw notFound('Route');
    return provider;
  }

  /** Daraja's STK callback: idempotent; a late or repeated one changes nothing. */
  async function mpesaCallback(token: string, body: unknown) {
    const provider = mpesaProvider(token);
    let callback;
    try {
      callback = provider.parseStkCallback(body);
    } catch (error) {
      if (error instanceof MalformedCallbackError) throw badRequest('validation_error', `Not a Daraja STK callback: ${error.message}`);
      throw error;
    }
    const context = await repo.findByCheckout(db, provider.name, callback.checkoutRequestId);
    if (!context) {
      log.warn(
        { checkoutRequestId: callback.checkoutRequestId.slice(0, 80) },
        'suspicious payment message: an M-Pesa callback for an unknown CheckoutRequestID',
      );
      throw notFound('Payment');
    }
    if (context.payment.status === 'pending') {
      const result =
        callback.outcome.state === 'completed'
          ? { state: 'completed' as const, amountMinor: callback.amountMinor, transactionId: callback.mpesaReceipt }
          : { state: 'failed' as const, reason: callback.outcome.reason };
      await settle(context, result, 'mpesa-callback');
    } else if (
      callback.outcome.state === 'completed' &&
      context.payment.transactionId === null &&
      callback.amountMinor === context.payment.amount &&
      callback.mpesaReceipt
    ) {
      // The STK query settled it first but carries no receipt, and a reversal (refund) needs one.
      await repo.fillTransactionId(db, context.payment.id, callback.mpesaReceipt, clock.now());
    }
    return DARAJA_ACK;
  }

  /** Daraja's reversal result (a refund): matched by its ConversationID. */
  async function mpesaReversalResult(token: string, body: unknown) {
    const provider = mpesaProvider(token);
    let result;
    try {
      result = provider.parseReversalResult(body);
    } catch (error) {
      if (error instanceof MalformedCallbackError) throw badRequest('validation_error', `Not a Daraja reversal result: ${error.message}`);
      throw error;
    }
    const context = await repo.findByRefundReference(db, result.conversationId);
    if (!context) {
      log.warn({ conversationId: result.conversationId.slice(0, 80) }, 'suspicious payment message: a reversal result for an unknown ConversationID');
      throw notFound('Refund');
    }
    const now = clock.now();
    if (result.outcome.state === 'completed') await repo.markRefunded(db, context.payment.id, result.conversationId, now);
    else
      await repo.markRefundFailed(
        db,
        context.payment.id,
        result.outcome.reason,
        new Date(now.getTime() + backoff(context.payment.refundAttempts, 60_000)),
        now,
      );
    return DARAJA_ACK;
  }

  /** Daraja gave up queueing a reversal: it stays owed and the sweep tries again. */
  async function mpesaReversalTimeout(token: string, body: unknown) {
    mpesaProvider(token);
    const conversationId = (body as { Result?: { ConversationID?: unknown } } | null)?.Result?.ConversationID;
    if (typeof conversationId === 'string') {
      const context = await repo.findByRefundReference(db, conversationId);
      const now = clock.now();
      if (context) await repo.markRefundFailed(db, context.payment.id, 'M-Pesa timed out queueing the reversal', new Date(now.getTime() + 60_000), now);
    }
    return DARAJA_ACK;
  }

  function cardProvider(): CardProvider {
    if (!providers.card) throw notFound('Route');
    return providers.card;
  }

  /** A Stripe event: signature checked over the raw body; an event id seen before changes nothing. */
  async function stripeWebhook(rawBody: string, signature: string | undefined) {
    const provider = cardProvider();
    let event;
    try {
      event = provider.verifyWebhook(rawBody, signature);
    } catch (error) {
      if (error instanceof WebhookSignatureError || error instanceof MalformedCallbackError)
        throw badRequest('invalid_signature', 'The webhook signature is missing, wrong or too old');
      throw error;
    }
    if (await repo.eventSeen(db, 'stripe', event.id)) return { received: true };
    const outcome = cardEventOutcome(event);
    if (outcome) {
      const context = await repo.findByCheckout(db, provider.name, outcome.paymentIntentId);
      if (!context) log.warn({ eventId: event.id }, 'suspicious payment message: a Stripe event for an unknown PaymentIntent');
      else if (context.payment.status === 'pending') {
        await settle(
          context,
          outcome.outcome.state === 'completed'
            ? { state: 'completed', amountMinor: outcome.amountMinor, transactionId: outcome.transactionId }
            : { state: 'failed', reason: outcome.outcome.reason },
          'stripe-webhook',
        );
      } else if (context.payment.status === 'failed' && outcome.outcome.state === 'completed') {
        // A declined card may be retried on the same PaymentIntent after we failed the payment:
        // the money is then taken for a payment we closed. Nothing moves backwards; a person decides.
        log.warn({ paymentId: context.payment.id, eventId: event.id }, 'money taken for a failed payment: refund it in Stripe or record it by hand');
      }
    } else if (event.type === 'charge.refunded') {
      await chargeRefunded(provider, event.data.object);
    }
    await repo.rememberEvent(db, 'stripe', event.id, event.type, clock.now());
    return { received: true };
  }

  async function chargeRefunded(provider: CardProvider, charge: { payment_intent?: unknown; amount_refunded?: unknown; id?: unknown }) {
    const intent = typeof charge.payment_intent === 'string' ? charge.payment_intent : (charge.payment_intent as { id?: string } | null)?.id;
    if (!intent) return;
    const context = await repo.findByCheckout(db, provider.name, intent);
    if (!context) return;
    const now = clock.now();
    // A refund made outside the service (in Stripe's dashboard) is recorded as it happened.
    if (context.payment.refundState === null && typeof charge.amount_refunded === 'number' && charge.amount_refunded > 0) {
      await repo.markRefundDue(db, context.payment.id, Math.min(charge.amount_refunded, context.payment.amount), 'Refunded in Stripe', now);
    }
    await repo.markRefunded(db, context.payment.id, null, now);
  }

  /** One attempt at an owed refund through the payment's own provider; a failure is retried by the sweep. */
  async function processRefund(id: number) {
    const now = clock.now();
    const [payment] = await repo.claimDueRefunds(db, now, new Date(now.getTime() + 60_000), { id });
    if (payment) await attemptRefund(payment);
  }

  async function attemptRefund(payment: PaymentRow) {
    const now = clock.now();
    const retryAt = new Date(now.getTime() + backoff(payment.refundAttempts, 60_000));
    if (payment.method === 'cash') {
      await repo.markRefunded(db, payment.id, null, now);
      return;
    }
    const provider = providerOf(payment);
    if (!provider || !payment.checkoutRequestId) {
      await repo.markRefundFailed(db, payment.id, `No ${payment.provider} provider is configured to refund through`, retryAt, now);
      return;
    }
    try {
      const result = await provider.refund({
        paymentId: payment.id,
        providerReference: payment.checkoutRequestId,
        ...(payment.transactionId ? { transactionId: payment.transactionId } : {}),
        amountMinor: payment.refundDue!,
        currency: payment.currency,
        reason: payment.refundReason ?? 'Refund',
      });
      if (result.state === 'completed') await repo.markRefunded(db, payment.id, result.reference, clock.now());
      else await repo.markRefundSent(db, payment.id, result.reference, clock.now());
    } catch (error) {
      const message = error instanceof ProviderError || error instanceof PaymentInputError ? error.message : 'The refund could not be sent';
      log.warn({ paymentId: payment.id, err: error }, 'a refund attempt failed; it will be retried');
      await repo.markRefundFailed(db, payment.id, message, retryAt, clock.now());
    }
  }

  /**
   * 'booking.cancelled': a paid booking is refunded by the share its policy gives, computed by the
   * bookings module. Cash is recorded at once; a provider refund is owed now and sent after the
   * cancellation commits.
   */
  async function onBookingCancelled(tx: Tx, event: DomainEvents['booking.cancelled']): Promise<FollowUp | void> {
    // Cash not yet handed over is never going to be: the promise ends with the booking. (A provider
    // payment in flight is left to settle; if it completes, it is refunded in full.)
    await repo.failPendingCash(tx, event.booking.id, 'The booking was cancelled before the cash was paid', event.now);
    const paid = await repo.findCompletedForBooking(tx, event.booking.id);
    if (!paid) return;
    const amount = refundShare(paid.method, paid.amount, event.refund.percent);
    if (amount === 0) return;
    const due = await repo.markRefundDue(tx, paid.id, amount, event.refund.rule, event.now);
    if (!due) return;
    if (paid.method === 'cash') {
      await repo.markRefunded(tx, paid.id, null, event.now);
      return;
    }
    return () => processRefund(paid.id);
  }

  /** What a cancellation refunding `percent` would give back for a booking now: the quote, computed as the refund will be. */
  async function refundOf(bookingId: number, percent: number) {
    const paid = await repo.findCompletedForBooking(db, bookingId);
    return paid ? { paid: true, amountMinor: refundShare(paid.method, paid.amount, percent) } : { paid: false, amountMinor: 0 };
  }

  /** Cash handed over: the space's owner or an admin confirms it. */
  async function confirmCash(actor: Principal, id: number) {
    const context = await loadVisible(actor, id);
    if (!canConfirmCash(actor.user, context.space)) throw forbidden("Only the space's owner or an admin may confirm a cash payment");
    if (context.payment.method !== 'cash') throw conflict('invalid_state', 'Only cash payments are confirmed by hand');
    if (context.payment.status !== 'pending') throw conflict('invalid_state', `This payment is ${context.payment.status}`);
    await settle(context, { state: 'completed' }, 'cash-confirmation');
    const after = await repo.findById(db, id);
    if (after?.payment.status !== 'completed' && after?.payment.status !== 'refunded')
      throw conflict('invalid_state', `This payment is ${after?.payment.status}`);
    return toPaymentResponse(after.payment);
  }

  /** An admin's full refund of a completed payment, through its provider. */
  async function refund(actor: Principal, id: number) {
    if (!canRefund(actor.user)) throw forbidden('Only an admin may refund a payment');
    const context = await repo.findById(db, id);
    if (!context) throw notFound('Payment');
    if (context.payment.status !== 'completed' || context.payment.refundState !== null) {
      throw conflict('invalid_state', context.payment.refundState ? 'This payment is already being refunded' : `This payment is ${context.payment.status}`);
    }
    const due = await repo.markRefundDue(db, id, context.payment.amount, 'Refunded in full by an admin', clock.now());
    if (!due) throw conflict('invalid_state', 'This payment is already being refunded');
    await processRefund(id);
    return toPaymentResponse((await repo.findById(db, id))!.payment);
  }

  /** The receipt of a paid payment (refunded ones keep theirs); anything else is 409. */
  async function receipt(actor: Principal, id: number) {
    const context = await loadVisible(actor, id);
    if (!context.payment.receiptNumber) throw conflict('invalid_state', `This payment is ${context.payment.status}; only a paid payment has a receipt`);
    return toReceipt(context);
  }

  async function receiptPdf(actor: Principal, id: number) {
    const data = await receipt(actor, id);
    return { receiptNumber: data.receipt_number, pdf: await deps.receipts.render(data) };
  }

  /** The mail worker's resolver for receipt attachments: the PDF, made when the mail is sent. */
  async function receiptAttachment(ref: string): Promise<Buffer> {
    const context = await repo.findById(db, Number(ref));
    if (!context?.payment.receiptNumber) throw new Error(`payment ${ref} has no receipt`);
    return deps.receipts.render(toReceipt(context));
  }

  /**
   * Settles M-Pesa payments whose callback has not come (STK query), gives up on those M-Pesa
   * never settles, and sends owed refunds. Safe in several processes: every claim is SKIP LOCKED.
   */
  async function sweep() {
    const now = clock.now();
    let queried = 0;
    for (const payment of await repo.claimDueQueries(db, now, Math.max(deps.queryAfterMs, 30_000))) {
      queried++;
      const provider = providerOf(payment);
      if (!provider) {
        if (now.getTime() - payment.createdAt.getTime() > GIVE_UP_AFTER_MS) await repo.fail(db, payment.id, 'The payment was never confirmed', now);
        continue;
      }
      if (!payment.checkoutRequestId) {
        // Its process died between committing the payment and noting the provider's reference:
        // nothing can ask the provider about it, and it holds the booking until it is failed.
        const startedBefore = payment.createdAt.getTime() + startWindowMs;
        if (now.getTime() >= startedBefore) await repo.fail(db, payment.id, 'The payment could not be started', now);
        else await repo.deferQuery(db, payment.id, new Date(startedBefore));
        continue;
      }
      try {
        const answer = await provider.queryPayment({ providerReference: payment.checkoutRequestId });
        if (answer.state === 'pending') {
          if (now.getTime() - payment.createdAt.getTime() > GIVE_UP_AFTER_MS) await repo.fail(db, payment.id, 'M-Pesa never confirmed the payment', now);
          continue;
        }
        const context = await repo.findById(db, payment.id);
        if (!context || context.payment.status !== 'pending') continue;
        await settle(
          context,
          answer.state === 'completed'
            ? { state: 'completed', amountMinor: answer.amountMinor, transactionId: answer.transactionId }
            : { state: 'failed', reason: answer.reason },
          'stk-query',
        );
      } catch (error) {
        log.warn({ paymentId: payment.id, err: error }, 'an STK query failed; it will be asked again');
      }
    }
    await purgeAbandonedClaims(db, IDEMPOTENCY_SCOPE, new Date(now.getTime() - startWindowMs));
    let refunds = 0;
    for (const payment of await repo.claimDueRefunds(db, now, new Date(now.getTime() + 60_000))) {
      refunds++;
      await attemptRefund(payment);
    }
    return { queried, refunds };
  }

  async function revenue(ownerId: number | undefined) {
    return revenueFigures(await repo.revenueByCurrency(db, ownerId));
  }

  /** The platform's revenue, also month by month in its time zone (admin stats). */
  const monthlyRevenue: SqlFigure<MonthlyRevenue> = {
    sql: repo.revenueMonthsJson,
    read: (value) => monthlyRevenueFigures((value ?? []) as { currency: string; month: string; total: number }[]),
  };

  async function listMethods(actor: Principal) {
    return { payment_methods: (await repo.findMethods(db, actor.user.id)).map(toStoredMethodResponse) };
  }

  async function addMethod(actor: Principal, body: CreatePaymentMethodBody) {
    const now = clock.now();
    let values;
    if (body.type === 'mpesa') {
      const phone = normalizeKenyanPhone(body.phone_number);
      if (!phone) throw validationError('phone_number', 'must be a Kenyan mobile number such as 0712345678 or +254712345678');
      values = {
        userId: actor.user.id,
        type: 'mpesa' as const,
        label: body.label ?? `M-Pesa ${phone.slice(0, 6)}…${phone.slice(-3)}`,
        phoneNumber: phone,
        createdAt: now,
      };
    } else {
      values = {
        userId: actor.user.id,
        type: 'card' as const,
        label: body.label ?? `${body.brand} ending ${body.last4}`,
        providerToken: body.provider_token,
        brand: body.brand,
        last4: body.last4,
        createdAt: now,
      };
    }
    const row = await db.transaction((tx) => repo.insertMethod(tx, values, body.is_default ?? false));
    return toStoredMethodResponse(row);
  }

  async function removeMethod(actor: Principal, id: number) {
    const removed = await db.transaction((tx) => repo.deleteMethod(tx, actor.user.id, id));
    if (!removed) throw notFound('Payment method');
  }

  function close() {
    providers.close();
    return deps.receipts.close();
  }

  return {
    create,
    list,
    getById,
    confirmCash,
    refund,
    receipt,
    receiptPdf,
    receiptAttachment,
    mpesaCallback,
    mpesaReversalResult,
    mpesaReversalTimeout,
    stripeWebhook,
    onBookingCancelled,
    refundOf,
    sweep,
    revenue,
    monthlyRevenue,
    listMethods,
    addMethod,
    removeMethod,
    close,
  };
}

export type PaymentsService = ReturnType<typeof createPaymentsService>;
