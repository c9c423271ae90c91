import { randomBytes, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback Safaricom Daraja: OAuth client credentials, STK push, STK query and reversal,
 * answering with Daraja's bodies and error shapes, and able to post Daraja's own STK callback and
 * reversal Result to the URLs it was given. No test-runner imports, so it can also run as its own
 * process: `node test/helpers/daraja.ts` (see the entry at the bottom).
 */

export interface FakeDarajaOptions {
  consumerKey?: string;
  consumerSecret?: string;
  shortcode?: string;
  passkey?: string;
  /** Seconds, as Daraja's `expires_in` (a string on the wire). */
  tokenTtlSeconds?: number;
  host?: string;
  port?: number;
  /** When set, every accepted STK push is settled and its callback posted after this many ms (phones ending 000 cancel). */
  autoCallbackMs?: number;
}

export type DarajaOperation = 'oauth' | 'stk_push' | 'stk_query' | 'reversal';

export type Fault = { status: number; body?: unknown } | { hang: true };

export interface RecordedRequest {
  operation: DarajaOperation | 'unknown';
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface StkTransaction {
  checkoutRequestId: string;
  merchantRequestId: string;
  request: Record<string, unknown>;
  result?: { resultCode: number; resultDesc: string; receipt?: string };
}

export interface Reversal {
  conversationId: string;
  originatorConversationId: string;
  request: Record<string, unknown>;
}

const OPERATIONS: Record<string, DarajaOperation> = {
  'GET /oauth/v1/generate': 'oauth',
  'POST /mpesa/stkpush/v1/processrequest': 'stk_push',
  'POST /mpesa/stkpushquery/v1/query': 'stk_query',
  'POST /mpesa/reversal/v1/request': 'reversal',
};

const RESULT_DESCRIPTIONS: Record<number, string> = {
  0: 'The service request is processed successfully.',
  1: 'The balance is insufficient for the transaction.',
  1019: 'Transaction has expired',
  1032: 'Request cancelled by user',
  1037: 'DS timeout user cannot be reached',
  2001: 'The initiator information is invalid.',
};

const digits = (count: number) => Array.from({ length: count }, () => randomInt(10)).join('');
const nairobiNow = () => new Date(Date.now() + 3 * 3600_000).toISOString().replace(/\D/g, '').slice(0, 14);

export async function startFakeDaraja(options: FakeDarajaOptions = {}) {
  const account = {
    consumerKey: options.consumerKey ?? 'fake-consumer-key',
    consumerSecret: options.consumerSecret ?? 'fake-consumer-secret',
    shortcode: options.shortcode ?? '174379',
    passkey: options.passkey ?? 'fake-passkey-0123456789abcdef',
  };
  const tokenTtl = options.tokenTtlSeconds ?? 3599;
  const tokens = new Set<string>();
  const transactions = new Map<string, StkTransaction>();
  const reversals = new Map<string, Reversal>();
  const requests: RecordedRequest[] = [];
  const faults: Partial<Record<DarajaOperation, Fault[]>> = {};
  const timers = new Set<NodeJS.Timeout>();

  const requestId = () => `${digits(5)}-${digits(8)}-1`;
  const send = (response: ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const badRequest = (response: ServerResponse, field: string) =>
    send(response, 400, { requestId: requestId(), errorCode: '400.002.02', errorMessage: `Bad Request - Invalid ${field}` });

  const passwordFor = (timestamp: string) => Buffer.from(`${account.shortcode}${account.passkey}${timestamp}`).toString('base64');
  /** The rule Daraja checks: Password = base64(BusinessShortCode + passkey + Timestamp). */
  const checkStkCredentials = (body: Record<string, unknown>): string | undefined => {
    if (body.BusinessShortCode !== account.shortcode) return 'BusinessShortCode';
    if (typeof body.Timestamp !== 'string' || !/^\d{14}$/.test(body.Timestamp)) return 'Timestamp';
    if (body.Password !== passwordFor(body.Timestamp)) return 'Password';
    return undefined;
  };

  function handleOauth(request: IncomingMessage, response: ServerResponse, url: URL) {
    if (url.searchParams.get('grant_type') !== 'client_credentials')
      return send(response, 400, { requestId: requestId(), errorCode: '400.008.02', errorMessage: 'Invalid grant type passed' });
    const expected = `Basic ${Buffer.from(`${account.consumerKey}:${account.consumerSecret}`).toString('base64')}`;
    if (request.headers.authorization !== expected)
      return send(response, 400, { requestId: requestId(), errorCode: '400.008.01', errorMessage: 'Invalid Authentication passed' });
    const token = randomBytes(21).toString('base64url');
    tokens.add(token);
    send(response, 200, { access_token: token, expires_in: String(tokenTtl) });
  }

  function handleStkPush(response: ServerResponse, body: Record<string, unknown>) {
    const invalid = checkStkCredentials(body);
    if (invalid) return badRequest(response, invalid);
    if (body.TransactionType !== 'CustomerPayBillOnline' && body.TransactionType !== 'CustomerBuyGoodsOnline') return badRequest(response, 'TransactionType');
    if (typeof body.Amount !== 'number' || !Number.isInteger(body.Amount) || body.Amount < 1) return badRequest(response, 'Amount');
    for (const field of ['PartyA', 'PhoneNumber']) {
      if (typeof body[field] !== 'string' || !/^254[17]\d{8}$/.test(body[field])) return badRequest(response, field);
    }
    if (body.PartyB !== account.shortcode) return badRequest(response, 'PartyB');
    try {
      new URL(String(body.CallBackURL));
    } catch {
      return badRequest(response, 'CallBackURL');
    }
    if (typeof body.AccountReference !== 'string' || body.AccountReference === '' || body.AccountReference.length > 12)
      return badRequest(response, 'AccountReference');
    if (typeof body.TransactionDesc !== 'string' || body.TransactionDesc === '' || body.TransactionDesc.length > 13)
      return badRequest(response, 'TransactionDesc');

    const transaction: StkTransaction = { checkoutRequestId: `ws_CO_${nairobiNow()}${digits(10)}`, merchantRequestId: requestId(), request: body };
    transactions.set(transaction.checkoutRequestId, transaction);
    send(response, 200, {
      MerchantRequestID: transaction.merchantRequestId,
      CheckoutRequestID: transaction.checkoutRequestId,
      ResponseCode: '0',
      ResponseDescription: 'Success. Request accepted for processing',
      CustomerMessage: 'Success. Request accepted for processing',
    });
    if (options.autoCallbackMs !== undefined) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        const cancelled = String(body.PhoneNumber).endsWith('000');
        fake
          .sendStkCallback(transaction.checkoutRequestId, { resultCode: cancelled ? 1032 : 0 })
          .catch((error: unknown) => console.error('fake Daraja: callback failed', error));
      }, options.autoCallbackMs);
      timers.add(timer);
    }
  }

  function handleStkQuery(response: ServerResponse, body: Record<string, unknown>) {
    const invalid = checkStkCredentials(body);
    if (invalid) return badRequest(response, invalid);
    const transaction = transactions.get(String(body.CheckoutRequestID));
    if (!transaction) return badRequest(response, 'CheckoutRequestID');
    if (!transaction.result)
      return send(response, 500, { requestId: requestId(), errorCode: '500.001.1001', errorMessage: 'The transaction is being processed' });
    send(response, 200, {
      ResponseCode: '0',
      ResponseDescription: 'The service request has been accepted successsfully',
      MerchantRequestID: transaction.merchantRequestId,
      CheckoutRequestID: transaction.checkoutRequestId,
      ResultCode: String(transaction.result.resultCode),
      ResultDesc: transaction.result.resultDesc,
    });
  }

  function handleReversal(response: ServerResponse, body: Record<string, unknown>) {
    for (const field of ['Initiator', 'SecurityCredential', 'TransactionID', 'Remarks']) {
      if (typeof body[field] !== 'string' || body[field] === '') return badRequest(response, field);
    }
    if (body.CommandID !== 'TransactionReversal') return badRequest(response, 'CommandID');
    if (typeof body.Amount !== 'number' || !Number.isInteger(body.Amount) || body.Amount < 1) return badRequest(response, 'Amount');
    if (body.ReceiverParty !== account.shortcode) return badRequest(response, 'ReceiverParty');
    if (body.RecieverIdentifierType !== '11') return badRequest(response, 'RecieverIdentifierType');
    for (const field of ['ResultURL', 'QueueTimeOutURL']) {
      try {
        new URL(String(body[field]));
      } catch {
        return badRequest(response, field);
      }
    }
    const reversal: Reversal = {
      conversationId: `AG_${nairobiNow().slice(0, 8)}_${randomBytes(10).toString('hex')}`,
      originatorConversationId: requestId(),
      request: body,
    };
    reversals.set(reversal.conversationId, reversal);
    send(response, 200, {
      OriginatorConversationID: reversal.originatorConversationId,
      ConversationID: reversal.conversationId,
      ResponseCode: '0',
      ResponseDescription: 'Accept the service request successfully.',
    });
  }

  const server = createServer(
    (request, response) =>
      void (async () => {
        const url = new URL(request.url ?? '/', 'http://daraja.local');
        const operation = OPERATIONS[`${request.method} ${url.pathname}`];
        const chunks: Buffer[] = [];
        for await (const chunk of request) chunks.push(chunk as Buffer);
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = raw === '' ? undefined : JSON.parse(raw);
        } catch {
          body = raw;
        }
        requests.push({ operation: operation ?? 'unknown', method: request.method ?? '', path: url.pathname + url.search, headers: request.headers, body });
        if (!operation) return send(response, 404, { requestId: requestId(), errorCode: '404.001.01', errorMessage: 'Resource not found' });

        const fault = faults[operation]?.shift();
        if (fault && 'hang' in fault) return;
        if (fault)
          return send(
            response,
            fault.status,
            fault.body ?? { requestId: requestId(), errorCode: `${fault.status}.003.02`, errorMessage: 'Spike arrest violation' },
          );

        if (operation === 'oauth') return handleOauth(request, response, url);
        const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
        if (!bearer || !tokens.has(bearer))
          return send(response, 401, { requestId: requestId(), errorCode: '404.001.03', errorMessage: 'Invalid Access Token' });
        if (typeof body !== 'object' || body === null)
          return send(response, 400, { requestId: requestId(), errorCode: '400.002.05', errorMessage: 'Invalid Request Payload' });
        const fields = body as Record<string, unknown>;
        if (operation === 'stk_push') return handleStkPush(response, fields);
        if (operation === 'stk_query') return handleStkQuery(response, fields);
        return handleReversal(response, fields);
      })(),
  );

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;

  const post = async (url: string, body: unknown) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: response.status, body: await response.text() };
  };

  const fake = {
    url: `http://${address.address}:${address.port}`,
    account,
    requests,
    transactions,
    reversals,
    requestsFor: (operation: DarajaOperation) => requests.filter((entry) => entry.operation === operation),
    /** The next `operation` request(s) get this answer (or no answer at all) instead of the real one. */
    fail(operation: DarajaOperation, fault: Fault, times = 1) {
      const queue = (faults[operation] ??= []);
      for (let i = 0; i < times; i++) queue.push(fault);
    },
    /** Revokes every issued token, as Daraja does before `expires_in`: the next call answers 401. */
    expireTokens() {
      tokens.clear();
    },
    /** Records the customer's answer; a later STK query reports it. */
    settle(checkoutRequestId: string, outcome: { resultCode: number; resultDesc?: string }) {
      const transaction = transactions.get(checkoutRequestId);
      if (!transaction) throw new Error(`unknown CheckoutRequestID ${checkoutRequestId}`);
      transaction.result = {
        resultCode: outcome.resultCode,
        resultDesc: outcome.resultDesc ?? RESULT_DESCRIPTIONS[outcome.resultCode] ?? 'The service request failed.',
        ...(outcome.resultCode === 0 ? { receipt: randomBytes(8).toString('hex').toUpperCase().slice(0, 10) } : {}),
      };
      return transaction;
    },
    /** Daraja's STK callback body for a settled transaction, as posted to its CallBackURL. */
    stkCallbackBody(checkoutRequestId: string) {
      const transaction = transactions.get(checkoutRequestId);
      if (!transaction?.result) throw new Error(`transaction ${checkoutRequestId} is not settled`);
      const { resultCode, resultDesc, receipt } = transaction.result;
      const stkCallback: Record<string, unknown> = {
        MerchantRequestID: transaction.merchantRequestId,
        CheckoutRequestID: checkoutRequestId,
        ResultCode: resultCode,
        ResultDesc: resultDesc,
      };
      if (resultCode === 0) {
        stkCallback.CallbackMetadata = {
          Item: [
            { Name: 'Amount', Value: transaction.request.Amount },
            { Name: 'MpesaReceiptNumber', Value: receipt },
            { Name: 'Balance' },
            { Name: 'TransactionDate', Value: Number(nairobiNow()) },
            { Name: 'PhoneNumber', Value: Number(transaction.request.PhoneNumber) },
          ],
        };
      }
      return { Body: { stkCallback } };
    },
    /** Settles (if given an outcome) and POSTs the callback to the CallBackURL of the push. */
    async sendStkCallback(checkoutRequestId: string, outcome?: { resultCode: number; resultDesc?: string }) {
      if (outcome) fake.settle(checkoutRequestId, outcome);
      const transaction = transactions.get(checkoutRequestId)!;
      return post(String(transaction.request.CallBackURL), fake.stkCallbackBody(checkoutRequestId));
    },
    reversalResultBody(conversationId: string, outcome: { resultCode: number; resultDesc?: string } = { resultCode: 0 }) {
      const reversal = reversals.get(conversationId);
      if (!reversal) throw new Error(`unknown ConversationID ${conversationId}`);
      return {
        Result: {
          ResultType: 0,
          ResultCode: outcome.resultCode,
          ResultDesc:
            outcome.resultDesc ?? (outcome.resultCode === 0 ? 'The service request is processed successfully.' : 'The transaction could not be reversed.'),
          OriginatorConversationID: reversal.originatorConversationId,
          ConversationID: conversationId,
          TransactionID: randomBytes(8).toString('hex').toUpperCase().slice(0, 10),
          ResultParameters: {
            ResultParameter: [
              { Key: 'Amount', Value: reversal.request.Amount },
              { Key: 'OriginalTransactionID', Value: reversal.request.TransactionID },
              { Key: 'TransCompletedTime', Value: Number(nairobiNow()) },
            ],
          },
          ReferenceData: { ReferenceItem: { Key: 'QueueTimeoutURL', Value: reversal.request.QueueTimeOutURL } },
        },
      };
    },
    /** POSTs the reversal Result to the ResultURL of the request. */
    async sendReversalResult(conversationId: string, outcome?: { resultCode: number; resultDesc?: string }) {
      const body = fake.reversalResultBody(conversationId, outcome);
      return post(String(reversals.get(conversationId)!.request.ResultURL), body);
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}

export type FakeDaraja = Awaited<ReturnType<typeof startFakeDaraja>>;

if (import.meta.main) {
  const fake = await startFakeDaraja({
    port: Number(process.env.FAKE_DARAJA_PORT ?? 0),
    autoCallbackMs: Number(process.env.FAKE_DARAJA_CALLBACK_MS ?? 2000),
    ...(process.env.MPESA_CONSUMER_KEY ? { consumerKey: process.env.MPESA_CONSUMER_KEY } : {}),
    ...(process.env.MPESA_CONSUMER_SECRET ? { consumerSecret: process.env.MPESA_CONSUMER_SECRET } : {}),
    ...(process.env.MPESA_BUSINESS_SHORTCODE ? { shortcode: process.env.MPESA_BUSINESS_SHORTCODE } : {}),
    ...(process.env.MPESA_PASSKEY ? { passkey: process.env.MPESA_PASSKEY } : {}),
  });
  console.log(`fake Daraja listening on ${fake.url} (shortcode ${fake.account.shortcode})`);
  process.once('SIGINT', () => void fake.close());
  process.once('SIGTERM', () => void fake.close());
}
