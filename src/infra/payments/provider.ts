import type Stripe from 'stripe';

/**
 * The payment provider layer: what the payments service asks of M-Pesa (Daraja), Stripe or the
 * simulated stand-in. Providers move money and parse what the provider sends back; they never
 * touch the database. Cash has no provider: the service records it (and its refunds) itself.
 */

export type ProviderMethod = 'mpesa' | 'card';
export type ProviderName = 'daraja' | 'stripe' | 'simulated';

export interface StartPaymentInput {
  /** Our payments.id; keys Stripe's idempotency and travels in its metadata. */
  paymentId: number;
  bookingId: number;
  /** Integer minor units (cents). M-Pesa only takes whole KES, so there it must be a multiple of 100. */
  amountMinor: number;
  /** ISO 4217, any case. M-Pesa only takes KES. */
  currency: string;
  /** The payer's phone as they typed it (M-Pesa); normalised by the provider. */
  phone?: string;
  /** Shown to the payer on the STK prompt (Daraja allows 12 characters). */
  accountReference: string;
  description: string;
}

export interface StartedPayment {
  /** What `queryPayment` and `refund` take: Daraja's CheckoutRequestID or Stripe's PaymentIntent id. */
  providerReference: string;
  /** M-Pesa only; equals providerReference. */
  checkoutRequestId?: string;
  merchantRequestId?: string;
  /** Card only: what the browser confirms the PaymentIntent with. */
  clientSecret?: string;
}

export type PaymentQueryResult =
  | { state: 'pending' }
  /**
   * `transactionId` is the M-Pesa receipt or the Stripe charge. Daraja's STK query does not return
   * the receipt, so for M-Pesa it is only known from the callback.
   */
  | { state: 'completed'; transactionId?: string; amountMinor?: number }
  | { state: 'failed'; reason: string; code?: FailureCode };

export interface RefundInput {
  paymentId: number;
  /** From `StartedPayment.providerReference`. */
  providerReference: string;
  /** The M-Pesa receipt (MpesaReceiptNumber) that Daraja reverses; unused by Stripe. */
  transactionId?: string;
  amountMinor: number;
  currency: string;
  reason: string;
}

/**
 * `pending`: the provider accepted the refund and reports the outcome later (Daraja reversals
 * always: the Result arrives at the ResultURL; see `parseReversalResult`).
 */
export interface RefundResult {
  state: 'completed' | 'pending';
  /** Daraja's ConversationID (matches the Result callback) or Stripe's refund id. */
  reference: string;
}

export interface PaymentProvider {
  readonly method: ProviderMethod;
  readonly name: ProviderName;
  startPayment(input: StartPaymentInput): Promise<StartedPayment>;
  queryPayment(ref: { providerReference: string }): Promise<PaymentQueryResult>;
  refund(input: RefundInput): Promise<RefundResult>;
  /** Cancels pending work (the simulated provider's deliveries); real providers hold none. */
  close(): void;
}

export interface MpesaProvider extends PaymentProvider {
  readonly method: 'mpesa';
  /** Throws MalformedCallbackError; the route answers 400 and stores nothing. */
  parseStkCallback(body: unknown): StkCallback;
  parseReversalResult(body: unknown): ReversalResult;
}

export interface CardProvider extends PaymentProvider {
  readonly method: 'card';
  /** `rawBody` must be the exact bytes received. Throws WebhookSignatureError on a bad or stale signature. */
  verifyWebhook(rawBody: string | Buffer, signatureHeader: string | undefined): Stripe.Event;
}

export interface PaymentProviders {
  /** `undefined` in production when that method is not configured: the service answers 503. */
  mpesa: MpesaProvider | undefined;
  card: CardProvider | undefined;
  /** Always undefined: cash is recorded by the service, never sent to a provider. */
  cash?: undefined;
  close(): void;
}

export type FailureCode = 'cancelled' | 'unreachable' | 'expired' | 'insufficient_funds' | 'wrong_pin' | 'declined' | 'failed';

export type PaymentOutcome = { state: 'completed' } | { state: 'failed'; reason: string; code: FailureCode };

export interface StkCallback {
  merchantRequestId: string;
  checkoutRequestId: string;
  resultCode: number;
  resultDesc: string;
  outcome: PaymentOutcome;
  /** Present on success: Daraja's Amount (whole KES) times 100. */
  amountMinor?: number;
  mpesaReceipt?: string;
  /** As Daraja reports it, e.g. 254708374149. */
  phone?: string;
  /** Daraja's TransactionDate (Nairobi time, YYYYMMDDHHmmss). */
  transactionDate?: string;
}

export interface ReversalResult {
  conversationId: string;
  originatorConversationId: string;
  /** 0 is success; reversals may also carry lettered codes such as R000002. */
  resultCode: number | string;
  resultDesc: string;
  outcome: PaymentOutcome;
  /** The reversal's own M-Pesa transaction id. */
  transactionId?: string;
}

/** An outgoing HTTP request the simulated provider makes to our own callback routes (wired to `app.inject`). */
export interface CallbackDelivery {
  method: 'POST';
  /** A path on this service, e.g. /api/payments/mpesa/callback/<token>. */
  url: string;
  headers: Record<string, string>;
  body: string;
}

export type Deliver = (request: CallbackDelivery) => Promise<{ statusCode: number } | void>;

export interface ProviderLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export type ProviderErrorKind = 'timeout' | 'unavailable' | 'rejected';

/**
 * A provider call that did not succeed. `timeout` and `unavailable` (5xx, network, rate limit)
 * may succeed later; `rejected` (4xx) will not, and `message` is the provider's own reason,
 * fit for `failure_reason`. Never carries credentials.
 */
export class ProviderError extends Error {
  readonly kind: ProviderErrorKind;
  readonly provider: ProviderName;
  readonly operation: string;
  readonly status: number | undefined;
  /** Daraja's errorCode (e.g. 400.002.02) or Stripe's error code. */
  readonly providerCode: string | undefined;
  constructor(
    kind: ProviderErrorKind,
    details: { provider: ProviderName; operation: string; message: string; status?: number; providerCode?: string; cause?: unknown },
  ) {
    super(details.message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ProviderError';
    this.kind = kind;
    this.provider = details.provider;
    this.operation = details.operation;
    this.status = details.status;
    this.providerCode = details.providerCode;
  }
}

/**
 * Input the provider cannot take (a fractional KES amount, a phone that is not Kenyan, another
 * currency). Nothing was sent; the service maps it to 400 validation_error on `field`.
 */
export class PaymentInputError extends Error {
  readonly code: 'invalid_amount' | 'invalid_phone' | 'unsupported_currency' | 'missing_reference';
  readonly field: string;
  constructor(code: PaymentInputError['code'], field: string, message: string) {
    super(message);
    this.name = 'PaymentInputError';
    this.code = code;
    this.field = field;
  }
}

/** A callback body that is not what the provider sends; the route answers 400. */
export class MalformedCallbackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedCallbackError';
  }
}

/** A Stripe webhook whose signature is missing, wrong or outside the tolerance; the route answers 400. */
export class WebhookSignatureError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WebhookSignatureError';
  }
}
