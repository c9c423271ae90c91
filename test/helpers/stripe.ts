import { createHash, randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

/**
 * A loopback Stripe API for the endpoints the card provider uses (create and retrieve
 * PaymentIntents, create refunds), reading the SDK's form encoding, checking the Bearer secret
 * key and honouring Idempotency-Key the way Stripe does (same key and parameters: the first
 * answer again with Idempotent-Replayed; same key, other parameters: 400 idempotency_error).
 */

export type StripeFault = { status: number; body?: unknown } | { hang: true };

export interface StripeRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Form fields exactly as the SDK encoded them, e.g. `metadata[payment_id]`. */
  form: Record<string, string>;
}

type Json = Record<string, unknown>;

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;

export async function startFakeStripe(options: { secretKey?: string } = {}) {
  const secretKey = options.secretKey ?? `sk_test_${randomBytes(12).toString('hex')}`;
  const intents = new Map<string, Json>();
  const refunds = new Map<string, Json>();
  const requests: StripeRequest[] = [];
  const idempotent = new Map<string, { fingerprint: string; status: number; body: Json }>();
  const faults: StripeFault[] = [];

  const invalid = (message: string, extra: Json = {}) => ({ status: 400, body: { error: { type: 'invalid_request_error', message, ...extra } } });

  const metadataOf = (form: Record<string, string>) =>
    Object.fromEntries(
      Object.entries(form).flatMap(([key, value]) => {
        const match = /^metadata\[(.+)\]$/.exec(key);
        return match ? [[match[1]!, value]] : [];
      }),
    );

  function createIntent(form: Record<string, string>) {
    const amount = Number(form.amount);
    if (!Number.isSafeInteger(amount) || amount < 1) return invalid('Invalid positive integer', { param: 'amount', code: 'parameter_invalid_integer' });
    if (!/^[a-z]{3}$/.test(form.currency ?? '')) return invalid('Invalid currency', { param: 'currency', code: 'parameter_invalid_string' });
    const intentId = id('pi');
    const intent: Json = {
      id: intentId,
      object: 'payment_intent',
      amount,
      amount_received: 0,
      automatic_payment_methods: form['automatic_payment_methods[enabled]'] === 'true' ? { enabled: true, allow_redirects: 'always' } : null,
      client_secret: `${intentId}_secret_${randomBytes(12).toString('hex')}`,
      created: Math.floor(Date.now() / 1000),
      currency: form.currency,
      description: form.description ?? null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata: metadataOf(form),
      status: 'requires_payment_method',
    };
    intents.set(intentId, intent);
    return { status: 200, body: intent };
  }

  function createRefund(form: Record<string, string>) {
    const intent = intents.get(form.payment_intent ?? '');
    if (!intent)
      return {
        status: 404,
        body: {
          error: {
            type: 'invalid_request_error',
            code: 'resource_missing',
            param: 'payment_intent',
            message: `No such payment_intent: '${String(form.payment_intent)}'`,
          },
        },
      };
    if (intent.status !== 'succeeded')
      return invalid(`This PaymentIntent (${String(intent.id)}) does not have a successful charge to refund.`, { code: 'charge_not_refundable' });
    const amount = form.amount === undefined ? (intent.amount_received as number) : Number(form.amount);
    if (!Number.isSafeInteger(amount) || amount < 1) return invalid('Invalid positive integer', { param: 'amount', code: 'parameter_invalid_integer' });
    if (amount > (intent.amount_received as number))
      return invalid(`Refund amount (${amount}) is greater than charge amount (${String(intent.amount_received)})`, {
        code: 'amount_too_large',
        param: 'amount',
      });
    const refund: Json = {
      id: id('re'),
      object: 'refund',
      amount,
      charge: intent.latest_charge,
      created: Math.floor(Date.now() / 1000),
      currency: intent.currency,
      metadata: metadataOf(form),
      payment_intent: intent.id,
      reason: form.reason ?? null,
      status: fake.refundStatus,
    };
    refunds.set(refund.id as string, refund);
    return { status: 200, body: refund };
  }

  const send = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    response.writeHead(status, { 'content-type': 'application/json', 'request-id': id('req'), ...headers }).end(JSON.stringify(body));
  };

  const server = createServer(
    (request, response) =>
      void (async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of request) chunks.push(chunk as Buffer);
        const raw = Buffer.concat(chunks).toString('utf8');
        const form = Object.fromEntries(new URLSearchParams(raw));
        const url = new URL(request.url ?? '/', 'http://stripe.local');
        requests.push({ method: request.method ?? '', path: url.pathname, headers: request.headers, form });

        const fault = faults.shift();
        if (fault && 'hang' in fault) return;
        if (fault) return send(response, fault.status, fault.body ?? { error: { type: 'api_error', message: 'An unknown error occurred' } });

        if (request.headers.authorization !== `Bearer ${secretKey}`) {
          return send(response, 401, {
            error: { type: 'invalid_request_error', message: `Invalid API Key provided: ${String(request.headers.authorization ?? '').slice(7, 15)}****` },
          });
        }

        const key = typeof request.headers['idempotency-key'] === 'string' ? request.headers['idempotency-key'] : undefined;
        const fingerprint = createHash('sha256').update(`${request.method} ${url.pathname} ${raw}`).digest('hex');
        if (key && request.method === 'POST') {
          const first = idempotent.get(key);
          if (first && first.fingerprint !== fingerprint) {
            return send(response, 400, {
              error: {
                type: 'idempotency_error',
                message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
              },
            });
          }
          if (first) return send(response, first.status, first.body, { 'idempotent-replayed': 'true', 'idempotency-key': key });
        }

        let answer: { status: number; body: Json };
        const retrieve = /^\/v1\/payment_intents\/([^/]+)$/.exec(url.pathname);
        if (request.method === 'POST' && url.pathname === '/v1/payment_intents') answer = createIntent(form);
        else if (request.method === 'POST' && url.pathname === '/v1/refunds') answer = createRefund(form);
        else if (request.method === 'GET' && retrieve) {
          const intent = intents.get(retrieve[1]!);
          answer = intent
            ? { status: 200, body: intent }
            : {
                status: 404,
                body: { error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such payment_intent: '${retrieve[1]}'` } },
              };
        } else
          answer = {
            status: 404,
            body: { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${request.method}: ${url.pathname}).` } },
          };

        if (key && request.method === 'POST' && answer.status < 500) idempotent.set(key, { fingerprint, ...answer });
        send(response, answer.status, answer.body, key ? { 'idempotency-key': key } : {});
      })(),
  );

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;

  const fake = {
    url: `http://${address.address}:${address.port}`,
    secretKey,
    requests,
    intents,
    refunds,
    /** What new refunds report (card refunds are usually `succeeded` at once, some `pending`). */
    refundStatus: 'succeeded' as string,
    fail(fault: StripeFault, times = 1) {
      for (let i = 0; i < times; i++) faults.push(fault);
    },
    /** The customer paid: the PaymentIntent succeeds with a charge, as after confirmation. */
    succeed(intentId: string) {
      const intent = intents.get(intentId)!;
      Object.assign(intent, { status: 'succeeded', amount_received: intent.amount, latest_charge: id('ch') });
      return intent;
    },
    decline(intentId: string, message = 'Your card was declined.') {
      const intent = intents.get(intentId)!;
      Object.assign(intent, {
        status: 'requires_payment_method',
        last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message },
      });
      return intent;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}

export type FakeStripe = Awaited<ReturnType<typeof startFakeStripe>>;

/** A Stripe event around a PaymentIntent, signed as Stripe signs webhooks (`t=…,v1=…`). */
export function signedStripeEvent(type: string, object: Json, secret: string, timestamp = Math.floor(Date.now() / 1000)) {
  const event = {
    id: id('evt'),
    object: 'event',
    api_version: Stripe.API_VERSION,
    created: timestamp,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
  const payload = JSON.stringify(event);
  return { event, payload, header: Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp }) };
}
