import { DateTime } from 'luxon';
import type { Clock } from '../../shared/clock.ts';
import { providerAgent, providerRequest } from './http.ts';
import { normalizeKenyanPhone } from './phone.ts';
import {
  MalformedCallbackError,
  PaymentInputError,
  ProviderError,
  type FailureCode,
  type MpesaProvider,
  type PaymentOutcome,
  type PaymentQueryResult,
  type ProviderLog,
  type RefundInput,
  type ReversalResult,
  type StartPaymentInput,
  type StkCallback,
} from './provider.ts';

/** Routes the payments module serves for Daraja; the token is MPESA_CALLBACK_TOKEN (callbacks are unsigned). */
export const mpesaCallbackPath = (token: string) => `/api/payments/mpesa/callback/${token}`;
export const mpesaReversalResultPath = (token: string) => `/api/payments/mpesa/reversal/${token}`;
export const mpesaReversalTimeoutPath = (token: string) => `/api/payments/mpesa/reversal/${token}/timeout`;

/** Daraja answers an STK query with HTTP 500 and this code while the customer has not yet answered. */
const STILL_PROCESSING = '500.001.1001';

/** The last second darajaTimestamp formatted: a busy process pushes hundreds of payments in one second. */
let lastTimestamp = { second: Number.NaN, text: '' };

/** Daraja's Timestamp: Nairobi wall-clock time (UTC+3, no daylight saving) as YYYYMMDDHHmmss. */
export function darajaTimestamp(instant: Date): string {
  const second = Math.floor(instant.getTime() / 1000);
  if (second !== lastTimestamp.second) {
    lastTimestamp = { second, text: DateTime.fromSeconds(second, { zone: 'Africa/Nairobi' }).toFormat('yyyyMMddHHmmss') };
  }
  return lastTimestamp.text;
}

/** Daraja's STK Password: base64(shortcode + passkey + timestamp), the same timestamp sent beside it. */
export function darajaPassword(shortcode: string, passkey: string, timestamp: string): string {
  return Buffer.from(`${shortcode}${passkey}${timestamp}`).toString('base64');
}

const FAILURES: Record<number, { code: FailureCode; reason: string }> = {
  1032: { code: 'cancelled', reason: 'Cancelled by the customer on the phone' },
  1037: { code: 'unreachable', reason: 'The phone could not be reached (off or out of coverage)' },
  1019: { code: 'expired', reason: 'The payment request expired before the customer answered it' },
  1: { code: 'insufficient_funds', reason: 'Insufficient M-Pesa balance' },
  2001: { code: 'wrong_pin', reason: 'Wrong M-Pesa PIN entered' },
};

/** What an STK ResultCode (from the callback or the query) means for the payment. */
export function stkOutcome(resultCode: number, resultDesc: string): PaymentOutcome {
  if (resultCode === 0) return { state: 'completed' };
  const known = FAILURES[resultCode];
  if (known) return { state: 'failed', ...known };
  return { state: 'failed', code: 'failed', reason: resultDesc.trim() || `M-Pesa error ${resultCode}` };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const requiredString = (value: unknown, field: string): string => {
  if (typeof value !== 'string' || value.trim() === '') throw new MalformedCallbackError(`${field} must be a non-empty string`);
  return value;
};

/** Callbacks carry ResultCode as a number, queries as a string; both are accepted, nothing else. */
const resultCodeOf = (value: unknown, field: string): number => {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^\d{1,9}$/.test(value)) return Number(value);
  throw new MalformedCallbackError(`${field} must be an integer`);
};

/** Parses Daraja's STK callback (`Body.stkCallback`) strictly; anything else throws MalformedCallbackError. */
export function parseStkCallback(body: unknown): StkCallback {
  if (!isObject(body) || !isObject(body.Body) || !isObject(body.Body.stkCallback)) throw new MalformedCallbackError('expected Body.stkCallback');
  const callback = body.Body.stkCallback;
  const resultCode = resultCodeOf(callback.ResultCode, 'ResultCode');
  const resultDesc = typeof callback.ResultDesc === 'string' ? callback.ResultDesc : fail('ResultDesc must be a string');
  const parsed: StkCallback = {
    merchantRequestId: requiredString(callback.MerchantRequestID, 'MerchantRequestID'),
    checkoutRequestId: requiredString(callback.CheckoutRequestID, 'CheckoutRequestID'),
    resultCode,
    resultDesc,
    outcome: stkOutcome(resultCode, resultDesc),
  };
  if (resultCode !== 0) return parsed;

  if (!isObject(callback.CallbackMetadata) || !Array.isArray(callback.CallbackMetadata.Item))
    throw new MalformedCallbackError('a successful callback needs CallbackMetadata.Item');
  const items = new Map<string, string | number>();
  for (const item of callback.CallbackMetadata.Item as unknown[]) {
    if (!isObject(item) || typeof item.Name !== 'string') throw new MalformedCallbackError('CallbackMetadata.Item entries need a Name');
    // Daraja sends some items (e.g. Balance) without a Value.
    if (item.Value === undefined) continue;
    if (typeof item.Value !== 'string' && typeof item.Value !== 'number')
      throw new MalformedCallbackError(`CallbackMetadata ${item.Name} has an invalid Value`);
    items.set(item.Name, item.Value);
  }
  const amount = Number(items.get('Amount'));
  if (!Number.isFinite(amount) || amount <= 0) throw new MalformedCallbackError('a successful callback needs a positive Amount');
  parsed.amountMinor = Math.round(amount * 100);
  parsed.mpesaReceipt = requiredString(items.get('MpesaReceiptNumber'), 'MpesaReceiptNumber');
  // PhoneNumber and TransactionDate come as JSON numbers; 12- and 14-digit integers survive that exactly.
  if (items.has('PhoneNumber')) parsed.phone = String(items.get('PhoneNumber'));
  if (items.has('TransactionDate')) parsed.transactionDate = String(items.get('TransactionDate'));
  return parsed;
}

/** Parses the Result Daraja posts to a reversal's ResultURL. */
export function parseReversalResult(body: unknown): ReversalResult {
  if (!isObject(body) || !isObject(body.Result)) throw new MalformedCallbackError('expected Result');
  const result = body.Result;
  // Reversal results may carry lettered codes (R000002) beside numeric ones.
  const resultCode =
    typeof result.ResultCode === 'string' && /^[A-Z]\d+$/.test(result.ResultCode) ? result.ResultCode : resultCodeOf(result.ResultCode, 'ResultCode');
  const resultDesc = typeof result.ResultDesc === 'string' ? result.ResultDesc : fail('ResultDesc must be a string');
  const parsed: ReversalResult = {
    conversationId: requiredString(result.ConversationID, 'ConversationID'),
    originatorConversationId: requiredString(result.OriginatorConversationID, 'OriginatorConversationID'),
    resultCode,
    resultDesc,
    outcome:
      resultCode === 0 ? { state: 'completed' } : { state: 'failed', code: 'failed', reason: resultDesc.trim() || `M-Pesa reversal error ${resultCode}` },
  };
  if (typeof result.TransactionID === 'string' && result.TransactionID !== '') parsed.transactionId = result.TransactionID;
  return parsed;
}

function fail(message: string): never {
  throw new MalformedCallbackError(message);
}

/** Daraja's Amount is whole shillings, so a fractional amount cannot be charged as asked. */
export function wholeShillings(amountMinor: number, currency: string): number {
  if (currency.toUpperCase() !== 'KES') throw new PaymentInputError('unsupported_currency', 'currency', `M-Pesa takes KES only, not ${currency}`);
  if (!Number.isSafeInteger(amountMinor) || amountMinor <= 0)
    throw new PaymentInputError('invalid_amount', 'amount', 'The amount must be a positive whole number of cents');
  if (amountMinor % 100 !== 0) throw new PaymentInputError('invalid_amount', 'amount', 'M-Pesa takes whole shillings only');
  return amountMinor / 100;
}

export interface DarajaSettings {
  baseUrl: string;
  consumerKey: string;
  consumerSecret: string;
  shortcode: string;
  passkey: string;
  /** Where Daraja reaches this service (PUBLIC_URL). */
  publicUrl: string;
  callbackToken: string;
  /** Needed for reversals only. */
  initiatorName?: string;
  securityCredential?: string;
  timeoutMs: number;
}

interface DarajaAnswer {
  status: number;
  json: Record<string, unknown> | undefined;
}

/** Daraja over kept-alive, bounded sockets (./http.ts): OAuth client credentials, STK push, STK query and reversals. */
export function darajaProvider(settings: DarajaSettings, deps: { clock: Clock; log: ProviderLog }): MpesaProvider {
  const baseUrl = settings.baseUrl.replace(/\/+$/, '');
  const publicUrl = settings.publicUrl.replace(/\/+$/, '');
  const agent = providerAgent(new URL(baseUrl));
  let cached: { token: string; renewAt: number } | undefined;
  let inFlight: Promise<string> | undefined;

  const providerError = (
    kind: ProviderError['kind'],
    operation: string,
    message: string,
    extra: { status?: number; providerCode?: string; cause?: unknown } = {},
  ) => new ProviderError(kind, { provider: 'daraja', operation, message, ...extra });

  async function send(
    operation: string,
    path: string,
    init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
  ): Promise<DarajaAnswer> {
    let response: { status: number; text: string };
    try {
      // A second token request or status query is harmless, and M-Pesa reverses a transaction once
      // only; a second STK push would prompt the payer twice, and a second payment would go unrecorded.
      const idempotent = operation !== 'stk_push';
      response = await providerRequest(agent, new URL(`${baseUrl}${path}`), { ...init, timeoutMs: settings.timeoutMs, idempotent });
    } catch (error) {
      if ((error as Error).name === 'TimeoutError')
        throw providerError('timeout', operation, `Daraja did not answer within ${settings.timeoutMs} ms`, { cause: error });
      throw providerError('unavailable', operation, 'Daraja could not be reached', { cause: error });
    }
    let json: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(response.text);
      json = isObject(parsed) ? parsed : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, json };
  }

  /** Daraja's error body is `{ requestId, errorCode, errorMessage }`. */
  function errorFrom(operation: string, answer: DarajaAnswer): ProviderError {
    const providerCode = typeof answer.json?.errorCode === 'string' ? answer.json.errorCode : undefined;
    const described = typeof answer.json?.errorMessage === 'string' && answer.json.errorMessage ? answer.json.errorMessage : `HTTP ${answer.status}`;
    const kind = answer.status >= 500 || answer.status === 429 ? 'unavailable' : 'rejected';
    return providerError(kind, operation, `Daraja ${operation}: ${described}`, { status: answer.status, providerCode });
  }

  async function fetchToken(): Promise<string> {
    const basic = Buffer.from(`${settings.consumerKey}:${settings.consumerSecret}`).toString('base64');
    const answer = await send('oauth', '/oauth/v1/generate?grant_type=client_credentials', {
      method: 'GET',
      headers: { Authorization: `Basic ${basic}`, Accept: 'application/json' },
    });
    if (answer.status !== 200) throw errorFrom('oauth', answer);
    const token = answer.json?.access_token;
    // expires_in arrives as a string ("3599").
    const lifetime = Number(answer.json?.expires_in);
    if (typeof token !== 'string' || token === '' || !Number.isFinite(lifetime) || lifetime <= 0) {
      throw providerError('unavailable', 'oauth', 'Daraja answered the token request without a usable token', { status: answer.status });
    }
    const earlyBy = Math.min(60, lifetime / 2);
    cached = { token, renewAt: deps.clock.now().getTime() + (lifetime - earlyBy) * 1000 };
    return token;
  }

  async function accessToken(): Promise<string> {
    if (cached && deps.clock.now().getTime() < cached.renewAt) return cached.token;
    // Concurrent callers share one token request.
    inFlight ??= fetchToken().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  async function post(operation: string, path: string, body: Record<string, unknown>): Promise<DarajaAnswer> {
    const attempt = async (token: string) =>
      send(operation, path, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body),
      });
    const token = await accessToken();
    const answer = await attempt(token);
    if (answer.status !== 401) return answer;
    // A token can be revoked before its expires_in (Daraja rotates them); renew once and retry.
    if (cached?.token === token) cached = undefined;
    deps.log.info({ provider: 'daraja', operation }, 'Daraja refused the access token; renewing it');
    return attempt(await accessToken());
  }

  const accepted = (operation: string, answer: DarajaAnswer): Record<string, unknown> => {
    if (answer.status < 200 || answer.status >= 300) throw errorFrom(operation, answer);
    if (!answer.json) throw providerError('unavailable', operation, `Daraja ${operation}: unreadable answer`, { status: answer.status });
    const code = answer.json.ResponseCode;
    if (code !== undefined && `${typeof code === 'number' || typeof code === 'string' ? code : JSON.stringify(code)}` !== '0') {
      const shown = typeof code === 'number' || typeof code === 'string' ? String(code) : JSON.stringify(code);
      const described = typeof answer.json.ResponseDescription === 'string' ? answer.json.ResponseDescription : `ResponseCode ${shown}`;
      throw providerError('rejected', operation, `Daraja ${operation}: ${described}`, { status: answer.status, providerCode: shown });
    }
    return answer.json;
  };

  const stkCredentials = () => {
    const timestamp = darajaTimestamp(deps.clock.now());
    return { BusinessShortCode: settings.shortcode, Password: darajaPassword(settings.shortcode, settings.passkey, timestamp), Timestamp: timestamp };
  };

  return {
    method: 'mpesa',
    name: 'daraja',
    parseStkCallback,
    parseReversalResult,
    close() {
      agent.destroy();
    },

    async startPayment(input: StartPaymentInput) {
      const amount = wholeShillings(input.amountMinor, input.currency);
      const phone = input.phone === undefined ? undefined : normalizeKenyanPhone(input.phone);
      if (!phone) throw new PaymentInputError('invalid_phone', 'phone_number', 'A Kenyan mobile number (07…, 01… or +254…) is required for M-Pesa');
      if (input.accountReference.trim() === '') throw new PaymentInputError('missing_reference', 'account_reference', 'An account reference is required');
      const answer = await post('stk_push', '/mpesa/stkpush/v1/processrequest', {
        ...stkCredentials(),
        TransactionType: 'CustomerPayBillOnline',
        Amount: amount,
        PartyA: phone,
        PartyB: settings.shortcode,
        PhoneNumber: phone,
        CallBackURL: `${publicUrl}${mpesaCallbackPath(settings.callbackToken)}`,
        // Daraja documents AccountReference as at most 12 characters and TransactionDesc as at most 13.
        AccountReference: input.accountReference.slice(0, 12),
        TransactionDesc: input.description.slice(0, 13) || 'Payment',
      });
      const json = accepted('stk_push', answer);
      if (typeof json.CheckoutRequestID !== 'string' || json.CheckoutRequestID === '') {
        throw providerError('unavailable', 'stk_push', 'Daraja accepted the STK push without a CheckoutRequestID', { status: answer.status });
      }
      return {
        providerReference: json.CheckoutRequestID,
        checkoutRequestId: json.CheckoutRequestID,
        ...(typeof json.MerchantRequestID === 'string' ? { merchantRequestId: json.MerchantRequestID } : {}),
      };
    },

    async queryPayment({ providerReference }): Promise<PaymentQueryResult> {
      const answer = await post('stk_query', '/mpesa/stkpushquery/v1/query', { ...stkCredentials(), CheckoutRequestID: providerReference });
      if (answer.status === 500 && answer.json?.errorCode === STILL_PROCESSING) return { state: 'pending' };
      const json = accepted('stk_query', answer);
      let resultCode: number;
      try {
        resultCode = resultCodeOf(json.ResultCode, 'ResultCode');
      } catch {
        throw providerError('unavailable', 'stk_query', 'Daraja answered the STK query without a ResultCode', { status: answer.status });
      }
      const outcome = stkOutcome(resultCode, typeof json.ResultDesc === 'string' ? json.ResultDesc : '');
      return outcome.state === 'completed' ? { state: 'completed' } : outcome;
    },

    async refund(input: RefundInput) {
      if (!settings.initiatorName || !settings.securityCredential) {
        throw providerError('rejected', 'reversal', 'M-Pesa reversals need MPESA_INITIATOR_NAME and MPESA_SECURITY_CREDENTIAL');
      }
      if (!input.transactionId) throw new PaymentInputError('missing_reference', 'transaction_id', 'A reversal needs the M-Pesa receipt of the payment');
      const amount = wholeShillings(input.amountMinor, input.currency);
      const answer = await post('reversal', '/mpesa/reversal/v1/request', {
        Initiator: settings.initiatorName,
        SecurityCredential: settings.securityCredential,
        CommandID: 'TransactionReversal',
        TransactionID: input.transactionId,
        Amount: amount,
        ReceiverParty: settings.shortcode,
        // Daraja's own spelling.
        RecieverIdentifierType: '11',
        ResultURL: `${publicUrl}${mpesaReversalResultPath(settings.callbackToken)}`,
        QueueTimeOutURL: `${publicUrl}${mpesaReversalTimeoutPath(settings.callbackToken)}`,
        // Remarks is required by Daraja; the free-text reason may be long.
        Remarks: (input.reason.trim() || 'Refund').slice(0, 100),
        Occasion: `payment-${input.paymentId}`,
      });
      const json = accepted('reversal', answer);
      if (typeof json.ConversationID !== 'string' || json.ConversationID === '') {
        throw providerError('unavailable', 'reversal', 'Daraja accepted the reversal without a ConversationID', { status: answer.status });
      }
      return { state: 'pending' as const, reference: json.ConversationID };
    },
  };
}
