import { randomBytes, randomInt } from 'node:crypto';
import { DateTime } from 'luxon';
import type { Clock } from '../../shared/clock.ts';
import { darajaTimestamp, mpesaCallbackPath, mpesaReversalResultPath, parseReversalResult, parseStkCallback, wholeShillings } from './mpesa.ts';
import { normalizeKenyanPhone } from './phone.ts';
import {
  PaymentInputError,
  ProviderError,
  type CardProvider,
  type Deliver,
  type MpesaProvider,
  type PaymentQueryResult,
  type ProviderLog,
  type RefundInput,
  type StartPaymentInput,
} from './provider.ts';
import { STRIPE_WEBHOOK_PATH, stripeSdk, verifyStripeSignature } from './stripe.ts';

/**
 * Stand-ins for Daraja and Stripe outside production. They answer as the real provider does and
 * then deliver that provider's own callback to this service's own route, so the service runs the
 * same code path as with the real thing. A payment succeeds unless the phone ends in 000.
 */

export interface SimulatedDeps {
  clock: Clock;
  deliver: Deliver;
  log: ProviderLog;
}

/** Timers that never keep the process alive and all stop on close(). */
function scheduler(log: ProviderLog) {
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  return {
    later(delayMs: number, what: string, task: () => Promise<void>) {
      if (closed) return;
      const timer = setTimeout(() => {
        timers.delete(timer);
        task().catch((error: unknown) => log.warn({ err: error, provider: 'simulated', what }, 'Simulated payment callback could not be delivered'));
      }, delayMs);
      timer.unref();
      timers.add(timer);
    },
    close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

async function send(deps: SimulatedDeps, url: string, body: string, headers: Record<string, string> = {}) {
  const response = await deps.deliver({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, body });
  if (response && response.statusCode >= 300)
    deps.log.warn({ provider: 'simulated', url: url.replace(/[^/]+$/, '…'), statusCode: response.statusCode }, 'Simulated callback was refused');
}

const fails = (phone: string | undefined) => phone !== undefined && phone.replace(/\D/g, '').endsWith('000');
const digits = (count: number) => Array.from({ length: count }, () => randomInt(10)).join('');
const receiptNumber = () => Array.from({ length: 10 }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[randomInt(36)]).join('');

export interface SimulatedMpesaSettings {
  delayMs: number;
  callbackToken: string;
  shortcode?: string;
}

export function simulatedMpesa(settings: SimulatedMpesaSettings, deps: SimulatedDeps): MpesaProvider {
  const timers = scheduler(deps.log);
  const states = new Map<string, PaymentQueryResult>();
  const shortcode = settings.shortcode ?? '174379';

  return {
    method: 'mpesa',
    name: 'simulated',
    parseStkCallback,
    parseReversalResult,
    close: () => timers.close(),

    async startPayment(input: StartPaymentInput) {
      const amount = wholeShillings(input.amountMinor, input.currency);
      const phone = input.phone === undefined ? undefined : normalizeKenyanPhone(input.phone);
      if (!phone) throw new PaymentInputError('invalid_phone', 'phone_number', 'A Kenyan mobile number (07…, 01… or +254…) is required for M-Pesa');
      const now = DateTime.fromJSDate(deps.clock.now(), { zone: 'Africa/Nairobi' });
      // Daraja's shapes: ws_CO_<DDMMYYYYHHmmss><digits> and <n>-<n>-1.
      const checkoutRequestId = `ws_CO_${now.toFormat('ddMMyyyyHHmmss')}${digits(10)}`;
      const merchantRequestId = `${digits(5)}-${digits(8)}-1`;
      states.set(checkoutRequestId, { state: 'pending' });

      timers.later(settings.delayMs, 'stk_callback', async () => {
        const success = !fails(phone);
        const receipt = receiptNumber();
        const stkCallback = success
          ? {
              MerchantRequestID: merchantRequestId,
              CheckoutRequestID: checkoutRequestId,
              ResultCode: 0,
              ResultDesc: 'The service request is processed successfully.',
              CallbackMetadata: {
                Item: [
                  { Name: 'Amount', Value: amount },
                  { Name: 'MpesaReceiptNumber', Value: receipt },
                  { Name: 'Balance' },
                  { Name: 'TransactionDate', Value: Number(darajaTimestamp(deps.clock.now())) },
                  { Name: 'PhoneNumber', Value: Number(phone) },
                ],
              },
            }
          : { MerchantRequestID: merchantRequestId, CheckoutRequestID: checkoutRequestId, ResultCode: 1032, ResultDesc: 'Request cancelled by user' };
        states.set(
          checkoutRequestId,
          success
            ? { state: 'completed', transactionId: receipt, amountMinor: input.amountMinor }
            : { state: 'failed', code: 'cancelled', reason: 'Cancelled by the customer on the phone' },
        );
        await send(deps, mpesaCallbackPath(settings.callbackToken), JSON.stringify({ Body: { stkCallback } }));
      });
      return { providerReference: checkoutRequestId, checkoutRequestId, merchantRequestId };
    },

    async queryPayment({ providerReference }) {
      const state = states.get(providerReference);
      // Daraja answers 400 "Invalid CheckoutRequestID" for one it never issued (or, here, one from before a restart).
      if (!state) throw new ProviderError('rejected', { provider: 'simulated', operation: 'stk_query', message: 'Invalid CheckoutRequestID', status: 400 });
      return state;
    },

    async refund(input: RefundInput) {
      const amount = wholeShillings(input.amountMinor, input.currency);
      const stamp = DateTime.fromJSDate(deps.clock.now(), { zone: 'Africa/Nairobi' }).toFormat('yyyyMMdd');
      const conversationId = `AG_${stamp}_${randomBytes(10).toString('hex')}`;
      const originatorConversationId = `${digits(5)}-${digits(8)}-1`;
      timers.later(settings.delayMs, 'reversal_result', async () => {
        const result = {
          ResultType: 0,
          ResultCode: 0,
          ResultDesc: 'The service request is processed successfully.',
          OriginatorConversationID: originatorConversationId,
          ConversationID: conversationId,
          TransactionID: receiptNumber(),
          ResultParameters: {
            ResultParameter: [
              { Key: 'Amount', Value: amount },
              { Key: 'OriginalTransactionID', Value: input.transactionId ?? '' },
              { Key: 'TransCompletedTime', Value: Number(darajaTimestamp(deps.clock.now())) },
              { Key: 'CreditPartyPublicName', Value: `${shortcode} - Spacer` },
            ],
          },
          ReferenceData: { ReferenceItem: { Key: 'QueueTimeoutURL', Value: 'https://internalsandbox.safaricom.co.ke/mpesa/reversalresults/v1/submit' } },
        };
        await send(deps, mpesaReversalResultPath(settings.callbackToken), JSON.stringify({ Result: result }));
      });
      return { state: 'completed' as const, reference: conversationId };
    },
  };
}

export interface SimulatedCardSettings {
  delayMs: number;
  /** Signs the simulated events; verifyWebhook checks with the same secret. */
  webhookSecret: string;
}

export function simulatedCard(settings: SimulatedCardSettings, deps: SimulatedDeps): CardProvider {
  const timers = scheduler(deps.log);
  const states = new Map<string, PaymentQueryResult>();

  return {
    method: 'card',
    name: 'simulated',
    close: () => timers.close(),
    verifyWebhook: (rawBody, signatureHeader) => verifyStripeSignature(rawBody, signatureHeader, settings.webhookSecret, deps.clock),

    async startPayment(input: StartPaymentInput) {
      if (!Number.isSafeInteger(input.amountMinor) || input.amountMinor <= 0)
        throw new PaymentInputError('invalid_amount', 'amount', 'The amount must be a positive whole number of cents');
      const id = `pi_sim_${randomBytes(12).toString('hex')}`;
      const clientSecret = `${id}_secret_${randomBytes(12).toString('hex')}`;
      const currency = input.currency.toLowerCase();
      const createdAt = Math.floor(deps.clock.now().getTime() / 1000);
      states.set(id, { state: 'pending' });

      timers.later(settings.delayMs, 'stripe_event', async () => {
        const success = !fails(input.phone);
        const charge = `ch_sim_${randomBytes(12).toString('hex')}`;
        const now = Math.floor(deps.clock.now().getTime() / 1000);
        const intent = {
          id,
          object: 'payment_intent',
          amount: input.amountMinor,
          amount_received: success ? input.amountMinor : 0,
          currency,
          client_secret: clientSecret,
          created: createdAt,
          description: input.description,
          latest_charge: success ? charge : null,
          last_payment_error: success
            ? null
            : { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' },
          livemode: false,
          metadata: { payment_id: String(input.paymentId), booking_id: String(input.bookingId), account_reference: input.accountReference },
          status: success ? 'succeeded' : 'requires_payment_method',
        };
        const event = {
          id: `evt_sim_${randomBytes(12).toString('hex')}`,
          object: 'event',
          api_version: stripeSdk().API_VERSION,
          created: now,
          data: { object: intent },
          livemode: false,
          pending_webhooks: 1,
          request: { id: null, idempotency_key: null },
          type: success ? 'payment_intent.succeeded' : 'payment_intent.payment_failed',
        };
        const payload = JSON.stringify(event);
        const signature = stripeSdk().webhooks.generateTestHeaderString({ payload, secret: settings.webhookSecret, timestamp: now });
        states.set(
          id,
          success
            ? { state: 'completed', transactionId: charge, amountMinor: input.amountMinor }
            : { state: 'failed', code: 'declined', reason: 'Your card was declined.' },
        );
        await send(deps, STRIPE_WEBHOOK_PATH, payload, { 'stripe-signature': signature });
      });
      return { providerReference: id, clientSecret };
    },

    async queryPayment({ providerReference }) {
      const state = states.get(providerReference);
      if (!state)
        throw new ProviderError('rejected', {
          provider: 'simulated',
          operation: 'retrieve_payment_intent',
          message: `No such payment_intent: '${providerReference}'`,
          status: 404,
        });
      return state;
    },

    async refund(_input: RefundInput) {
      return { state: 'completed' as const, reference: `re_sim_${randomBytes(12).toString('hex')}` };
    },
  };
}
