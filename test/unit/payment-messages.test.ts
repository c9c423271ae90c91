import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MalformedCallbackError } from '../../src/infra/payments/provider.ts';
import { darajaPassword, darajaTimestamp, parseReversalResult, parseStkCallback, stkOutcome } from '../../src/infra/payments/mpesa.ts';
import { normalizeKenyanPhone } from '../../src/infra/payments/phone.ts';

describe('normalizeKenyanPhone', () => {
  const valid: Array<[string, string]> = [
    ['0712345678', '254712345678'],
    ['0112345678', '254112345678'],
    ['+254712345678', '254712345678'],
    ['+254112345678', '254112345678'],
    ['254712345678', '254712345678'],
    ['254112345678', '254112345678'],
    ['0712 345 678', '254712345678'],
    ['0712-345-678', '254712345678'],
    ['+254 712-345 678', '254712345678'],
    ['  0799999999 ', '254799999999'],
  ];
  for (const [raw, expected] of valid) {
    it(`reads ${JSON.stringify(raw)} as ${expected}`, () => assert.equal(normalizeKenyanPhone(raw), expected));
  }

  const invalid = [
    '',
    '071234567', // one digit short
    '07123456789', // one digit long
    '0212345678', // a Nairobi landline
    '+255712345678', // Tanzania
    '2540712345678', // trunk zero kept after the country code
    '712345678', // no prefix
    '+254 (712) 345678', // brackets are not tolerated
    '0712.345.678',
    '07123456ab',
    '++254712345678',
    '00254712345678',
  ];
  for (const raw of invalid) {
    it(`refuses ${JSON.stringify(raw)}`, () => assert.equal(normalizeKenyanPhone(raw), undefined));
  }
});

describe('Daraja Timestamp and Password', () => {
  it('writes the timestamp in Nairobi time (UTC+3), rolling over the date', () => {
    assert.equal(darajaTimestamp(new Date('2026-12-01T06:30:00Z')), '20261201093000');
    assert.equal(darajaTimestamp(new Date('2026-12-31T21:00:00Z')), '20270101000000');
    assert.equal(darajaTimestamp(new Date('2027-06-15T20:59:59.999Z')), '20270615235959');
  });

  it('answers each instant by its own second, whatever came before (the last second is kept)', () => {
    assert.equal(darajaTimestamp(new Date('2027-06-15T20:59:59.000Z')), '20270615235959');
    assert.equal(darajaTimestamp(new Date('2027-06-15T21:00:00.000Z')), '20270616000000');
    assert.equal(darajaTimestamp(new Date('2026-12-01T06:30:00.500Z')), '20261201093000', 'a clock set back');
    assert.equal(darajaTimestamp(new Date('1969-12-31T23:59:59.500Z')), '19700101025959', 'before 1970 too');
  });

  it('is base64(shortcode + passkey + timestamp)', () => {
    assert.equal(darajaPassword('174379', 'passkey', '20261201093000'), Buffer.from('174379passkey20261201093000').toString('base64'));
    assert.equal(Buffer.from(darajaPassword('600000', 'abc', '20270101000000'), 'base64').toString(), '600000abc20270101000000');
  });
});

const success = (overrides: Record<string, unknown> = {}, items?: unknown) => ({
  Body: {
    stkCallback: {
      MerchantRequestID: '29115-34620561-1',
      CheckoutRequestID: 'ws_CO_191220191020363925',
      ResultCode: 0,
      ResultDesc: 'The service request is processed successfully.',
      CallbackMetadata: {
        Item: items ?? [
          { Name: 'Amount', Value: 1500.0 },
          { Name: 'MpesaReceiptNumber', Value: 'NLJ7RT61SV' },
          { Name: 'Balance' },
          { Name: 'TransactionDate', Value: 20191219102115 },
          { Name: 'PhoneNumber', Value: 254708374149 },
        ],
      },
      ...overrides,
    },
  },
});

const failure = (resultCode: number | string, resultDesc: string) => ({
  Body: {
    stkCallback: { MerchantRequestID: '29115-34620561-1', CheckoutRequestID: 'ws_CO_191220191020363925', ResultCode: resultCode, ResultDesc: resultDesc },
  },
});

describe('parseStkCallback', () => {
  it('reads a successful callback: receipt, amount in cents, phone and date', () => {
    assert.deepEqual(parseStkCallback(success()), {
      merchantRequestId: '29115-34620561-1',
      checkoutRequestId: 'ws_CO_191220191020363925',
      resultCode: 0,
      resultDesc: 'The service request is processed successfully.',
      outcome: { state: 'completed' },
      amountMinor: 150_000,
      mpesaReceipt: 'NLJ7RT61SV',
      phone: '254708374149',
      transactionDate: '20191219102115',
    });
  });

  const outcomes: Array<[number, string, object]> = [
    [1032, 'Request cancelled by user', { state: 'failed', code: 'cancelled', reason: 'Cancelled by the customer on the phone' }],
    [1037, 'DS timeout user cannot be reached', { state: 'failed', code: 'unreachable', reason: 'The phone could not be reached (off or out of coverage)' }],
    [1019, 'Transaction has expired', { state: 'failed', code: 'expired', reason: 'The payment request expired before the customer answered it' }],
    [1, 'The balance is insufficient for the transaction.', { state: 'failed', code: 'insufficient_funds', reason: 'Insufficient M-Pesa balance' }],
    [2001, 'The initiator information is invalid.', { state: 'failed', code: 'wrong_pin', reason: 'Wrong M-Pesa PIN entered' }],
    [1025, 'An error occurred while sending a push request', { state: 'failed', code: 'failed', reason: 'An error occurred while sending a push request' }],
    [9999, '  ', { state: 'failed', code: 'failed', reason: 'M-Pesa error 9999' }],
  ];
  for (const [code, description, outcome] of outcomes) {
    it(`maps ResultCode ${code} to ${JSON.stringify(outcome)}`, () => {
      const parsed = parseStkCallback(failure(code, description));
      assert.equal(parsed.resultCode, code);
      assert.equal(parsed.resultDesc, description);
      assert.deepEqual(parsed.outcome, outcome);
      assert.equal(parsed.amountMinor, undefined);
      assert.equal(parsed.mpesaReceipt, undefined);
      assert.deepEqual(stkOutcome(code, description), outcome);
    });
  }

  it('accepts a ResultCode written as digits, as the STK query writes it', () => {
    assert.equal(parseStkCallback(failure('1032', 'Request cancelled by user')).resultCode, 1032);
  });

  const malformed: Array<[string, unknown]> = [
    ['null', null],
    ['an array', []],
    ['a string', 'Body'],
    ['no Body', { stkCallback: {} }],
    ['no stkCallback', { Body: {} }],
    ['stkCallback as an array', { Body: { stkCallback: [] } }],
    ['no CheckoutRequestID', success({ CheckoutRequestID: undefined })],
    ['an empty CheckoutRequestID', success({ CheckoutRequestID: '' })],
    ['a numeric MerchantRequestID', success({ MerchantRequestID: 29115 })],
    ['no ResultCode', success({ ResultCode: undefined })],
    ['a fractional ResultCode', success({ ResultCode: 0.5 })],
    ['a ResultCode in words', success({ ResultCode: 'zero' })],
    ['a ResultDesc that is not a string', success({ ResultDesc: 0 })],
    ['success without CallbackMetadata', success({ CallbackMetadata: undefined })],
    ['success with Item not a list', success({ CallbackMetadata: { Item: {} } })],
    ['success without Amount', success({}, [{ Name: 'MpesaReceiptNumber', Value: 'NLJ7RT61SV' }])],
    [
      'success with a zero Amount',
      success({}, [
        { Name: 'Amount', Value: 0 },
        { Name: 'MpesaReceiptNumber', Value: 'NLJ7RT61SV' },
      ]),
    ],
    ['success without MpesaReceiptNumber', success({}, [{ Name: 'Amount', Value: 1 }])],
    ['an item without a Name', success({}, [{ Value: 1 }])],
    ['an item whose Value is an object', success({}, [{ Name: 'Amount', Value: { amount: 1 } }])],
  ];
  for (const [what, body] of malformed) {
    it(`refuses ${what}`, () => assert.throws(() => parseStkCallback(body), MalformedCallbackError));
  }
});

describe('parseReversalResult', () => {
  const result = (overrides: Record<string, unknown> = {}) => ({
    Result: {
      ResultType: 0,
      ResultCode: 0,
      ResultDesc: 'The service request is processed successfully.',
      OriginatorConversationID: '8521-4298025-1',
      ConversationID: 'AG_20181005_00004d7ee675c0c7ee0b',
      TransactionID: 'MJ561H6X5O',
      ...overrides,
    },
  });

  it('reads a completed reversal', () => {
    assert.deepEqual(parseReversalResult(result()), {
      conversationId: 'AG_20181005_00004d7ee675c0c7ee0b',
      originatorConversationId: '8521-4298025-1',
      resultCode: 0,
      resultDesc: 'The service request is processed successfully.',
      outcome: { state: 'completed' },
      transactionId: 'MJ561H6X5O',
    });
  });

  it('reads a failed reversal with its ResultDesc as the reason', () => {
    const parsed = parseReversalResult(result({ ResultCode: 11, ResultDesc: 'The DebitParty is in an invalid state.' }));
    assert.deepEqual(parsed.outcome, { state: 'failed', code: 'failed', reason: 'The DebitParty is in an invalid state.' });
    assert.equal(parsed.resultCode, 11);
  });

  it('keeps the lettered ResultCodes reversals can carry (R000002)', () => {
    const parsed = parseReversalResult(result({ ResultCode: 'R000002', ResultDesc: 'The OriginalTransactionID is invalid.' }));
    assert.equal(parsed.resultCode, 'R000002');
    assert.deepEqual(parsed.outcome, { state: 'failed', code: 'failed', reason: 'The OriginalTransactionID is invalid.' });
  });

  for (const [what, body] of [
    ['no Result', {}],
    ['no ConversationID', result({ ConversationID: undefined })],
    ['no ResultCode', result({ ResultCode: undefined })],
    ['an empty ResultCode', result({ ResultCode: '' })],
    ['a ResultDesc that is not a string', result({ ResultDesc: null })],
  ] as Array<[string, unknown]>) {
    it(`refuses ${what}`, () => assert.throws(() => parseReversalResult(body), MalformedCallbackError));
  }
});
