import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { principalOf } from '../../plugins/auth.ts';
import { badRequest } from '../../shared/errors.ts';
import { sendReplayed } from '../../plugins/replay.ts';
import { errorResponses, IdempotencyHeaders, IdParams, Page } from '../../shared/schemas.ts';
import { containsCardNumber } from './payments.rules.ts';
import {
  CallbackTokenParams,
  CreatedPaymentSchema,
  CreatePaymentBody,
  DarajaAckSchema,
  PaymentListQuery,
  PaymentSchema,
  ReceiptQuery,
  ReceiptSchema,
  WebhookAckSchema,
} from './payments.schemas.ts';
import type { PaymentsService } from './payments.service.ts';
import { ADMINS, AUTHENTICATED, BOOKER_ONLY, BOOKER_OR_HOST, GATED, SPACE_MANAGERS } from '../../shared/access.ts';

const tags = ['payments'];
const security = [{ bearerAuth: [] }];
/** Provider messages are small; anything bigger is not one. */
const CALLBACK_BODY_LIMIT = 64 * 1024;

const cardNumberRefused = () =>
  badRequest('card_number_refused', 'Card numbers are never accepted: pay by card through the card form (Stripe), which gives a token', [
    { field: 'body', message: 'contains what looks like a card number' },
  ]);

/** Refused before validation, so a card number never reaches a validator's message or a log. */
export const refuseCardNumbers = async (request: FastifyRequest) => {
  if (containsCardNumber(request.body)) throw cardNumberRefused();
};

const wantsPdf = (request: FastifyRequest<{ Querystring: { format?: 'json' | 'pdf' } }>) =>
  request.query.format === 'pdf' || (request.query.format === undefined && /\bapplication\/pdf\b/i.test(request.headers.accept ?? ''));

const paymentsRoutes: FastifyPluginAsyncTypebox<{ payments: PaymentsService }> = async (app, { payments }) => {
  const authenticated = { onRequest: [app.authenticate] };

  app.get(
    '/',
    {
      ...authenticated,
      config: { access: AUTHENTICATED },
      schema: {
        tags,
        security,
        operationId: 'listPayments',
        summary: 'Payments you may see: your own (client), those for your spaces (owner), all (admin)',
        querystring: PaymentListQuery,
        response: { 200: Page('payments', Type.Ref('Payment')), ...errorResponses(400, 401) },
      },
    },
    async (request) => payments.list(principalOf(request), request.query),
  );

  app.post(
    '/',
    {
      ...authenticated,
      preValidation: refuseCardNumbers,
      config: { access: BOOKER_ONLY },
      schema: {
        tags,
        security,
        operationId: 'createPayment',
        summary: 'Pay for a confirmed booking (its guest only)',
        description:
          "The amount is the booking's total; an amount in the body is ignored. M-Pesa sends an STK push to `phone_number` (or the saved `payment_method_id`) and answers with its `checkout_request_id`; " +
          "card answers with the Stripe `client_secret` to confirm in the browser; cash waits for the space's owner to confirm it. The payment then completes or fails from the provider's callback. " +
          'A booking not confirmed, or already paid or being paid, is 409 invalid_state. A provider that does not answer is 503 and one that refuses is 502 payment_provider_error: the payment is then failed and the booking unpaid again, so it may be retried. ' +
          'A card number anywhere in the body is 400 card_number_refused. With Idempotency-Key, a repeat with the same body within 24 h returns the first answer (header Idempotent-Replayed: true).',
        headers: IdempotencyHeaders,
        body: CreatePaymentBody,
        response: { 201: CreatedPaymentSchema, ...errorResponses(400, 401, 403, 404, 409, 502, 503) },
      },
    },
    async (request, reply) => {
      const result = await payments.create(principalOf(request), request.body, request.headers['idempotency-key']);
      if (result.replayed) return sendReplayed(reply, result.json);
      return reply.status(201).send(result.payment);
    },
  );

  app.get(
    '/:id',
    {
      ...authenticated,
      config: { access: BOOKER_OR_HOST },
      schema: {
        tags,
        security,
        operationId: 'getPayment',
        summary: "One payment (its payer, the space's owner, or an admin)",
        params: IdParams,
        response: { 200: PaymentSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => payments.getById(principalOf(request), request.params.id),
  );

  app.put(
    '/:id/confirm',
    {
      ...authenticated,
      config: { access: SPACE_MANAGERS },
      schema: {
        tags,
        security,
        operationId: 'confirmCashPayment',
        summary: "Confirm a pending cash payment as received (the space's owner or an admin)",
        params: IdParams,
        response: { 200: PaymentSchema, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => payments.confirmCash(principalOf(request), request.params.id),
  );

  app.post(
    '/:id/refund',
    {
      ...authenticated,
      config: { access: ADMINS },
      schema: {
        tags,
        security,
        operationId: 'refundPayment',
        summary: 'Refund a completed payment in full through its provider (admin)',
        description:
          'Answers the payment as it then is: `refunded`, or still `completed` while the provider (a Daraja reversal) confirms or a failed attempt waits to be retried.',
        params: IdParams,
        response: { 200: PaymentSchema, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => payments.refund(principalOf(request), request.params.id),
  );

  app.get(
    '/:id/receipt',
    {
      ...authenticated,
      config: { access: BOOKER_OR_HOST },
      schema: {
        tags,
        security,
        operationId: 'getReceipt',
        summary: 'The receipt of a paid payment: JSON, or a PDF with Accept: application/pdf or ?format=pdf',
        params: IdParams,
        querystring: ReceiptQuery,
        response: {
          200: {
            description: 'The receipt',
            content: { 'application/json': { schema: ReceiptSchema }, 'application/pdf': { schema: Type.String({ format: 'binary' }) } },
          },
          ...errorResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request);
      if (!wantsPdf(request)) return reply.type('application/json; charset=utf-8').send(await payments.receipt(actor, request.params.id));
      const { receiptNumber, pdf } = await payments.receiptPdf(actor, request.params.id);
      return reply
        .type('application/pdf')
        .header('content-disposition', `inline; filename="${receiptNumber}.pdf"`)
        .send(pdf as never);
    },
  );

  app.post(
    '/mpesa/callback/:token',
    {
      bodyLimit: CALLBACK_BODY_LIMIT,
      config: { access: GATED },
      schema: {
        tags,
        operationId: 'mpesaCallback',
        summary: "Daraja's STK callback (M-Pesa calls this)",
        description:
          "The path token must equal MPESA_CALLBACK_TOKEN, else 404. An unknown CheckoutRequestID is 404; a repeated or late callback changes nothing; an amount other than the payment's fails it.",
        params: CallbackTokenParams,
        response: { 200: DarajaAckSchema, ...errorResponses(400, 404, 413, 415) },
      },
    },
    async (request) => payments.mpesaCallback(request.params.token, request.body),
  );

  app.post(
    '/mpesa/reversal/:token',
    {
      bodyLimit: CALLBACK_BODY_LIMIT,
      config: { access: GATED },
      schema: {
        tags,
        operationId: 'mpesaReversalResult',
        summary: "Daraja's reversal result (the outcome of an M-Pesa refund)",
        params: CallbackTokenParams,
        response: { 200: DarajaAckSchema, ...errorResponses(400, 404, 413, 415) },
      },
    },
    async (request) => payments.mpesaReversalResult(request.params.token, request.body),
  );

  app.post(
    '/mpesa/reversal/:token/timeout',
    {
      bodyLimit: CALLBACK_BODY_LIMIT,
      config: { access: GATED },
      schema: {
        tags,
        operationId: 'mpesaReversalTimeout',
        summary: "Daraja's queue time-out of a reversal (the refund is retried)",
        params: CallbackTokenParams,
        response: { 200: DarajaAckSchema, ...errorResponses(400, 404, 413, 415) },
      },
    },
    async (request) => payments.mpesaReversalTimeout(request.params.token, request.body),
  );

  // Stripe signs the exact bytes it sent, so this route keeps the body as text.
  await app.register(async (raw) => {
    raw.removeContentTypeParser('application/json');
    raw.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: CALLBACK_BODY_LIMIT }, (_request, body, done) => done(null, body));
    raw.post(
      '/stripe/webhook',
      {
        config: { access: GATED },
        schema: {
          tags,
          operationId: 'stripeWebhook',
          summary: "Stripe's webhook: payment_intent.succeeded, payment_intent.payment_failed, charge.refunded",
          description:
            'The Stripe-Signature header is checked over the raw body with STRIPE_WEBHOOK_SECRET (a bad or stale one is 400). An event id seen before changes nothing.',
          response: { 200: WebhookAckSchema, ...errorResponses(400, 404, 413, 415) },
        },
      },
      async (request) => {
        const signature = request.headers['stripe-signature'];
        return payments.stripeWebhook(typeof request.body === 'string' ? request.body : '', typeof signature === 'string' ? signature : undefined);
      },
    );
  });
};

export default paymentsRoutes;
