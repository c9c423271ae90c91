import { DateTime } from 'luxon';
import type { PaymentMethod } from '../../db/schema/index.ts';
import { shareOf, toMajorUnits, toMinorUnits } from '../../shared/money.ts';

/** Pure rules about payments and receipts: numbering, money and time for display, card detection. No I/O. */

/**
 * Receipts are numbered per calendar year in the platform's home time zone, not per UTC year and
 * not per space: a payment completed at 01:30 on 1 January in Nairobi (22:30 UTC on 31 December)
 * belongs to the new year, as the people reading the receipt count it.
 */
export const PLATFORM_TIME_ZONE = 'Africa/Nairobi';

export function receiptYear(completedAt: Date): number {
  const local = DateTime.fromJSDate(completedAt, { zone: PLATFORM_TIME_ZONE });
  if (!local.isValid) throw new RangeError('receiptYear: invalid date');
  return local.year;
}

/**
 * `RCP-2026-000042`. The contract promises six digits, zero-padded; a year with a millionth
 * receipt keeps every digit (`RCP-2026-1000000`) rather than wrapping or truncating, because a
 * receipt number must never be reused. Readers should match `RCP-\d{4}-\d{6,}`.
 */
export function formatReceiptNumber(year: number, sequence: number): string {
  if (!Number.isInteger(year) || year < 1000 || year > 9999) throw new RangeError(`formatReceiptNumber: year ${year} is not a four-digit year`);
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw new RangeError(`formatReceiptNumber: sequence ${sequence} is not a positive integer`);
  return `RCP-${year}-${String(sequence).padStart(6, '0')}`;
}

/** Integer minor units → major units; `toMajorUnits` of the spaces rules, refusing what is not a whole number of cents. */
export function minorToMajor(minor: number): number {
  if (!Number.isSafeInteger(minor)) throw new RangeError(`minorToMajor: ${minor} is not an integer number of minor units`);
  return toMajorUnits(minor);
}

const groupThousands = (digits: string) => digits.replace(/\B(?=(\d{3})+$)/g, ',');

/**
 * `KES 4,500.00`. Works on integer minor units, so no amount prints with float noise; an amount
 * with more than two decimals is a bug upstream (the server computes every amount in minor units)
 * and throws rather than being rounded quietly on a receipt.
 */
export function formatMoney(amount: number, currency: string): string {
  const minor = toMinorUnits(amount);
  if (minor === undefined) throw new RangeError(`formatMoney: ${amount} is not an amount with at most two decimals`);
  const absolute = Math.abs(minor);
  const whole = groupThousands(String(Math.trunc(absolute / 100)));
  const cents = String(absolute % 100).padStart(2, '0');
  return `${minor < 0 ? '-' : ''}${currency} ${whole}.${cents}`;
}

/** `3`, `1.5`, `2.25` — hours as people write them, never `3.00` or `1.4999999`. */
export function formatHours(hours: number): string {
  const hundredths = Math.round(hours * 100);
  return String(hundredths / 100);
}

/**
 * What a refund of `percent` of a payment gives back, in minor units, rounded down as every
 * share is. M-Pesa moves whole shillings only (a Daraja reversal of KES 502.50 is refused, and
 * would be retried for ever), so there the share is rounded down to the shilling.
 */
export function refundShare(method: PaymentMethod, amountMinor: number, percent: number): number {
  const share = shareOf(amountMinor, percent);
  return method === 'mpesa' ? share - (share % 100) : share;
}

export const PAYMENT_METHOD_LABELS: Record<PaymentMethod, string> = { mpesa: 'M-Pesa', card: 'Card', cash: 'Cash' };

export const paymentMethodLabel = (method: PaymentMethod) => PAYMENT_METHOD_LABELS[method];

const DAY_FORMAT = 'ccc d LLL yyyy';
const offsetOf = (time: DateTime) => time.toFormat("'UTC'ZZ");

function localTime(iso: string, zone: string, what: string): DateTime {
  const time = DateTime.fromISO(iso, { zone, locale: 'en-GB' });
  if (!time.isValid) throw new RangeError(`${what}: ${iso} in ${zone} is not a valid time (${time.invalidReason})`);
  return time;
}

/**
 * A booking period as the guest lived it, in the space's time zone:
 * `Tue 1 Dec 2026, 09:00–12:00 (Africa/Nairobi, UTC+03:00)`. A period over midnight names both
 * days; one across a daylight-saving change names both offsets, since "01:30" alone would be ambiguous.
 */
export function formatPeriod(startIso: string, endIso: string, zone: string): string {
  const start = localTime(startIso, zone, 'formatPeriod');
  const end = localTime(endIso, zone, 'formatPeriod');
  const sameDay = start.toISODate() === end.toISODate();
  const range = sameDay
    ? `${start.toFormat(DAY_FORMAT)}, ${start.toFormat('HH:mm')}–${end.toFormat('HH:mm')}`
    : `${start.toFormat(DAY_FORMAT)}, ${start.toFormat('HH:mm')} – ${end.toFormat(DAY_FORMAT)}, ${end.toFormat('HH:mm')}`;
  const offsets = offsetOf(start) === offsetOf(end) ? offsetOf(start) : `${offsetOf(start)} to ${offsetOf(end)}`;
  return `${range} (${start.zoneName}, ${offsets})`;
}

/** An instant in a zone, `Tue 1 Dec 2026, 12:05 (UTC+03:00)`, for the receipt's issue date. */
export function formatInstant(iso: string, zone: string): string {
  const time = localTime(iso, zone, 'formatInstant');
  return `${time.toFormat(DAY_FORMAT)}, ${time.toFormat('HH:mm')} (${offsetOf(time)})`;
}

// ------------------------------------------------------------------------------------------------
// Card numbers

const MIN_CARD_DIGITS = 13;
const MAX_CARD_DIGITS = 19;
/** Luhn's doubled digit: 2d, minus 9 when that has two digits. */
const DOUBLED = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];

/**
 * Beyond these the value is refused unseen (treated as containing a card): no honest payment
 * body is a thousand levels deep or holds a million values, and an object graph with shared or
 * cyclic references (not from JSON.parse, but possible) would otherwise be walked without end.
 */
export const CARD_SCAN_LIMITS = { maxDepth: 1_000, maxValues: 1_000_000 } as const;

const digitOf = (code: number) => (code >= 48 && code <= 57 ? code - 48 : code >= 0xff10 && code <= 0xff19 ? code - 0xff10 : -1);
const isSeparator = (code: number) => code === 32 || code === 45;

/**
 * Scans one string in a single pass with O(1) state: a ring of the last 19 digits of the current
 * run. A run is digits joined by at most one space or dash between any two; each group of it
 * starts after such a separator. Per digit, the Luhn sums of the 19 windows ending there are
 * added up backwards, so the work is at most 19 steps per character whatever the input.
 *
 * Which windows count (the spec asks to refuse rather than store):
 * - a window that starts and ends on group edges: the whole run, or a number written in groups
 *   with something glued on (`4111 1111 1111 1111 123`, a CVV after the number);
 * - in a run longer than 19 digits, any window: no card is that long, so a long run is a card
 *   with something stuck to it until shown otherwise. Such runs are almost always refused, since
 *   one in ten windows passes Luhn by chance; that is the price of the conservative rule.
 * A run of 13–19 digits that fails Luhn with no aligned window passing is not a card, even if
 * some unaligned part of it happens to pass (else two of three random 16-digit runs would be).
 */
function stringHasCard(text: string): boolean {
  const ring = new Uint8Array(MAX_CARD_DIGITS);
  const groupStarts = new Uint8Array(MAX_CARD_DIGITS);
  let length = 0;
  let separatorPending = false;
  let groupStarting = true;
  let anyWindowPasses = false;
  /** Bit L-13 set: the window of L digits ending at the latest digit passes Luhn. */
  let passingEndingHere = 0;

  const alignedWindowPasses = () => {
    for (let size = MIN_CARD_DIGITS; size <= Math.min(length, MAX_CARD_DIGITS); size++) {
      if ((passingEndingHere & (1 << (size - MIN_CARD_DIGITS))) !== 0 && groupStarts[(length - size) % MAX_CARD_DIGITS] === 1) return true;
    }
    return false;
  };

  for (let index = 0; index <= text.length; index++) {
    const code = index < text.length ? text.charCodeAt(index) : -1;
    const digit = digitOf(code);
    if (digit >= 0) {
      const slot = length % MAX_CARD_DIGITS;
      ring[slot] = digit;
      groupStarts[slot] = groupStarting ? 1 : 0;
      groupStarting = false;
      separatorPending = false;
      length++;
      passingEndingHere = 0;
      if (length >= MIN_CARD_DIGITS) {
        let sum = 0;
        for (let size = 1; size <= Math.min(length, MAX_CARD_DIGITS); size++) {
          const d = ring[(length - size) % MAX_CARD_DIGITS]!;
          sum += size % 2 === 1 ? d : DOUBLED[d]!;
          if (size >= MIN_CARD_DIGITS && sum % 10 === 0) passingEndingHere |= 1 << (size - MIN_CARD_DIGITS);
        }
        if (passingEndingHere !== 0) anyWindowPasses = true;
        if (anyWindowPasses && length > MAX_CARD_DIGITS) return true;
      }
      continue;
    }
    if (length === 0) continue;
    if (!separatorPending && alignedWindowPasses()) return true;
    if (isSeparator(code) && !separatorPending) {
      separatorPending = true;
      groupStarting = true;
      continue;
    }
    length = 0;
    separatorPending = false;
    groupStarting = true;
    anyWindowPasses = false;
    passingEndingHere = 0;
  }
  return false;
}

/**
 * True when any string or number anywhere in a JSON value — object keys included — holds a
 * Luhn-valid card number (see `stringHasCard` for what counts). Used to refuse raw card numbers
 * before anything is stored: a false positive costs a user a retyped label, a false negative puts
 * a card number in the database. Iterative with an explicit stack, so hostile nesting cannot
 * overflow the call stack; work is linear in the size of the value; past `CARD_SCAN_LIMITS` the
 * answer is true. JSON numbers are read as JavaScript prints them: past 2^53 their digits are
 * already lost by JSON.parse, so a 19-digit card sent as a bare number may go unseen.
 */
export function containsCardNumber(value: unknown): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  let visited = 0;
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (++visited > CARD_SCAN_LIMITS.maxValues || depth > CARD_SCAN_LIMITS.maxDepth) return true;
    switch (typeof current) {
      case 'string':
        if (stringHasCard(current)) return true;
        break;
      case 'number':
      case 'bigint':
        if (stringHasCard(String(current))) return true;
        break;
      case 'object':
        if (current === null) break;
        if (Array.isArray(current)) {
          if (visited + stack.length + current.length > CARD_SCAN_LIMITS.maxValues) return true;
          for (let index = current.length - 1; index >= 0; index--) stack.push({ value: current[index], depth: depth + 1 });
        } else {
          const keys = Object.keys(current);
          if (visited + stack.length + keys.length > CARD_SCAN_LIMITS.maxValues) return true;
          for (const key of keys) {
            if (stringHasCard(key)) return true;
            stack.push({ value: (current as Record<string, unknown>)[key], depth: depth + 1 });
          }
        }
        break;
      case 'boolean':
      case 'undefined':
      case 'function':
      case 'symbol':
        // Carry no digits.
        break;
    }
  }
  return false;
}
