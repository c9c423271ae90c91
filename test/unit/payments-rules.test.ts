import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CARD_SCAN_LIMITS,
  containsCardNumber,
  formatHours,
  formatMoney,
  formatPeriod,
  formatReceiptNumber,
  minorToMajor,
  paymentMethodLabel,
  receiptYear,
  refundShare,
} from '../../src/modules/payments/payments.rules.ts';

/** Appends the Luhn check digit, to build test numbers of any length (checked below on known ones). */
function withCheckDigit(body: string): string {
  let sum = 0;
  for (let index = 0; index < body.length; index++) {
    const digit = Number(body[body.length - 1 - index]);
    const doubled = index % 2 === 0 ? digit * 2 : digit;
    sum += doubled > 9 ? doubled - 9 : doubled;
  }
  return body + String((10 - (sum % 10)) % 10);
}

/** Time one call; generous bounds, since the machine is shared and these guard against blow-ups, not for speed. */
function timed<T>(run: () => T): { result: T; ms: number } {
  const started = performance.now();
  const result = run();
  return { result, ms: performance.now() - started };
}

describe('formatReceiptNumber', () => {
  it('writes RCP-<year>-<six digits>, zero-padded', () => {
    assert.equal(formatReceiptNumber(2026, 42), 'RCP-2026-000042');
    assert.equal(formatReceiptNumber(2026, 1), 'RCP-2026-000001');
    assert.equal(formatReceiptNumber(2027, 999_999), 'RCP-2027-999999');
  });

  it('keeps every digit of a sequence past a million, so no number is ever reused', () => {
    assert.equal(formatReceiptNumber(2026, 1_000_000), 'RCP-2026-1000000');
    assert.equal(formatReceiptNumber(2026, 12_345_678), 'RCP-2026-12345678');
  });

  it('refuses a sequence or year that cannot be a receipt number', () => {
    for (const sequence of [0, -1, 1.5, Number.NaN, 2 ** 53]) assert.throws(() => formatReceiptNumber(2026, sequence), RangeError, String(sequence));
    for (const year of [26, 20260, 2026.5]) assert.throws(() => formatReceiptNumber(year, 1), RangeError, String(year));
  });
});

describe('receiptYear', () => {
  it('counts the year in Nairobi time, not in UTC', () => {
    assert.equal(receiptYear(new Date('2026-12-31T20:59:59.999Z')), 2026, '23:59:59 on 31 December in Nairobi');
    assert.equal(receiptYear(new Date('2026-12-31T21:00:00.000Z')), 2027, 'midnight in Nairobi, still 2026 in UTC');
    assert.equal(receiptYear(new Date('2027-06-15T12:00:00.000Z')), 2027);
  });

  it('refuses an invalid date', () => {
    assert.throws(() => receiptYear(new Date('nope')), RangeError);
  });
});

describe('money and hours for display', () => {
  it('formats major units with two decimals, thousands separators and the currency', () => {
    assert.equal(formatMoney(4500, 'KES'), 'KES 4,500.00');
    assert.equal(formatMoney(0, 'KES'), 'KES 0.00');
    assert.equal(formatMoney(999.9, 'KES'), 'KES 999.90');
    assert.equal(formatMoney(1_234_567.89, 'USD'), 'USD 1,234,567.89');
    assert.equal(formatMoney(100_000, 'KES'), 'KES 100,000.00');
    assert.equal(formatMoney(-12.5, 'KES'), '-KES 12.50');
  });

  it('shows no float noise: 0.1 + 0.2 is 0.30', () => {
    assert.equal(formatMoney(0.1 + 0.2, 'KES'), 'KES 0.30');
    assert.equal(formatMoney(1.15 * 3, 'KES'), 'KES 3.45');
  });

  it('refuses an amount with more than two decimals rather than rounding it on a receipt', () => {
    assert.throws(() => formatMoney(12.345, 'KES'), RangeError);
    assert.throws(() => formatMoney(Number.NaN, 'KES'), RangeError);
  });

  it('converts integer minor units to major units exactly', () => {
    assert.equal(minorToMajor(450_000), 4500);
    assert.equal(minorToMajor(450_050), 4500.5);
    assert.equal(minorToMajor(1), 0.01);
    assert.equal(minorToMajor(30), 0.3);
    assert.throws(() => minorToMajor(1.5), RangeError);
  });

  it('writes hours without trailing zeros', () => {
    assert.equal(formatHours(3), '3');
    assert.equal(formatHours(1.5), '1.5');
    assert.equal(formatHours(2.25), '2.25');
  });

  it('names the payment methods as people know them', () => {
    assert.deepEqual([paymentMethodLabel('mpesa'), paymentMethodLabel('card'), paymentMethodLabel('cash')], ['M-Pesa', 'Card', 'Cash']);
  });
});

describe('refundShare', () => {
  it('rounds a share down, and to whole shillings for M-Pesa, whose reversals take nothing else', () => {
    assert.equal(refundShare('card', 100_500, 50), 50_250);
    assert.equal(refundShare('cash', 100_500, 50), 50_250);
    assert.equal(refundShare('mpesa', 100_500, 50), 50_200);
    assert.equal(refundShare('mpesa', 100_500, 100), 100_500);
    assert.equal(refundShare('mpesa', 100, 50), 0);
    assert.equal(refundShare('card', 333, 50), 166);
  });
});

describe('formatPeriod', () => {
  it("shows the period in the space's zone with its offset", () => {
    assert.equal(
      formatPeriod('2026-12-01T06:00:00.000Z', '2026-12-01T09:00:00.000Z', 'Africa/Nairobi'),
      'Tue 1 Dec 2026, 09:00–12:00 (Africa/Nairobi, UTC+03:00)',
    );
    assert.equal(
      formatPeriod('2026-12-01T14:00:00.000Z', '2026-12-01T16:30:00.000Z', 'America/New_York'),
      'Tue 1 Dec 2026, 09:00–11:30 (America/New_York, UTC-05:00)',
    );
  });

  it('names both days for a period over local midnight', () => {
    assert.equal(
      formatPeriod('2026-12-01T19:00:00.000Z', '2026-12-01T23:00:00.000Z', 'Africa/Nairobi'),
      'Tue 1 Dec 2026, 22:00 – Wed 2 Dec 2026, 02:00 (Africa/Nairobi, UTC+03:00)',
    );
  });

  it('names both offsets across a daylight-saving change', () => {
    // London leaves summer time at 02:00 BST on 25 October 2026; 00:30 BST to 03:00 GMT.
    assert.equal(
      formatPeriod('2026-10-24T23:30:00.000Z', '2026-10-25T03:00:00.000Z', 'Europe/London'),
      'Sun 25 Oct 2026, 00:30–03:00 (Europe/London, UTC+01:00 to UTC+00:00)',
    );
  });

  it('refuses an unknown zone', () => {
    assert.throws(() => formatPeriod('2026-12-01T06:00:00.000Z', '2026-12-01T09:00:00.000Z', 'Mars/Olympus'), RangeError);
  });
});

describe('containsCardNumber', () => {
  it('the test helper builds Luhn-valid numbers (checked on known test cards)', () => {
    assert.equal(withCheckDigit('411111111111111'), '4111111111111111');
    assert.equal(withCheckDigit('37828224631000'), '378282246310005');
  });

  const cards: Array<[string, unknown]> = [
    ['Visa, bare', '4111111111111111'],
    ['Visa, spaces', '4111 1111 1111 1111'],
    ['Visa, dashes', '4111-1111-1111-1111'],
    ['Visa, mixed separators', '4242-4242 4242-4242'],
    ['Visa 13 digits', '4222222222222'],
    ['Mastercard', '5555555555554444'],
    ['Mastercard, spaces', '5105 1051 0510 5100'],
    ['Mastercard 2-series, dashes', '2223-0031-2200-3222'],
    ['Amex, bare', '378282246310005'],
    ['Amex, 4-6-5 groups', '3782 822463 10005'],
    ['Amex, dashes', '3714-496353-98431'],
    ['Discover', '6011111111111117'],
    ['Diners 14 digits', '30569309025904'],
    ['19 digits', withCheckDigit('601100000000000000')],
    ['in a sentence', 'my card 4242424242424242 thanks'],
    ['glued to letters', 'card:4242424242424242,exp'],
    ['followed by its CVV', 'card 4111 1111 1111 1111 123'],
    ['bare, followed by a CVV', '4111111111111111 123'],
    ['after a short number', 'ref 12 4111 1111 1111 1111'],
    ['inside a longer digit run', '12345678904111111111111111'],
    ['full-width digits', '４１１１１１１１１１１１１１１１'],
    ['a JSON number', 4242424242424242],
    ['in a nested object', { type: 'card', details: { holder: 'A', notes: ['first', { raw: '5555 5555 5555 4444' }] } }],
    ['in an array', ['label', 12, null, true, '3782-822463-10005']],
    ['as a number in an array', [1, 2, 378282246310005]],
    ['in a key', { '4111 1111 1111 1111': 'oops' }],
    ['in a nested key', { a: [{ b: { '5105105105105100': true } }] }],
  ];
  for (const [name, value] of cards) {
    it(`finds a card: ${name}`, () => assert.equal(containsCardNumber(value), true));
  }

  const notCards: Array<[string, unknown]> = [
    ['a 16-digit run failing Luhn', '4111111111111112'],
    ['a grouped run failing Luhn', '4111 1111 1111 1112'],
    ['a Luhn-failing number', 4111111111111112],
    ['a 12-digit run', '411111111111'],
    ['a Luhn-valid 12-digit run', '424242424242'],
    ['a Kenyan phone number', '254712345678'],
    ['a phone number as a number', 254712345678],
    ['a phone number with a plus and spaces', '+254 712 345 678'],
    ['a local phone number with dashes', '0712-345-678'],
    ['a date', '2026-12-01'],
    ['a date and time', '2026-12-01 09:00'],
    ['an ISO timestamp', '2026-12-01T09:00:00.000Z'],
    ['a slash date', '01/12/2026'],
    ['small ids', { id: 42, booking_id: 1207, space_id: 9 }],
    ['a UUID', '550e8400-e29b-41d4-a716-446655440000'],
    ['an M-Pesa receipt code', 'QJK3ABC123'],
    ['another M-Pesa code', 'SGL31HA2UX'],
    ['a Stripe payment method id', 'pm_1QxYzABCdefGHIjkl0123456'],
    ['the last four and a brand', { type: 'card', brand: 'visa', last4: '4242', provider_token: 'tok_visa' }],
    ['digit groups split by two spaces', '4111  1111  1111  1111'],
    ['a long run where no 13–19 window passes Luhn', '1111111111111111111111111'],
    ['an amount', 1790123.31],
    ['nothing', null],
    ['an empty object', {}],
    ['text', 'Boardroom with a view, 12 seats, 2 screens'],
  ];
  for (const [name, value] of notCards) {
    it(`finds no card: ${name}`, () => assert.equal(containsCardNumber(value), false));
  }

  it('answers a 1 MB string quickly, with and without a card in it', () => {
    const letters = timed(() => containsCardNumber('a'.repeat(1 << 20)));
    assert.equal(letters.result, false);
    const ones = timed(() => containsCardNumber('1'.repeat(1 << 20)));
    assert.equal(ones.result, false, 'a megabyte of 1s has no Luhn-valid window');
    const spaced = timed(() => containsCardNumber('11 '.repeat(350_000)));
    assert.equal(spaced.result, false, 'one run of a megabyte in short groups, no window passes');
    const refused = timed(() => containsCardNumber('12 '.repeat(350_000)));
    assert.equal(refused.result, true, 'a long run in which some window passes Luhn is refused');
    const hidden = timed(() => containsCardNumber(`${'word '.repeat(200_000)}4111 1111 1111 1111`));
    assert.equal(hidden.result, true);
    // A generous bound for a loaded machine: what it guards against is superlinear work, which on a
    // megabyte would take minutes, not a few seconds.
    for (const run of [letters, ones, spaced, refused, hidden]) assert.ok(run.ms < 5_000, `took ${run.ms.toFixed(0)} ms`);
  });

  it('answers a 10,000-deep nested array without a stack overflow: refused, being past the depth guard', () => {
    let deep: unknown = 'nothing here';
    for (let level = 0; level < 10_000; level++) deep = [deep];
    const run = timed(() => containsCardNumber(deep));
    assert.equal(run.result, true);
    assert.ok(run.ms < 5_000, `took ${run.ms.toFixed(0)} ms`);
    assert.ok(CARD_SCAN_LIMITS.maxDepth < 10_000);
  });

  it('looks all the way down a nesting within the guard', () => {
    const nest = (leaf: unknown) => {
      let value: unknown = leaf;
      for (let level = 0; level < CARD_SCAN_LIMITS.maxDepth - 1; level++) value = level % 2 === 0 ? [value] : { next: value };
      return value;
    };
    assert.equal(containsCardNumber(nest('nothing here')), false);
    assert.equal(containsCardNumber(nest('4111 1111 1111 1111')), true);
  });

  it('refuses a cyclic or oversized value instead of walking it forever', () => {
    const cycle: unknown[] = [];
    cycle.push(cycle);
    assert.equal(containsCardNumber(cycle), true);
    const shared: unknown[] = ['x', 'y'];
    let wide: unknown = shared;
    for (let level = 0; level < 40; level++) wide = [wide, wide];
    const run = timed(() => containsCardNumber(wide));
    assert.equal(run.result, true, 'a shared-reference graph of 2^40 paths');
    assert.ok(run.ms < 5_000, `took ${run.ms.toFixed(0)} ms`);
  });

  it('scans a wide JSON body of many fields', () => {
    const body = Object.fromEntries(Array.from({ length: 100_000 }, (_, index) => [`field_${index}`, `value ${index}`]));
    assert.equal(containsCardNumber(body), false);
    assert.equal(containsCardNumber({ ...body, late: 'card 4111111111111111' }), true);
  });
});
