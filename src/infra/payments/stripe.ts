import { createRequire } from 'node:module';
import type Stripe from 'stripe';
import type { Clock } from '../../shared/clock.ts';
import { providerAgent } from './http.ts';
import {
  MalformedCallbackError,
  PaymentInputError,
  ProviderError,
  WebhookSignatureError,
  type CardProvider,
  type PaymentOutcome,
  type PaymentQueryResult,
  type RefundInput,
  type StartPaymentInput,
} from './provider.ts';

/**
 * The SDK (~4 MB of heap and ~150 ms to load) is loaded when a card provider first needs it, so a
 * process without card payments never carries it. require(), not import(): verifying a webhook
 * is synchronous, and so must loading the SDK be the first time it happens.
 */
const require = createRequire(import.meta.url);
let sdk: typeof Stripe | undefined;
export const stripeSdk = (): typeof Stripe => (sdk ??= require('stripe') as typeof Stripe);

export const STRIPE_WEBHOOK_PATH = '/api/payments/stripe/webhook';

/** Stripe's own default: a signed event older than five minutes is refused (replay protection). */
export const STRIPE_WEBHOOK_TOLERANCE_S = 300;

export const paymentIdempotencyKey = (paymentId: number) => `payment-${paymentId}`;
export const refundIdempotencyKey = (paymentId: number) => `refund-${paymentId}`;

/**
 * Verifies a webhook with the SDK against the injected clock (so stale-signature rules are
 * testable) and returns the event. `rawBody` must be the exact bytes Stripe sent.
 */
export function verifyStripeSignature(
  rawBody: string | Buffer,
  signatureHeader: string | undefined,
  secret: string,
  clock: Clock,
  toleranceSeconds = STRIPE_WEBHOOK_TOLERANCE_S,
): Stripe.Event {
  if (!signatureHeader) throw new WebhookSignatureError('Missing Stripe-Signature header');
  try {
    return stripeSdk().webhooks.constructEvent(rawBody, signatureHeader, secret, toleranceSeconds, undefined, clock.now().getTime());
  } catch (error) {
    if (error instanceof stripeSdk().errors.StripeSignatureVerificationError) throw new WebhookSignatureError(error.message, { cause: error });
    throw new MalformedCallbackError('The webhook body is not a Stripe event');
  }
}

export interface CardEventOutcome {
  paymentIntentId: string;
  /** Our payments.id from the PaymentIntent's metadata, when it is one of ours. */
  paymentId: number | undefined;
  outcome: PaymentOutcome;
  amountMinor: number;
  currency: string;
  /** The charge, for `transaction_id`. */
  transactionId: string | undefined;
}

/** What a verified event means for a payment; undefined for event types the payments service ignores. */
export function cardEventOutcome(event: Stripe.Event): CardEventOutcome | undefined {
  if (event.type !== 'payment_intent.succeeded' && event.type !== 'payment_intent.payment_failed') return undefined;
  const intent = event.data.object;
  const paymentId = Number(intent.metadata?.payment_id);
  const charge = typeof intent.latest_charge === 'string' ? intent.latest_charge : intent.latest_charge?.id;
  return {
    paymentIntentId: intent.id,
    paymentId: Number.isSafeInteger(paymentId) && paymentId > 0 ? paymentId : undefined,
    outcome:
      event.type === 'payment_intent.succeeded'
        ? { state: 'completed' }
        : { state: 'failed', code: 'declined', reason: intent.last_payment_error?.message ?? 'The card payment failed' },
    amountMinor: event.type === 'payment_intent.succeeded' ? intent.amount_received : intent.amount,
    currency: intent.currency,
    transactionId: charge ?? undefined,
  };
}

export interface StripeSettings {
  secretKey: string;
  webhookSecret: string;
  /** e.g. https://api.stripe.com; a loopback http URL in tests. */
  apiBase: string;
  timeoutMs: number;
}

function toProviderError(operation: string, error: unknown): ProviderError {
  if (!(error instanceof stripeSdk().errors.StripeError)) {
    return new ProviderError('unavailable', { provider: 'stripe', operation, message: 'Stripe could not be reached', cause: error });
  }
  const base = { provider: 'stripe' as const, operation, status: error.statusCode, providerCode: error.code, cause: error };
  if (error.type === 'StripeConnectionError') {
    const timedOut = (error.detail as { code?: string } | undefined)?.code === 'ETIMEDOUT';
    return new ProviderError(timedOut ? 'timeout' : 'unavailable', {
      ...base,
      message: timedOut ? 'Stripe did not answer in time' : 'Stripe could not be reached',
    });
  }
  if (error.type === 'StripeAPIError' || error.type === 'StripeRateLimitError' || (error.statusCode ?? 0) >= 500) {
    return new ProviderError('unavailable', { ...base, message: `Stripe ${operation}: ${error.message}` });
  }
  return new ProviderError('rejected', { ...base, message: error.message });
}

/** Cards through the official SDK; retries are ours to decide (idempotency keys make them safe). */
export function stripeProvider(settings: StripeSettings, deps: { clock: Clock }): CardProvider {
  const base = new URL(settings.apiBase);
  const protocol = base.protocol === 'http:' ? 'http' : 'https';
  const agent = providerAgent(base);
  const StripeClient = stripeSdk();
  const stripe = new StripeClient(settings.secretKey, {
    host: base.hostname,
    port: base.port || (protocol === 'https' ? 443 : 80),
    protocol,
    timeout: settings.timeoutMs,
    maxNetworkRetries: 0,
    httpAgent: agent,
  });

  const call = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw toProviderError(operation, error);
    }
  };

  return {
    method: 'card',
    name: 'stripe',
    close() {
      agent.destroy();
    },

    verifyWebhook: (rawBody, signatureHeader) => verifyStripeSignature(rawBody, signatureHeader, settings.webhookSecret, deps.clock),

    async startPayment(input: StartPaymentInput) {
      if (!Number.isSafeInteger(input.amountMinor) || input.amountMinor <= 0)
        throw new PaymentInputError('invalid_amount', 'amount', 'The amount must be a positive whole number of cents');
      if (!/^[A-Za-z]{3}$/.test(input.currency))
        throw new PaymentInputError('unsupported_currency', 'currency', `${input.currency} is not an ISO 4217 currency`);
      const intent = await call('create_payment_intent', () =>
        stripe.paymentIntents.create(
          {
            amount: input.amountMinor,
            currency: input.currency.toLowerCase(),
            description: input.description,
            metadata: { payment_id: String(input.paymentId), booking_id: String(input.bookingId), account_reference: input.accountReference },
            automatic_payment_methods: { enabled: true },
          },
          { idempotencyKey: paymentIdempotencyKey(input.paymentId) },
        ),
      );
      if (!intent.client_secret)
        throw new ProviderError('unavailable', {
          provider: 'stripe',
          operation: 'create_payment_intent',
          message: 'Stripe returned a PaymentIntent without a client_secret',
        });
      return { providerReference: intent.id, clientSecret: intent.client_secret };
    },

    async queryPayment({ providerReference }): Promise<PaymentQueryResult> {
      const intent = await call('retrieve_payment_intent', () => stripe.paymentIntents.retrieve(providerReference));
      if (intent.status === 'succeeded') {
        const charge = typeof intent.latest_charge === 'string' ? intent.latest_charge : intent.latest_charge?.id;
        return { state: 'completed', transactionId: charge ?? intent.id, amountMinor: intent.amount_received };
      }
      if (intent.status === 'canceled') return { state: 'failed', code: 'cancelled', reason: 'The card payment was cancelled' };
      // requires_payment_method after an attempt: the last card was declined.
      if (intent.status === 'requires_payment_method' && intent.last_payment_error) {
        return { state: 'failed', code: 'declined', reason: intent.last_payment_error.message ?? 'The card was declined' };
      }
      return { state: 'pending' };
    },

    async refund(input: RefundInput) {
      const refund = await call('create_refund', () =>
        stripe.refunds.create(
          // Stripe's `reason` takes three fixed values; our free-text reason travels in metadata.
          {
            payment_intent: input.providerReference,
            amount: input.amountMinor,
            metadata: { payment_id: String(input.paymentId), reason: input.reason.slice(0, 500) },
          },
          { idempotencyKey: refundIdempotencyKey(input.paymentId) },
        ),
      );
      if (refund.status === 'failed' || refund.status === 'canceled') {
        throw new ProviderError('rejected', {
          provider: 'stripe',
          operation: 'create_refund',
          message: `Stripe refund ${refund.status}${refund.failure_reason ? `: ${refund.failure_reason}` : ''}`,
        });
      }
      return { state: refund.status === 'succeeded' ? ('completed' as const) : ('pending' as const), reference: refund.id };
    },
  };
}
