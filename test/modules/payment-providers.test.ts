import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import Stripe from 'stripe';
import { loadConfig } from '../../src/config.ts';
import {
  cardEventOutcome,
  createPaymentProviders,
  PaymentInputError,
  ProviderError,
  WebhookSignatureError,
  type CallbackDelivery,
  type ProviderErrorKind,
} from '../../src/infra/payments/index.ts';
import { darajaProvider, type DarajaSettings } from '../../src/infra/payments/mpesa.ts';
import { simulatedCard, simulatedMpesa } from '../../src/infra/payments/simulated.ts';
import { stripeProvider } from '../../src/infra/payments/stripe.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { TEST_SECRETS, tempDir } from '../helpers/app.ts';
import { startFakeDaraja } from '../helpers/daraja.ts';
import { signedStripeEvent, startFakeStripe } from '../helpers/stripe.ts';

const CALLBACK_TOKEN = 'cb_token_0123456789abcdef';
const WEBHOOK_SECRET = 'whsec_test_0123456789abcdefghij';

function memoryLog() {
  const entries: Array<{ level: string; details: object; message: string }> = [];
  return {
    entries,
    info: (details: object, message: string) => entries.push({ level: 'info', details, message }),
    warn: (details: object, message: string) => entries.push({ level: 'warn', details, message }),
  };
}

/** A stand-in for this service's callback routes: records what Daraja posts to it. */
async function callbackReceiver() {
  const received: Array<{ path: string; body: unknown }> = [];
  const server = createServer(
    (request, response) =>
      void (async () => {
        let raw = '';
        for await (const chunk of request) raw += chunk;
        received.push({ path: request.url ?? '', body: JSON.parse(raw) });
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ResultCode: 0, ResultDesc: 'Accepted' }));
      })(),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

async function darajaSetup(overrides: Partial<DarajaSettings> = {}, fakeOptions: Parameters<typeof startFakeDaraja>[0] = {}) {
  const fake = await startFakeDaraja(fakeOptions);
  after(() => fake.close());
  const receiver = await callbackReceiver();
  const clock = new ManualClock('2026-12-01T06:30:00.000Z');
  const log = memoryLog();
  const settings: DarajaSettings = {
    baseUrl: fake.url,
    consumerKey: fake.account.consumerKey,
    consumerSecret: fake.account.consumerSecret,
    shortcode: fake.account.shortcode,
    passkey: fake.account.passkey,
    publicUrl: receiver.url,
    callbackToken: CALLBACK_TOKEN,
    initiatorName: 'spacer-api-operator',
    securityCredential: 'ZW5jcnlwdGVkLWluaXRpYXRvci1wYXNzd29yZA==',
    timeoutMs: 2000,
    ...overrides,
  };
  return { fake, receiver, clock, log, settings, provider: darajaProvider(settings, { clock, log }) };
}

const push = {
  paymentId: 42,
  bookingId: 17,
  amountMinor: 150_000,
  currency: 'KES',
  phone: '0712 345-678',
  accountReference: 'BKG-17',
  description: 'Spacer booking 17',
};

async function assertProviderError(promise: Promise<unknown>, kind: ProviderErrorKind, check: (error: ProviderError) => void = () => {}) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ProviderError, `a ProviderError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    check(error);
    return true;
  });
}

async function assertInputError(promise: Promise<unknown>, code: PaymentInputError['code'], field: string) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof PaymentInputError, `a PaymentInputError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.field, field);
    return true;
  });
}

describe('Daraja client: OAuth token', () => {
  it('asks for one token with Basic base64(key:secret) and reuses it for several STK pushes', async () => {
    const { fake, provider } = await darajaSetup();
    for (let i = 0; i < 3; i++) await provider.startPayment({ ...push, paymentId: i + 1 });

    const oauth = fake.requestsFor('oauth');
    assert.equal(oauth.length, 1);
    assert.equal(oauth[0]!.method, 'GET');
    assert.equal(oauth[0]!.path, '/oauth/v1/generate?grant_type=client_credentials');
    assert.equal(oauth[0]!.headers.authorization, `Basic ${Buffer.from(`${fake.account.consumerKey}:${fake.account.consumerSecret}`).toString('base64')}`);
    const pushes = fake.requestsFor('stk_push');
    assert.equal(pushes.length, 3);
    assert.equal(new Set(pushes.map((entry) => entry.headers.authorization)).size, 1, 'the same Bearer token each time');
    assert.match(String(pushes[0]!.headers.authorization), /^Bearer \S+$/);
  });

  it('shares one token request between concurrent pushes', async () => {
    const { fake, provider } = await darajaSetup();
    await Promise.all([1, 2, 3, 4].map((paymentId) => provider.startPayment({ ...push, paymentId })));
    assert.equal(fake.requestsFor('oauth').length, 1);
    assert.equal(fake.requestsFor('stk_push').length, 4);
  });

  it('renews the token a minute before expires_in runs out, by the injected clock', async () => {
    const { fake, clock, provider } = await darajaSetup({}, { tokenTtlSeconds: 3599 });
    await provider.startPayment(push);
    clock.advance(3538_000);
    await provider.startPayment(push);
    assert.equal(fake.requestsFor('oauth').length, 1, 'still valid 61 s before expiry');
    clock.advance(2_000);
    await provider.startPayment(push);
    assert.equal(fake.requestsFor('oauth').length, 2, 'renewed within the last minute');
  });

  it('renews once and retries when Daraja answers 401 to a cached token', async () => {
    const { fake, provider } = await darajaSetup();
    await provider.startPayment(push);
    fake.expireTokens();
    const started = await provider.startPayment(push);

    assert.match(started.providerReference, /^ws_CO_/);
    assert.equal(fake.requestsFor('oauth').length, 2);
    const pushes = fake.requestsFor('stk_push');
    assert.equal(pushes.length, 3, 'the refused push was sent again');
    assert.notEqual(pushes[2]!.headers.authorization, pushes[1]!.headers.authorization);
    assert.equal(fake.transactions.size, 2);
  });

  it('gives up with a rejected ProviderError when the renewed token is refused too', async () => {
    const { fake, provider } = await darajaSetup();
    fake.fail('stk_push', { status: 401, body: { requestId: '1', errorCode: '404.001.03', errorMessage: 'Invalid Access Token' } }, 2);
    await assertProviderError(provider.startPayment(push), 'rejected', (error) => {
      assert.equal(error.status, 401);
      assert.equal(error.providerCode, '404.001.03');
    });
    assert.equal(fake.requestsFor('oauth').length, 2);
    assert.equal(fake.requestsFor('stk_push').length, 2, 'renewed only once');
  });

  it('reports wrong consumer credentials as rejected on the oauth operation, without echoing them', async () => {
    const { provider } = await darajaSetup({ consumerSecret: 'not-the-secret-xyz' });
    await assertProviderError(provider.startPayment(push), 'rejected', (error) => {
      assert.equal(error.operation, 'oauth');
      assert.equal(error.status, 400);
      assert.doesNotMatch(error.message, /not-the-secret-xyz/);
    });
  });
});

describe('Daraja client: STK push', () => {
  it('sends the documented body, with Password and Timestamp in Nairobi time from the injected clock', async () => {
    const { fake, clock, receiver, provider } = await darajaSetup();
    clock.set('2026-12-01T21:30:05.000Z');
    const started = await provider.startPayment(push);

    const [request] = fake.requestsFor('stk_push');
    const timestamp = '20261202003005';
    assert.deepEqual(request!.body, {
      BusinessShortCode: '174379',
      Password: Buffer.from(`174379${fake.account.passkey}${timestamp}`).toString('base64'),
      Timestamp: timestamp,
      TransactionType: 'CustomerPayBillOnline',
      Amount: 1500,
      PartyA: '254712345678',
      PartyB: '174379',
      PhoneNumber: '254712345678',
      CallBackURL: `${receiver.url}/api/payments/mpesa/callback/${CALLBACK_TOKEN}`,
      AccountReference: 'BKG-17',
      TransactionDesc: 'Spacer bookin',
    });
    assert.equal(request!.headers['content-type'], 'application/json');
    const transaction = fake.transactions.get(started.providerReference)!;
    assert.deepEqual(started, {
      providerReference: transaction.checkoutRequestId,
      checkoutRequestId: transaction.checkoutRequestId,
      merchantRequestId: transaction.merchantRequestId,
    });
  });

  it('refuses fractional shillings, other currencies and non-Kenyan phones before calling Daraja', async () => {
    const { fake, provider } = await darajaSetup();
    await assertInputError(provider.startPayment({ ...push, amountMinor: 150_050 }), 'invalid_amount', 'amount');
    await assertInputError(provider.startPayment({ ...push, amountMinor: 0 }), 'invalid_amount', 'amount');
    await assertInputError(provider.startPayment({ ...push, currency: 'USD' }), 'unsupported_currency', 'currency');
    await assertInputError(provider.startPayment({ ...push, phone: '+255712345678' }), 'invalid_phone', 'phone_number');
    const { phone: _phone, ...withoutPhone } = push;
    await assertInputError(provider.startPayment(withoutPhone), 'invalid_phone', 'phone_number');
    assert.equal(fake.requests.length, 0);
  });

  it('maps a 400 to rejected with Daraja’s message and code', async () => {
    const { fake, provider } = await darajaSetup();
    fake.fail('stk_push', { status: 400, body: { requestId: '7', errorCode: '400.002.02', errorMessage: 'Bad Request - Invalid PhoneNumber' } });
    await assertProviderError(provider.startPayment(push), 'rejected', (error) => {
      assert.equal(error.status, 400);
      assert.equal(error.providerCode, '400.002.02');
      assert.match(error.message, /Invalid PhoneNumber/);
      assert.equal(error.provider, 'daraja');
      assert.equal(error.operation, 'stk_push');
    });
  });

  it('maps a 200 with a non-zero ResponseCode to rejected', async () => {
    const { fake, provider } = await darajaSetup();
    fake.fail('stk_push', {
      status: 200,
      body: { ResponseCode: '1', ResponseDescription: 'Unable to lock subscriber, a transaction is already in process for the current subscriber' },
    });
    await assertProviderError(provider.startPayment(push), 'rejected', (error) => assert.match(error.message, /already in process/));
  });

  it('maps 5xx and 429 to unavailable', async () => {
    const { fake, provider } = await darajaSetup();
    fake.fail('stk_push', { status: 503, body: { requestId: '8', errorCode: '503.001.01', errorMessage: 'Service Unavailable' } });
    await assertProviderError(provider.startPayment(push), 'unavailable', (error) => assert.equal(error.status, 503));
    fake.fail('stk_push', { status: 429 });
    await assertProviderError(provider.startPayment(push), 'unavailable', (error) => assert.equal(error.status, 429));
    fake.expireTokens();
    fake.fail('oauth', { status: 500, body: 'Internal Server Error' });
    await assertProviderError(provider.startPayment(push), 'unavailable', (error) => {
      assert.equal(error.operation, 'oauth');
      assert.equal(error.status, 500);
    });
  });

  it('maps a Daraja that never answers to timeout, after the configured timeout', async () => {
    const { fake, provider } = await darajaSetup({ timeoutMs: 300 });
    await provider.startPayment(push);
    fake.fail('stk_push', { hang: true });
    const started = Date.now();
    await assertProviderError(provider.startPayment(push), 'timeout', (error) => assert.equal(error.operation, 'stk_push'));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 250 && elapsed < 3000, `gave up after ${elapsed} ms`);
  });

  it('maps an unreachable Daraja to unavailable', async () => {
    const { fake, provider } = await darajaSetup();
    await fake.close();
    await assertProviderError(provider.startPayment(push), 'unavailable', (error) => assert.equal(error.operation, 'oauth'));
  });

  it('never logs or reports the consumer secret, the passkey or the token', async () => {
    const { fake, log, provider } = await darajaSetup();
    await provider.startPayment(push);
    const token = String(fake.requestsFor('stk_push')[0]!.headers.authorization).slice(7);
    fake.expireTokens();
    await provider.startPayment(push);
    fake.fail('stk_push', { status: 500 });
    const error: unknown = await provider.startPayment(push).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof ProviderError);
    assert.ok(log.entries.length >= 1, 'the renewal was logged');
    const written = JSON.stringify(log.entries) + error.message + JSON.stringify(error);
    for (const secret of [fake.account.consumerSecret, fake.account.passkey, token]) assert.ok(!written.includes(secret));
  });
});

describe('Daraja client: STK query', () => {
  it('reports pending while Daraja answers 500.001.1001, then the ResultCode once settled', async () => {
    const { fake, clock, provider } = await darajaSetup();
    const { providerReference } = await provider.startPayment(push);
    assert.deepEqual(await provider.queryPayment({ providerReference }), { state: 'pending' });

    const [query] = fake.requestsFor('stk_query');
    const timestamp = '20261201093000';
    assert.equal(clock.now().toISOString(), '2026-12-01T06:30:00.000Z');
    assert.deepEqual(query!.body, {
      BusinessShortCode: '174379',
      Password: Buffer.from(`174379${fake.account.passkey}${timestamp}`).toString('base64'),
      Timestamp: timestamp,
      CheckoutRequestID: providerReference,
    });

    fake.settle(providerReference, { resultCode: 0 });
    assert.deepEqual(await provider.queryPayment({ providerReference }), { state: 'completed' });
  });

  const failures: Array<[number, string, string]> = [
    [1032, 'cancelled', 'Cancelled by the customer on the phone'],
    [1037, 'unreachable', 'The phone could not be reached (off or out of coverage)'],
    [1019, 'expired', 'The payment request expired before the customer answered it'],
    [1, 'insufficient_funds', 'Insufficient M-Pesa balance'],
    [2001, 'wrong_pin', 'Wrong M-Pesa PIN entered'],
    [9999, 'failed', 'Something Daraja-specific went wrong'],
  ];
  for (const [resultCode, code, reason] of failures) {
    it(`reports ResultCode ${resultCode} as failed (${code})`, async () => {
      const { fake, provider } = await darajaSetup();
      const { providerReference } = await provider.startPayment(push);
      fake.settle(providerReference, { resultCode, ...(resultCode === 9999 ? { resultDesc: 'Something Daraja-specific went wrong' } : {}) });
      assert.deepEqual(await provider.queryPayment({ providerReference }), { state: 'failed', code, reason });
    });
  }

  it('reports an unknown CheckoutRequestID as rejected', async () => {
    const { provider } = await darajaSetup();
    await assertProviderError(provider.queryPayment({ providerReference: 'ws_CO_000' }), 'rejected', (error) =>
      assert.match(error.message, /Invalid CheckoutRequestID/),
    );
  });

  it('reports other 500s as unavailable, not pending', async () => {
    const { fake, provider } = await darajaSetup();
    const { providerReference } = await provider.startPayment(push);
    fake.fail('stk_query', {
      status: 500,
      body: { requestId: '9', errorCode: '500.003.02', errorMessage: 'System is busy. Please try again in few minutes.' },
    });
    await assertProviderError(provider.queryPayment({ providerReference }), 'unavailable', (error) => assert.equal(error.providerCode, '500.003.02'));
  });
});

describe('Daraja callbacks end to end', () => {
  it('Daraja’s STK callback, posted to the CallBackURL the push gave, parses to the paid outcome', async () => {
    const { fake, receiver, provider } = await darajaSetup();
    const { providerReference } = await provider.startPayment(push);
    const answer = await fake.sendStkCallback(providerReference, { resultCode: 0 });

    assert.equal(answer.status, 200);
    assert.equal(receiver.received[0]!.path, `/api/payments/mpesa/callback/${CALLBACK_TOKEN}`);
    const parsed = provider.parseStkCallback(receiver.received[0]!.body);
    assert.equal(parsed.checkoutRequestId, providerReference);
    assert.equal(parsed.resultCode, 0);
    assert.deepEqual(parsed.outcome, { state: 'completed' });
    assert.equal(parsed.amountMinor, 150_000);
    assert.equal(parsed.mpesaReceipt, fake.transactions.get(providerReference)!.result!.receipt);
    assert.equal(parsed.phone, '254712345678');
    assert.match(parsed.transactionDate!, /^\d{14}$/);
  });

  it('a cancelled push’s callback parses to failed with the readable reason', async () => {
    const { fake, receiver, provider } = await darajaSetup();
    const { providerReference } = await provider.startPayment(push);
    await fake.sendStkCallback(providerReference, { resultCode: 1032 });
    const parsed = provider.parseStkCallback(receiver.received[0]!.body);
    assert.deepEqual(parsed.outcome, { state: 'failed', code: 'cancelled', reason: 'Cancelled by the customer on the phone' });
    assert.equal(parsed.amountMinor, undefined);
    assert.equal(parsed.resultDesc, 'Request cancelled by user');
  });
});

describe('Daraja client: reversal', () => {
  it('sends the reversal request and reports it pending until the Result arrives at the ResultURL', async () => {
    const { fake, receiver, provider } = await darajaSetup();
    const result = await provider.refund({
      paymentId: 42,
      providerReference: 'ws_CO_1',
      transactionId: 'SLK4H2ABCD',
      amountMinor: 75_000,
      currency: 'KES',
      reason: 'Cancelled by the owner',
    });

    const [request] = fake.requestsFor('reversal');
    assert.deepEqual(request!.body, {
      Initiator: 'spacer-api-operator',
      SecurityCredential: 'ZW5jcnlwdGVkLWluaXRpYXRvci1wYXNzd29yZA==',
      CommandID: 'TransactionReversal',
      TransactionID: 'SLK4H2ABCD',
      Amount: 750,
      ReceiverParty: '174379',
      RecieverIdentifierType: '11',
      ResultURL: `${receiver.url}/api/payments/mpesa/reversal/${CALLBACK_TOKEN}`,
      QueueTimeOutURL: `${receiver.url}/api/payments/mpesa/reversal/${CALLBACK_TOKEN}/timeout`,
      Remarks: 'Cancelled by the owner',
      Occasion: 'payment-42',
    });
    const reversal = [...fake.reversals.values()][0]!;
    assert.deepEqual(result, { state: 'pending', reference: reversal.conversationId });

    await fake.sendReversalResult(reversal.conversationId);
    assert.equal(receiver.received[0]!.path, `/api/payments/mpesa/reversal/${CALLBACK_TOKEN}`);
    const parsed = provider.parseReversalResult(receiver.received[0]!.body);
    assert.equal(parsed.conversationId, result.reference);
    assert.equal(parsed.originatorConversationId, reversal.originatorConversationId);
    assert.deepEqual(parsed.outcome, { state: 'completed' });
    assert.match(parsed.transactionId!, /^[0-9A-F]{10}$/);
  });

  it('needs the receipt, whole shillings and the initiator settings', async () => {
    const { fake, provider, clock, log, settings } = await darajaSetup();
    const refund = { paymentId: 1, providerReference: 'ws_CO_1', transactionId: 'SLK4H2ABCD', amountMinor: 10_000, currency: 'KES', reason: 'x' };
    const { transactionId: _receipt, ...withoutReceipt } = refund;
    await assertInputError(provider.refund(withoutReceipt), 'missing_reference', 'transaction_id');
    await assertInputError(provider.refund({ ...refund, amountMinor: 10_001 }), 'invalid_amount', 'amount');
    const { initiatorName: _name, securityCredential: _credential, ...withoutInitiator } = settings;
    await assertProviderError(darajaProvider(withoutInitiator, { clock, log }).refund(refund), 'rejected', (error) =>
      assert.match(error.message, /MPESA_INITIATOR_NAME/),
    );
    assert.equal(fake.requests.length, 0);
  });
});

describe('Stripe client (official SDK against a loopback Stripe)', () => {
  async function stripeSetup(overrides: { timeoutMs?: number; secretKey?: string } = {}) {
    const fake = await startFakeStripe();
    after(() => fake.close());
    const clock = new ManualClock();
    const provider = stripeProvider(
      { secretKey: overrides.secretKey ?? fake.secretKey, webhookSecret: WEBHOOK_SECRET, apiBase: fake.url, timeoutMs: overrides.timeoutMs ?? 5000 },
      { clock },
    );
    return { fake, clock, provider };
  }
  const card = { paymentId: 7, bookingId: 3, amountMinor: 250_050, currency: 'KES', accountReference: 'BKG-3', description: 'Spacer booking 3' };

  it('creates a PaymentIntent with the amount, lower-case currency, metadata and idempotency key, and returns its client_secret', async () => {
    const { fake, provider } = await stripeSetup();
    const started = await provider.startPayment(card);

    const [request] = fake.requests;
    assert.equal(request!.method, 'POST');
    assert.equal(request!.path, '/v1/payment_intents');
    assert.equal(request!.headers.authorization, `Bearer ${fake.secretKey}`);
    assert.equal(request!.headers['idempotency-key'], 'payment-7');
    assert.equal(request!.form.amount, '250050');
    assert.equal(request!.form.currency, 'kes');
    assert.equal(request!.form['metadata[payment_id]'], '7');
    assert.equal(request!.form['metadata[booking_id]'], '3');
    assert.equal(request!.form['automatic_payment_methods[enabled]'], 'true');
    const intent = fake.intents.get(started.providerReference)!;
    assert.deepEqual(started, { providerReference: intent.id, clientSecret: intent.client_secret });
    assert.match(started.clientSecret!, /^pi_\w+_secret_\w+$/);
  });

  it('creates one PaymentIntent when the same payment is started twice', async () => {
    const { fake, provider } = await stripeSetup();
    const first = await provider.startPayment(card);
    const second = await provider.startPayment(card);
    assert.equal(second.providerReference, first.providerReference);
    assert.equal(fake.intents.size, 1);
    assert.equal(fake.requests.length, 2);
  });

  it('reports the PaymentIntent pending, then completed with the charge, or failed with the decline', async () => {
    const { fake, provider } = await stripeSetup();
    const { providerReference } = await provider.startPayment(card);
    assert.deepEqual(await provider.queryPayment({ providerReference }), { state: 'pending' });
    const intent = fake.succeed(providerReference);
    assert.deepEqual(await provider.queryPayment({ providerReference }), { state: 'completed', transactionId: intent.latest_charge, amountMinor: 250_050 });

    const other = await provider.startPayment({ ...card, paymentId: 8 });
    fake.decline(other.providerReference, 'Your card has insufficient funds.');
    assert.deepEqual(await provider.queryPayment(other), { state: 'failed', code: 'declined', reason: 'Your card has insufficient funds.' });
  });

  it('refunds through the Refunds API with the payment intent, amount and an idempotency key', async () => {
    const { fake, provider } = await stripeSetup();
    const { providerReference } = await provider.startPayment(card);
    fake.succeed(providerReference);
    const result = await provider.refund({ paymentId: 7, providerReference, amountMinor: 125_025, currency: 'KES', reason: 'moderate policy: 50%' });

    const request = fake.requests.at(-1)!;
    assert.equal(request.path, '/v1/refunds');
    assert.equal(request.headers['idempotency-key'], 'refund-7');
    assert.equal(request.form.payment_intent, providerReference);
    assert.equal(request.form.amount, '125025');
    assert.equal(request.form['metadata[reason]'], 'moderate policy: 50%');
    const refund = [...fake.refunds.values()][0]!;
    assert.deepEqual(result, { state: 'completed', reference: refund.id });
    assert.equal(refund.amount, 125_025);
  });

  it('reports a pending refund as pending', async () => {
    const { fake, provider } = await stripeSetup();
    const { providerReference } = await provider.startPayment(card);
    fake.succeed(providerReference);
    fake.refundStatus = 'pending';
    const result = await provider.refund({ paymentId: 7, providerReference, amountMinor: 1000, currency: 'KES', reason: 'x' });
    assert.equal(result.state, 'pending');
    assert.match(result.reference, /^re_/);
  });

  it('maps a refused refund to rejected with Stripe’s message', async () => {
    const { fake, provider } = await stripeSetup();
    const { providerReference } = await provider.startPayment(card);
    fake.succeed(providerReference);
    await assertProviderError(provider.refund({ paymentId: 7, providerReference, amountMinor: 999_999, currency: 'KES', reason: 'x' }), 'rejected', (error) => {
      assert.equal(error.status, 400);
      assert.equal(error.providerCode, 'amount_too_large');
      assert.match(error.message, /greater than charge amount/);
    });
  });

  it('maps a wrong secret key to rejected, a 500 to unavailable and silence to timeout', async () => {
    const { fake, provider } = await stripeSetup({ timeoutMs: 300 });
    const wrongKey = stripeProvider(
      { secretKey: 'sk_test_wrong', webhookSecret: WEBHOOK_SECRET, apiBase: fake.url, timeoutMs: 2000 },
      { clock: new ManualClock() },
    );
    await assertProviderError(wrongKey.startPayment(card), 'rejected', (error) => assert.equal(error.status, 401));

    fake.fail({ status: 500 });
    await assertProviderError(provider.startPayment(card), 'unavailable', (error) => assert.equal(error.status, 500));

    fake.fail({ hang: true });
    const started = Date.now();
    await assertProviderError(provider.startPayment({ ...card, paymentId: 99 }), 'timeout');
    assert.ok(Date.now() - started < 3000);
  });

  it('maps an unreachable Stripe to unavailable', async () => {
    const { fake, provider } = await stripeSetup();
    await fake.close();
    await assertProviderError(provider.startPayment(card), 'unavailable', (error) => assert.equal(error.provider, 'stripe'));
  });

  describe('webhook verification', () => {
    const intent = {
      id: 'pi_123',
      object: 'payment_intent',
      amount: 5000,
      amount_received: 5000,
      currency: 'kes',
      latest_charge: 'ch_1',
      metadata: { payment_id: '7', booking_id: '3' },
      status: 'succeeded',
    };

    it('accepts a correctly signed event and returns it', async () => {
      const { clock, provider } = await stripeSetup();
      const signed = signedStripeEvent('payment_intent.succeeded', intent, WEBHOOK_SECRET, Math.floor(clock.now().getTime() / 1000));
      const event = provider.verifyWebhook(Buffer.from(signed.payload), signed.header);
      assert.equal(event.id, signed.event.id);
      assert.equal(event.type, 'payment_intent.succeeded');
      assert.deepEqual(cardEventOutcome(event), {
        paymentIntentId: 'pi_123',
        paymentId: 7,
        outcome: { state: 'completed' },
        amountMinor: 5000,
        currency: 'kes',
        transactionId: 'ch_1',
      });
    });

    const refusals: Array<[string, (signed: ReturnType<typeof signedStripeEvent>, clock: ManualClock) => [string, string | undefined]]> = [
      ['a tampered body', (signed) => [signed.payload.replace('"amount":5000', '"amount":1'), signed.header]],
      [
        'a signature made with another secret',
        (signed, clock) => [
          signed.payload,
          Stripe.webhooks.generateTestHeaderString({
            payload: signed.payload,
            secret: 'whsec_other_secret',
            timestamp: Math.floor(clock.now().getTime() / 1000),
          }),
        ],
      ],
      ['a missing header', (signed) => [signed.payload, undefined]],
      ['a garbled header', (signed) => [signed.payload, 'not-a-signature']],
      [
        'a signature older than 300 seconds',
        (signed, clock) => {
          clock.advance(301_000);
          return [signed.payload, signed.header];
        },
      ],
    ];
    for (const [what, tamper] of refusals) {
      it(`refuses ${what} with a WebhookSignatureError`, async () => {
        const { clock, provider } = await stripeSetup();
        const signed = signedStripeEvent('payment_intent.succeeded', intent, WEBHOOK_SECRET, Math.floor(clock.now().getTime() / 1000));
        const [body, header] = tamper(signed, clock);
        assert.throws(() => provider.verifyWebhook(body, header), WebhookSignatureError);
      });
    }

    it('still accepts a signature 299 seconds old', async () => {
      const { clock, provider } = await stripeSetup();
      const signed = signedStripeEvent(
        'payment_intent.payment_failed',
        { ...intent, status: 'requires_payment_method', amount_received: 0, latest_charge: null, last_payment_error: { message: 'Your card was declined.' } },
        WEBHOOK_SECRET,
        Math.floor(clock.now().getTime() / 1000),
      );
      clock.advance(299_000);
      const event = provider.verifyWebhook(signed.payload, signed.header);
      assert.deepEqual(cardEventOutcome(event)?.outcome, { state: 'failed', code: 'declined', reason: 'Your card was declined.' });
    });
  });
});

/** Collects what a simulated provider delivers; `next()` waits for the next delivery. */
function deliveries() {
  const delivered: CallbackDelivery[] = [];
  const waiting: Array<(delivery: CallbackDelivery) => void> = [];
  return {
    delivered,
    deliver: async (request: CallbackDelivery) => {
      delivered.push(request);
      waiting.shift()?.(request);
      return { statusCode: 200 };
    },
    next: () => new Promise<CallbackDelivery>((resolve) => waiting.push(resolve)),
  };
}

describe('simulated M-Pesa', () => {
  const setup = (delayMs = 20) => {
    const sink = deliveries();
    const provider = simulatedMpesa(
      { delayMs, callbackToken: CALLBACK_TOKEN },
      { clock: new ManualClock('2026-12-01T06:30:00Z'), deliver: sink.deliver, log: memoryLog() },
    );
    after(() => provider.close());
    return { sink, provider };
  };

  it('answers with a CheckoutRequestID, then delivers a Daraja success callback to the callback route', async () => {
    const { sink, provider } = setup();
    const next = sink.next();
    const started = await provider.startPayment(push);
    assert.match(started.providerReference, /^ws_CO_01122026093000\d{10}$/);
    assert.equal(started.checkoutRequestId, started.providerReference);
    assert.deepEqual(await provider.queryPayment(started), { state: 'pending' });

    const delivery = await next;
    assert.equal(delivery.method, 'POST');
    assert.equal(delivery.url, `/api/payments/mpesa/callback/${CALLBACK_TOKEN}`);
    assert.equal(delivery.headers['content-type'], 'application/json');
    const parsed = provider.parseStkCallback(JSON.parse(delivery.body));
    assert.equal(parsed.checkoutRequestId, started.providerReference);
    assert.equal(parsed.merchantRequestId, started.merchantRequestId);
    assert.deepEqual(parsed.outcome, { state: 'completed' });
    assert.equal(parsed.amountMinor, 150_000);
    assert.equal(parsed.phone, '254712345678');
    assert.equal(parsed.transactionDate, '20261201093000');
    assert.match(parsed.mpesaReceipt!, /^[A-Z0-9]{10}$/);
    assert.deepEqual(await provider.queryPayment(started), { state: 'completed', transactionId: parsed.mpesaReceipt, amountMinor: 150_000 });
  });

  it('delivers a 1032 cancellation when the phone ends in 000', async () => {
    const { sink, provider } = setup();
    const next = sink.next();
    const started = await provider.startPayment({ ...push, phone: '0712345000' });
    const parsed = provider.parseStkCallback(JSON.parse((await next).body));
    assert.equal(parsed.resultCode, 1032);
    assert.deepEqual(parsed.outcome, { state: 'failed', code: 'cancelled', reason: 'Cancelled by the customer on the phone' });
    assert.equal((await provider.queryPayment(started)).state, 'failed');
  });

  it('validates like Daraja: whole shillings and a Kenyan phone', async () => {
    const { sink, provider } = setup();
    await assertInputError(provider.startPayment({ ...push, amountMinor: 150_001 }), 'invalid_amount', 'amount');
    await assertInputError(provider.startPayment({ ...push, phone: '12345' }), 'invalid_phone', 'phone_number');
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(sink.delivered.length, 0);
  });

  it('completes a refund at once and delivers a Daraja reversal Result', async () => {
    const { sink, provider } = setup();
    const next = sink.next();
    const result = await provider.refund({
      paymentId: 1,
      providerReference: 'ws_CO_1',
      transactionId: 'SLK4H2ABCD',
      amountMinor: 50_000,
      currency: 'KES',
      reason: 'cancelled',
    });
    assert.equal(result.state, 'completed');
    const delivery = await next;
    assert.equal(delivery.url, `/api/payments/mpesa/reversal/${CALLBACK_TOKEN}`);
    const parsed = provider.parseReversalResult(JSON.parse(delivery.body));
    assert.equal(parsed.conversationId, result.reference);
    assert.deepEqual(parsed.outcome, { state: 'completed' });
  });

  it('close() cancels deliveries still waiting', async () => {
    const { sink, provider } = setup(50);
    await provider.startPayment(push);
    await provider.startPayment({ ...push, paymentId: 2 });
    provider.close();
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(sink.delivered.length, 0);
  });
});

describe('simulated card', () => {
  const setup = (delayMs = 20) => {
    const sink = deliveries();
    const clock = new ManualClock();
    const provider = simulatedCard({ delayMs, webhookSecret: WEBHOOK_SECRET }, { clock, deliver: sink.deliver, log: memoryLog() });
    after(() => provider.close());
    return { sink, clock, provider };
  };
  const card = { paymentId: 7, bookingId: 3, amountMinor: 250_050, currency: 'KES', accountReference: 'BKG-3', description: 'Spacer booking 3' };

  it('answers with a pi_sim_ id and client_secret, then delivers a signed payment_intent.succeeded to the webhook route', async () => {
    const { sink, provider } = setup();
    const next = sink.next();
    const started = await provider.startPayment(card);
    assert.match(started.providerReference, /^pi_sim_[0-9a-f]{24}$/);
    assert.ok(started.clientSecret!.startsWith(`${started.providerReference}_secret_`));

    const delivery = await next;
    assert.equal(delivery.url, '/api/payments/stripe/webhook');
    const event = provider.verifyWebhook(delivery.body, delivery.headers['stripe-signature']);
    assert.equal(event.type, 'payment_intent.succeeded');
    const outcome = cardEventOutcome(event)!;
    assert.equal(outcome.paymentIntentId, started.providerReference);
    assert.equal(outcome.paymentId, 7);
    assert.equal(outcome.amountMinor, 250_050);
    assert.equal(outcome.currency, 'kes');
    assert.deepEqual(outcome.outcome, { state: 'completed' });
    assert.throws(() => provider.verifyWebhook(delivery.body.replace('250050', '1'), delivery.headers['stripe-signature']), WebhookSignatureError);
  });

  it('delivers payment_intent.payment_failed when the phone ends in 000', async () => {
    const { sink, provider } = setup();
    const next = sink.next();
    await provider.startPayment({ ...card, phone: '+254 712 345 000' });
    const delivery = await next;
    const event = provider.verifyWebhook(delivery.body, delivery.headers['stripe-signature']);
    assert.equal(event.type, 'payment_intent.payment_failed');
    assert.deepEqual(cardEventOutcome(event)!.outcome, { state: 'failed', code: 'declined', reason: 'Your card was declined.' });
  });

  it('close() cancels deliveries still waiting', async () => {
    const { sink, provider } = setup(50);
    await provider.startPayment(card);
    provider.close();
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(sink.delivered.length, 0);
  });
});

describe('createPaymentProviders', () => {
  const deps = { clock: new ManualClock(), deliver: async () => ({ statusCode: 200 }), log: memoryLog() };
  const PRODUCTION = {
    NODE_ENV: 'production',
    JWT_SECRET_KEY: 'production-access-secret-0123456789abcdefghijklmnop',
    JWT_REFRESH_SECRET_KEY: 'production-refresh-secret-0123456789abcdefghijklmno',
  };
  const MPESA = {
    MPESA_CONSUMER_KEY: 'key',
    MPESA_CONSUMER_SECRET: 'secret',
    MPESA_BUSINESS_SHORTCODE: '174379',
    MPESA_PASSKEY: 'passkey',
    MPESA_CALLBACK_TOKEN: CALLBACK_TOKEN,
  };
  const STRIPE = { STRIPE_SECRET_KEY: 'sk_test_123', STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET };
  const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS, ...env }, { persistSecrets: false });

  it('simulates both methods outside production when nothing is configured, and has no cash provider', () => {
    const providers = createPaymentProviders(load({}), deps);
    after(() => providers.close());
    assert.equal(providers.mpesa?.name, 'simulated');
    assert.equal(providers.card?.name, 'simulated');
    assert.equal(providers.cash, undefined);
  });

  it('uses Daraja and Stripe when configured', () => {
    const providers = createPaymentProviders(load({ ...MPESA, ...STRIPE }), deps);
    assert.equal(providers.mpesa?.name, 'daraja');
    assert.equal(providers.card?.name, 'stripe');
  });

  it('leaves an unconfigured method undefined in production', () => {
    const none = createPaymentProviders(load(PRODUCTION), deps);
    assert.equal(none.mpesa, undefined);
    assert.equal(none.card, undefined);
    const cardsOnly = createPaymentProviders(load({ ...PRODUCTION, ...STRIPE }), deps);
    assert.equal(cardsOnly.mpesa, undefined);
    assert.equal(cardsOnly.card?.name, 'stripe');
  });
});
