import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { queryRows } from '../../src/db/client.ts';
import { WEEKDAYS, type OperatingHours, type Weekday } from '../../src/db/schema/index.ts';
import { bookingProblem, durationHours, MAX_ADVANCE_DAYS, refundQuote, totalPrice, withinOperatingHours } from '../../src/modules/bookings/bookings.rules.ts';
import type { AppError } from '../../src/shared/errors.ts';
import { testDatabase } from '../helpers/database.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NAIROBI = 'Africa/Nairobi';
const NEW_YORK = 'America/New_York';
const LONDON = 'Europe/London';

const at = (iso: string) => new Date(iso);
/** A wall-clock time in a zone, as an instant (fails loudly on a typo). */
function local(iso: string, zone: string): Date {
  const dt = DateTime.fromISO(iso, { zone });
  assert.ok(dt.isValid, `valid local time ${iso}`);
  return dt.toJSDate();
}

const open = (hours: OperatingHours | null, zone: string, from: string | Date, to: string | Date) =>
  withinOperatingHours(hours, zone, typeof from === 'string' ? at(from) : from, typeof to === 'string' ? at(to) : to);

describe('the calendar the tests rely on', () => {
  it('has the expected weekdays and DST offsets', () => {
    assert.equal(DateTime.fromISO('2030-01-07', { zone: NAIROBI }).weekday, 1); // Monday
    assert.equal(DateTime.fromISO('2030-01-11', { zone: NAIROBI }).weekday, 5); // Friday
    for (const day of ['2026-03-08', '2026-11-01', '2026-03-29', '2026-10-25']) assert.equal(DateTime.fromISO(day).weekday, 7, `${day} is a Sunday`);
    assert.equal(local('2026-03-08T01:00', NEW_YORK).toISOString(), '2026-03-08T06:00:00.000Z');
    assert.equal(local('2026-03-08T04:00', NEW_YORK).toISOString(), '2026-03-08T08:00:00.000Z');
    assert.equal(local('2026-03-29T03:00', LONDON).toISOString(), '2026-03-29T02:00:00.000Z');
  });
});

// ------------------------------------------------------------------------------------------------
describe('withinOperatingHours in Africa/Nairobi (UTC+3, no DST)', () => {
  const weekdays: OperatingHours = { mon: [['09:00', '17:00']], wed: [['09:00', '17:00']] };

  it('accepts a booking inside the hours', () => {
    // Monday 2030-01-07, 10:00–12:00 local = 07:00–09:00Z.
    assert.equal(open(weekdays, NAIROBI, '2030-01-07T07:00:00Z', '2030-01-07T09:00:00Z'), true);
  });

  it('accepts a booking that starts exactly at opening and ends exactly at closing', () => {
    assert.equal(open(weekdays, NAIROBI, '2030-01-07T06:00:00Z', '2030-01-07T14:00:00Z'), true);
    assert.equal(open(weekdays, NAIROBI, '2030-01-07T06:00:00Z', '2030-01-07T07:00:00Z'), true, 'opening at open');
    assert.equal(open(weekdays, NAIROBI, '2030-01-07T13:00:00Z', '2030-01-07T14:00:00Z'), true, 'ending at close');
  });

  it('refuses a booking one minute over either edge', () => {
    assert.equal(open(weekdays, NAIROBI, '2030-01-07T06:00:00Z', '2030-01-07T14:01:00Z'), false, 'ends 17:01');
    assert.equal(open(weekdays, NAIROBI, '2030-01-07T05:59:00Z', '2030-01-07T08:00:00Z'), false, 'starts 08:59');
    assert.equal(open(weekdays, NAIROBI, '2030-01-07T14:00:00Z', '2030-01-07T15:00:00Z'), false, 'starts at closing');
  });

  it('judges by the local day, not the UTC one', () => {
    // Monday 00:30 local is Sunday 21:30Z; a schedule open only on Monday mornings accepts it.
    const mondayNight: OperatingHours = { mon: [['00:00', '02:00']] };
    assert.equal(open(mondayNight, NAIROBI, '2030-01-06T21:30:00Z', '2030-01-06T22:30:00Z'), true);
    assert.equal(open(mondayNight, NAIROBI, '2030-01-07T21:30:00Z', '2030-01-07T22:30:00Z'), false, 'Tuesday 00:30 local');
  });

  it('refuses a booking on a closed day', () => {
    // Tuesday 2030-01-08 is absent from the schedule.
    assert.equal(open(weekdays, NAIROBI, '2030-01-08T07:00:00Z', '2030-01-08T09:00:00Z'), false);
    assert.equal(open({ tue: [] }, NAIROBI, '2030-01-08T07:00:00Z', '2030-01-08T09:00:00Z'), false, 'an empty list is closed too');
  });

  it('treats null hours as always open', () => {
    assert.equal(open(null, NAIROBI, '2030-01-08T01:00:00Z', '2030-01-09T01:00:00Z'), true);
    assert.equal(open(null, NEW_YORK, '2026-03-08T05:00:00Z', '2026-03-08T09:00:00Z'), true);
  });

  it('refuses a booking across the gap between two ranges of a day, accepts each range', () => {
    const split: OperatingHours = {
      mon: [
        ['08:00', '12:00'],
        ['13:00', '17:00'],
      ],
    };
    assert.equal(open(split, NAIROBI, '2030-01-07T05:00:00Z', '2030-01-07T09:00:00Z'), true, '08:00–12:00');
    assert.equal(open(split, NAIROBI, '2030-01-07T10:00:00Z', '2030-01-07T14:00:00Z'), true, '13:00–17:00');
    assert.equal(open(split, NAIROBI, '2030-01-07T08:00:00Z', '2030-01-07T11:00:00Z'), false, '11:00–14:00 spans the gap');
    assert.equal(open(split, NAIROBI, '2030-01-07T09:30:00Z', '2030-01-07T10:30:00Z'), false, 'inside the gap');
  });

  it('joins ranges that touch within a day', () => {
    const touching: OperatingHours = {
      mon: [
        ['08:00', '12:00'],
        ['12:00', '17:00'],
      ],
    };
    assert.equal(open(touching, NAIROBI, '2030-01-07T08:00:00Z', '2030-01-07T10:00:00Z'), true, '11:00–13:00');
  });

  it('joins ranges across midnight (fri 18:00–24:00 + sat 00:00–02:00)', () => {
    const late: OperatingHours = { fri: [['18:00', '24:00']], sat: [['00:00', '02:00']] };
    // Friday 2030-01-11 22:00 local (19:00Z) to Saturday 01:00 local (22:00Z).
    assert.equal(open(late, NAIROBI, '2030-01-11T19:00:00Z', '2030-01-11T22:00:00Z'), true);
    assert.equal(open(late, NAIROBI, '2030-01-11T15:00:00Z', '2030-01-11T23:00:00Z'), true, 'fri 18:00 to sat 02:00 exactly');
    assert.equal(open(late, NAIROBI, '2030-01-11T19:00:00Z', '2030-01-11T23:30:00Z'), false, 'to sat 02:30');
    assert.equal(open({ fri: [['18:00', '24:00']] }, NAIROBI, '2030-01-11T19:00:00Z', '2030-01-11T22:00:00Z'), false, 'without the Saturday range');
    assert.equal(
      open({ fri: [['18:00', '23:59']], sat: [['00:00', '02:00']] }, NAIROBI, '2030-01-11T19:00:00Z', '2030-01-11T22:00:00Z'),
      false,
      'a minute short of midnight does not join',
    );
  });
});

// ------------------------------------------------------------------------------------------------
describe('withinOperatingHours, totalPrice and durationHours on daylight-saving days', () => {
  const allSunday: OperatingHours = { sun: [['00:00', '24:00']] };
  const officeSunday: OperatingHours = { sun: [['09:00', '17:00']] };
  const PRICE = 100_000; // 1000.00 per hour

  const cases = [
    // zone, the date, local start/end spanning the change, its real hours
    { zone: NEW_YORK, day: '2026-03-08', label: 'New York spring (02:00→03:00)', span: ['01:00', '04:00'], spanHours: 2 },
    { zone: NEW_YORK, day: '2026-11-01', label: 'New York autumn (02:00→01:00)', span: ['00:00', '03:00'], spanHours: 4 },
    { zone: LONDON, day: '2026-03-29', label: 'London spring (01:00→02:00)', span: ['00:00', '03:00'], spanHours: 2 },
    { zone: LONDON, day: '2026-10-25', label: 'London autumn (02:00→01:00)', span: ['00:00', '03:00'], spanHours: 4 },
  ];

  for (const c of cases) {
    it(`${c.label}: a space open 00:00–24:00 accepts a booking across the change, priced by real time`, () => {
      const start = local(`${c.day}T${c.span[0]}`, c.zone);
      const end = local(`${c.day}T${c.span[1]}`, c.zone);
      assert.equal(end.getTime() - start.getTime(), c.spanHours * HOUR, 'the real length');
      assert.equal(withinOperatingHours(allSunday, c.zone, start, end), true);
      assert.equal(durationHours(start, end), c.spanHours);
      assert.equal(totalPrice(PRICE, start, end), c.spanHours * PRICE);
      // The whole local day, midnight to midnight, is open too (23 or 25 real hours).
      const midnight = local(`${c.day}T00:00`, c.zone);
      const nextMidnight = DateTime.fromJSDate(midnight, { zone: c.zone }).plus({ days: 1 }).toJSDate();
      assert.equal(withinOperatingHours(allSunday, c.zone, midnight, nextMidnight), true);
      assert.equal(withinOperatingHours(allSunday, c.zone, midnight, new Date(nextMidnight.getTime() + 60_000)), false, 'a minute into Monday');
    });

    it(`${c.label}: a space open 09:00–17:00 accepts 09:00–17:00 local (8 real hours) and refuses 08:30`, () => {
      const start = local(`${c.day}T09:00`, c.zone);
      const end = local(`${c.day}T17:00`, c.zone);
      assert.equal(end.getTime() - start.getTime(), 8 * HOUR);
      assert.equal(withinOperatingHours(officeSunday, c.zone, start, end), true);
      assert.equal(totalPrice(PRICE, start, end), 8 * PRICE);
      assert.equal(withinOperatingHours(officeSunday, c.zone, local(`${c.day}T08:30`, c.zone), end), false);
      assert.equal(withinOperatingHours(officeSunday, c.zone, start, local(`${c.day}T17:30`, c.zone)), false);
    });
  }

  it('New York spring: the non-existent 02:00–03:00 hour — a closing time inside it moves forward', () => {
    // Sunday open 00:00–02:30: 02:30 does not exist; it is the instant 02:30 EST would be, i.e. 03:30 EDT (07:30Z).
    const hours: OperatingHours = { sun: [['00:00', '02:30']] };
    const start = at('2026-03-08T06:00:00Z'); // 01:00 EST
    assert.equal(withinOperatingHours(hours, NEW_YORK, start, at('2026-03-08T07:00:00Z')), true, 'ending at 03:00 EDT, the first instant after the gap');
    assert.equal(withinOperatingHours(hours, NEW_YORK, start, at('2026-03-08T07:30:00Z')), true, 'ending at 03:30 EDT');
    assert.equal(withinOperatingHours(hours, NEW_YORK, start, at('2026-03-08T07:31:00Z')), false);
    // A request written with the old offset for the skipped time names that same instant.
    assert.equal(withinOperatingHours(hours, NEW_YORK, start, at('2026-03-08T02:30:00-05:00')), true);
    assert.equal(totalPrice(PRICE, start, at('2026-03-08T02:30:00-05:00')), 1.5 * PRICE);
  });

  it('New York spring: an opening time inside the missing hour moves forward too', () => {
    const hours: OperatingHours = { sun: [['02:30', '06:00']] };
    assert.equal(
      withinOperatingHours(hours, NEW_YORK, at('2026-03-08T07:00:00Z'), at('2026-03-08T08:00:00Z')),
      false,
      '03:00 EDT is before the shifted opening',
    );
    assert.equal(withinOperatingHours(hours, NEW_YORK, at('2026-03-08T07:30:00Z'), at('2026-03-08T10:00:00Z')), true, '03:30–06:00 EDT');
  });

  it('London spring: a booking ending in the hour that does not exist (01:00–02:00)', () => {
    const hours: OperatingHours = { sun: [['00:00', '01:30']] };
    // 01:30 does not exist; it is 01:30Z = 02:30 BST. 00:00 GMT–02:30 BST is 1.5 real hours.
    assert.equal(withinOperatingHours(hours, LONDON, at('2026-03-29T00:00:00Z'), at('2026-03-29T01:30:00Z')), true);
    assert.equal(withinOperatingHours(hours, LONDON, at('2026-03-29T00:00:00Z'), at('2026-03-29T01:31:00Z')), false);
    assert.equal(totalPrice(PRICE, at('2026-03-29T00:00:00Z'), at('2026-03-29T01:30:00Z')), 1.5 * PRICE);
  });

  it('New York autumn: the repeated hour 01:00–02:00 is two real hours and priced so', () => {
    // 01:00 EDT (05:00Z) to 02:00 EST (07:00Z): the wall clock shows one hour, two pass.
    const start = at('2026-11-01T05:00:00Z');
    const end = at('2026-11-01T07:00:00Z');
    assert.equal(withinOperatingHours(allSunday, NEW_YORK, start, end), true);
    assert.equal(durationHours(start, end), 2);
    assert.equal(totalPrice(PRICE, start, end), 2 * PRICE);
    // Inside the second pass of the hour only (01:15 EST → 01:45 EST).
    assert.equal(withinOperatingHours(allSunday, NEW_YORK, at('2026-11-01T06:15:00Z'), at('2026-11-01T06:45:00Z')), true);
    assert.equal(
      withinOperatingHours({ sun: [['00:00', '03:00']] }, NEW_YORK, at('2026-11-01T04:00:00Z'), at('2026-11-01T08:00:00Z')),
      true,
      '00:00–03:00 local is 4 real hours',
    );
    assert.equal(withinOperatingHours({ sun: [['00:00', '03:00']] }, NEW_YORK, at('2026-11-01T04:00:00Z'), at('2026-11-01T08:01:00Z')), false);
  });

  it('autumn: a closing time in the repeated hour is its last occurrence, an opening time its first', () => {
    const closes: OperatingHours = { sun: [['00:00', '01:30']] };
    assert.equal(withinOperatingHours(closes, NEW_YORK, at('2026-11-01T04:00:00Z'), at('2026-11-01T06:30:00Z')), true, 'New York: to the second 01:30 (EST)');
    assert.equal(withinOperatingHours(closes, NEW_YORK, at('2026-11-01T04:00:00Z'), at('2026-11-01T06:31:00Z')), false, 'a minute past it');
    assert.equal(withinOperatingHours(closes, LONDON, at('2026-10-24T23:00:00Z'), at('2026-10-25T01:30:00Z')), true, 'London: to the second 01:30 (GMT)');
    assert.equal(withinOperatingHours(closes, LONDON, at('2026-10-24T23:00:00Z'), at('2026-10-25T01:31:00Z')), false, 'a minute past it');
    const opens: OperatingHours = { sun: [['01:30', '04:00']] };
    assert.equal(withinOperatingHours(opens, NEW_YORK, at('2026-11-01T05:30:00Z'), at('2026-11-01T09:00:00Z')), true, 'New York: from the first 01:30 (EDT)');
    assert.equal(withinOperatingHours(opens, NEW_YORK, at('2026-11-01T05:29:00Z'), at('2026-11-01T09:00:00Z')), false, 'a minute before it');
    assert.equal(withinOperatingHours(opens, LONDON, at('2026-10-25T00:30:00Z'), at('2026-10-25T04:00:00Z')), true, 'London: from the first 01:30 (BST)');
    assert.equal(withinOperatingHours(opens, LONDON, at('2026-10-25T00:29:00Z'), at('2026-10-25T04:00:00Z')), false, 'a minute before it');
  });
});

// ------------------------------------------------------------------------------------------------
describe('totalPrice and durationHours', () => {
  const start = at('2030-01-07T07:00:00Z');
  const plus = (minutes: number) => new Date(start.getTime() + minutes * 60_000);

  it('charges price × exact minutes ÷ 60 in minor units', () => {
    assert.equal(totalPrice(150_000, start, plus(90)), 225_000);
    assert.equal(totalPrice(150_000, start, plus(60)), 150_000);
    assert.equal(totalPrice(150_000, start, plus(24 * 60)), 3_600_000);
    assert.equal(totalPrice(99, start, plus(120)), 198);
  });

  it('rounds odd minutes half up to the minor unit', () => {
    assert.equal(totalPrice(100_000, start, plus(61)), 101_667, '1666.666… → 1666.67');
    assert.equal(totalPrice(1_000, start, plus(1)), 17, '16.67 → 17');
    assert.equal(totalPrice(100, start, plus(1)), 2, '1.67 → 2');
    assert.equal(totalPrice(30, start, plus(1)), 1, 'exactly half (0.5) rounds up');
    assert.equal(totalPrice(90, start, plus(1)), 2, '1.5 rounds up');
    assert.equal(totalPrice(29, start, plus(1)), 0, '0.483 rounds down');
    assert.equal(totalPrice(150_001, start, plus(90)), 225_002, '225001.5 → 225002');
  });

  it('never uses floating-point minor units', () => {
    for (const minutes of [1, 7, 59, 61, 89, 133, 1439]) {
      const price = totalPrice(123_457, start, plus(minutes));
      assert.ok(Number.isInteger(price), `${minutes} min gives an integer`);
      assert.equal(price, Math.floor((123_457 * minutes) / 60 + 0.5));
    }
  });

  it('durationHours rounds to two decimals', () => {
    assert.equal(durationHours(start, plus(90)), 1.5);
    assert.equal(durationHours(start, plus(20)), 0.33);
    assert.equal(durationHours(start, plus(100)), 1.67);
  });
});

// ------------------------------------------------------------------------------------------------
describe('bookingProblem', () => {
  const now = at('2030-01-06T08:00:00Z');
  const space = {
    capacity: 10,
    minBookingHours: 2,
    maxBookingHours: 8,
    minNoticeHours: 3,
    operatingHours: { mon: [['08:00', '20:00']], tue: [['08:00', '20:00']] } as OperatingHours | null,
    timezone: NAIROBI,
  };
  // Monday 2030-01-07 09:00–12:00 local.
  const ok = { start: at('2030-01-07T06:00:00Z'), end: at('2030-01-07T09:00:00Z'), guests: 4 };
  const codeOf = (problem: AppError | undefined) => {
    if (problem) assert.equal(problem.statusCode, 400);
    return problem?.code;
  };
  const problem = (overrides: Partial<typeof ok>, terms: Partial<typeof space> = {}, when = now) =>
    codeOf(bookingProblem({ ...space, ...terms }, { ...ok, ...overrides }, when));

  it('accepts a request that breaks no rule', () => {
    assert.equal(problem({}), undefined);
    assert.equal(problem({ guests: 10 }), undefined, 'exactly the capacity');
  });

  it('invalid_time_range when end ≤ start', () => {
    assert.equal(problem({ end: ok.start }), 'invalid_time_range');
    assert.equal(problem({ end: new Date(ok.start.getTime() - HOUR) }), 'invalid_time_range');
  });

  it('start_in_past when the start is now or earlier', () => {
    assert.equal(problem({}, { minNoticeHours: 0 }, ok.start), 'start_in_past', 'starting exactly now');
    assert.equal(problem({}, { minNoticeHours: 0 }, new Date(ok.start.getTime() + 1)), 'start_in_past');
    assert.equal(problem({}, { minNoticeHours: 0 }, new Date(ok.start.getTime() - 1)), undefined, 'a millisecond ahead');
  });

  it('insufficient_notice when sooner than min_notice_hours', () => {
    const justEnough = new Date(ok.start.getTime() - 3 * HOUR);
    assert.equal(problem({}, {}, justEnough), undefined, 'exactly the notice');
    assert.equal(problem({}, {}, new Date(justEnough.getTime() + 60_000)), 'insufficient_notice');
  });

  it(`too_far_ahead beyond ${MAX_ADVANCE_DAYS} days`, () => {
    const edge = new Date(ok.start.getTime() - MAX_ADVANCE_DAYS * DAY);
    assert.equal(problem({}, {}, edge), undefined, 'exactly the limit');
    assert.equal(problem({}, {}, new Date(edge.getTime() - 60_000)), 'too_far_ahead');
  });

  it('duration_too_short / duration_too_long at the space’s limits', () => {
    assert.equal(problem({ end: new Date(ok.start.getTime() + 2 * HOUR) }), undefined, 'exactly the minimum');
    assert.equal(problem({ end: new Date(ok.start.getTime() + 2 * HOUR - 60_000) }), 'duration_too_short');
    assert.equal(problem({ end: new Date(ok.start.getTime() + 8 * HOUR) }), undefined, 'exactly the maximum');
    assert.equal(problem({ end: new Date(ok.start.getTime() + 8 * HOUR + 60_000) }), 'duration_too_long');
  });

  it('outside_operating_hours, judged in the space’s zone', () => {
    // 07:00–10:00 local: opens at 08:00.
    assert.equal(problem({ start: at('2030-01-07T04:00:00Z'), end: at('2030-01-07T07:00:00Z') }), 'outside_operating_hours');
    // The same instants in New York are Monday 01:00–04:00: closed there.
    assert.equal(problem({}, { timezone: NEW_YORK }), 'outside_operating_hours');
    assert.equal(problem({}, { operatingHours: null }), undefined, 'null = always open');
  });

  it('capacity_exceeded when guests > capacity', () => {
    assert.equal(problem({ guests: 11 }), 'capacity_exceeded');
  });

  it('reports the first rule broken, in the documented order', () => {
    // Too short and too many guests: the duration comes first.
    assert.equal(problem({ end: new Date(ok.start.getTime() + HOUR), guests: 50 }), 'duration_too_short');
    // Past and outside hours: the time comes first.
    assert.equal(problem({ start: at('2030-01-05T01:00:00Z'), end: at('2030-01-05T04:00:00Z') }), 'start_in_past');
  });
});

// ------------------------------------------------------------------------------------------------
describe('refundQuote', () => {
  const now = at('2030-01-06T08:00:00Z');
  const PAID = 12_345;
  const bookedAt = (msAgo: number) => new Date(now.getTime() - msAgo);
  const startIn = (ms: number) => new Date(now.getTime() + ms);
  const quote = (policy: 'flexible' | 'moderate' | 'strict', untilStart: number, sinceBooking = HOUR, byBooker = true) =>
    refundQuote(policy, { startTime: startIn(untilStart), createdAt: bookedAt(sinceBooking) }, PAID, byBooker, now);
  const refund = (...args: Parameters<typeof quote>) => quote(...args).refundAmount;
  const HALF = Math.floor(PAID / 2);

  it('flexible: 100 % until 24 h before the start, then 0', () => {
    assert.equal(refund('flexible', 30 * DAY), PAID);
    assert.equal(refund('flexible', DAY), PAID, 'exactly 24 h');
    assert.equal(refund('flexible', DAY - 1), 0);
    assert.equal(refund('flexible', HOUR), 0);
    const q = quote('flexible', DAY);
    assert.equal(q.policy, 'flexible');
    assert.match(q.rule, /flexible/i);
  });

  it('moderate: 100 % until 5 days, 50 % until 24 h, then 0', () => {
    assert.equal(refund('moderate', 5 * DAY), PAID, 'exactly 5 days');
    assert.equal(refund('moderate', 5 * DAY - 1), HALF);
    assert.equal(refund('moderate', DAY), HALF, 'exactly 24 h');
    assert.equal(refund('moderate', DAY - 1), 0);
    assert.equal(HALF, 6_172, '50 % of an odd amount rounds down to the minor unit');
  });

  it('strict: 100 % within 48 h of booking when the start is ≥ 14 days away', () => {
    assert.equal(refund('strict', 14 * DAY, HOUR), PAID, 'exactly 14 days away');
    assert.equal(refund('strict', 14 * DAY - 1, HOUR), HALF, 'a millisecond short of 14 days');
    assert.equal(refund('strict', 30 * DAY, 2 * DAY), PAID, 'exactly 48 h after booking');
    assert.equal(refund('strict', 30 * DAY, 2 * DAY + 1), HALF, 'just past 48 h after booking');
    assert.equal(refund('strict', 30 * DAY, 0), PAID, 'at the moment of booking');
  });

  it('strict: otherwise 50 % until 7 days before, then 0', () => {
    assert.equal(refund('strict', 7 * DAY, 10 * DAY), HALF, 'exactly 7 days');
    assert.equal(refund('strict', 7 * DAY - 1, 10 * DAY), 0);
    assert.equal(refund('strict', 7 * DAY - 1, HOUR), 0, 'even just after booking');
    assert.equal(refund('strict', DAY, HOUR), 0);
  });

  it('a cancellation by the host or an admin always refunds 100 %', () => {
    for (const policy of ['flexible', 'moderate', 'strict'] as const) {
      for (const untilStart of [30 * DAY, 6 * DAY, 2 * DAY, HOUR, -HOUR]) {
        const q = quote(policy, untilStart, 20 * DAY, false);
        assert.equal(q.refundAmount, PAID, `${policy}, ${untilStart / HOUR} h before the start`);
        assert.equal(q.policy, policy);
      }
    }
  });

  it('refunds nothing of nothing', () => {
    assert.equal(refundQuote('flexible', { startTime: startIn(30 * DAY), createdAt: now }, 0, true, now).refundAmount, 0);
  });
});

// ------------------------------------------------------------------------------------------------
// The JS rule and the SQL function space_open_during (migration 0006) must agree, and so must the
// prepared open periods the spaces search reads (migration 0012).

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const hhmm = (quarter: number) => `${String(Math.floor(quarter / 4)).padStart(2, '0')}:${String((quarter % 4) * 15).padStart(2, '0')}`;

interface Case {
  hours: OperatingHours | null;
  zone: string;
  from: Date;
  to: Date;
}

function randomHours(rand: () => number): OperatingHours | null {
  if (rand() < 0.08) return null;
  const hours: OperatingHours = {};
  for (const day of WEEKDAYS) {
    const roll = rand();
    if (roll < 0.15) continue; // closed
    if (roll < 0.3) {
      hours[day] = [['00:00', '24:00']];
      continue;
    }
    // Quarter-hour cut points, half of them in the small hours where the clocks change.
    const count = 2 * (1 + Math.floor(rand() * 3));
    const points = Array.from({ length: count }, () => (rand() < 0.5 ? Math.floor(rand() * 13) : Math.floor(rand() * 97))).sort((a, b) => a - b);
    if (rand() < 0.3) points[points.length - 1] = 96;
    if (rand() < 0.3) points[0] = 0;
    const ranges: Array<[string, string]> = [];
    for (let i = 0; i < points.length; i += 2) {
      const [s, e] = [points[i]!, points[i + 1]!];
      if (s < e && s < 96) ranges.push([hhmm(s), hhmm(e)]);
    }
    if (ranges.length > 0) hours[day] = ranges;
  }
  return hours;
}

const DATES: Record<string, string[]> = {
  [NAIROBI]: ['2026-03-08', '2026-11-01', '2030-01-11', '2026-06-17'],
  [NEW_YORK]: ['2026-03-08', '2026-11-01', '2026-03-08', '2026-11-01', '2026-06-17', '2030-01-11'],
  [LONDON]: ['2026-03-29', '2026-10-25', '2026-03-29', '2026-10-25', '2026-06-17', '2030-01-11'],
};

function randomCase(rand: () => number): Case {
  const zones = [NAIROBI, NEW_YORK, LONDON];
  const zone = zones[Math.floor(rand() * zones.length)]!;
  const dates = DATES[zone]!;
  const midnight = DateTime.fromISO(dates[Math.floor(rand() * dates.length)]!, { zone }).toMillis();
  // A start within ±30 h of that local midnight, mostly on the quarter hour.
  let start = midnight + (Math.floor(rand() * 241) - 120) * 15 * 60_000;
  if (rand() < 0.1) start += Math.floor(rand() * 15) * 60_000;
  const minutes = rand() < 0.6 ? (1 + Math.floor(rand() * 16)) * 15 : (1 + Math.floor(rand() * 120)) * 15;
  return { hours: randomHours(rand), zone, from: new Date(start), to: new Date(start + minutes * 60_000) };
}

/** Fall-back days, when 01:00–02:00 local happens twice. */
const REPEATED_HOUR: Record<string, string[]> = { [NEW_YORK]: ['2026-11-01'], [LONDON]: ['2026-10-25'] };

/**
 * Whether the schedule names a local time inside the repeated hour of a fall-back day that the
 * window reaches: such a time means two instants, and the two implementations may pick differently.
 */
function namesRepeatedTime(c: Case): boolean {
  if (!c.hours) return false;
  for (const day of REPEATED_HOUR[c.zone] ?? []) {
    const dayStart = DateTime.fromISO(day, { zone: c.zone });
    const dayEnd = dayStart.plus({ days: 1 });
    if (c.to.getTime() <= dayStart.toMillis() || c.from.getTime() >= dayEnd.toMillis()) continue;
    const key = WEEKDAYS[dayStart.weekday - 1] as Weekday;
    for (const range of c.hours[key] ?? []) {
      for (const time of range) if (time >= '01:00' && time < '02:00') return true;
    }
  }
  return false;
}

const describeCase = (c: Case) => `space_open_during('${JSON.stringify(c.hours)}', '${c.zone}', '${c.from.toISOString()}', '${c.to.toISOString()}')`;

/**
 * The SQL answers for a case: space_open_during(), and the prepared periods that the spaces
 * search reads (space_open_periods over local days around the window, migration 0012).
 */
async function sqlOpen(c: Case): Promise<{ open: boolean; periods: boolean }> {
  const { db } = await testDatabase();
  const hours = c.hours === null ? null : JSON.stringify(c.hours);
  const from = c.from.toISOString();
  const to = c.to.toISOString();
  const [row] = await queryRows<{ open: boolean; periods: boolean }>(
    db,
    sql`select space_open_during(${hours}::jsonb, ${c.zone}, ${from}::timestamptz, ${to}::timestamptz) as open,
      space_open_periods(${hours}::jsonb, ${c.zone}, (${from}::timestamptz at time zone 'UTC')::date - 2, (${to}::timestamptz at time zone 'UTC')::date + 2)
        @> tstzrange(${from}::timestamptz, ${to}::timestamptz, '[)') as periods`,
  );
  return row!;
}

async function compare(cases: Case[]) {
  const mismatches: string[] = [];
  const outcomes = { true: 0, false: 0 };
  for (const c of cases) {
    const js = withinOperatingHours(c.hours, c.zone, c.from, c.to);
    const database = await sqlOpen(c);
    outcomes[String(js) as 'true' | 'false'] += 1;
    if (js !== database.open) mismatches.push(`${describeCase(c)}: JS ${js}, SQL ${database.open}`);
    if (database.periods !== database.open) mismatches.push(`${describeCase(c)}: prepared periods ${database.periods}, space_open_during ${database.open}`);
  }
  return { mismatches, outcomes };
}

describe('withinOperatingHours and SQL space_open_during agree', () => {
  const SEED = 20_260_308;
  const rand = seeded(SEED);
  const all = Array.from({ length: 600 }, () => randomCase(rand));
  const plain = all.filter((c) => !namesRepeatedTime(c));
  const repeated = all.filter(namesRepeatedTime);

  it('on hand-picked cases: edges, gaps, midnight joins, null hours, DST days', async () => {
    const fixed: Case[] = [
      { hours: { mon: [['09:00', '17:00']] }, zone: NAIROBI, from: at('2030-01-07T06:00:00Z'), to: at('2030-01-07T14:00:00Z') },
      { hours: { mon: [['09:00', '17:00']] }, zone: NAIROBI, from: at('2030-01-07T06:00:00Z'), to: at('2030-01-07T14:01:00Z') },
      {
        hours: {
          mon: [
            ['08:00', '12:00'],
            ['13:00', '17:00'],
          ],
        },
        zone: NAIROBI,
        from: at('2030-01-07T08:00:00Z'),
        to: at('2030-01-07T11:00:00Z'),
      },
      { hours: { fri: [['18:00', '24:00']], sat: [['00:00', '02:00']] }, zone: NAIROBI, from: at('2030-01-11T19:00:00Z'), to: at('2030-01-11T22:00:00Z') },
      { hours: null, zone: NEW_YORK, from: at('2026-03-08T05:00:00Z'), to: at('2026-03-08T09:00:00Z') },
      { hours: {}, zone: NEW_YORK, from: at('2026-03-08T05:00:00Z'), to: at('2026-03-08T09:00:00Z') },
      { hours: { sun: [['00:00', '24:00']] }, zone: NEW_YORK, from: at('2026-03-08T06:00:00Z'), to: at('2026-03-08T08:00:00Z') },
      { hours: { sun: [['09:00', '17:00']] }, zone: NEW_YORK, from: at('2026-03-08T13:00:00Z'), to: at('2026-03-08T21:00:00Z') },
      { hours: { sun: [['09:00', '17:00']] }, zone: NEW_YORK, from: at('2026-03-08T12:30:00Z'), to: at('2026-03-08T21:00:00Z') },
      { hours: { sun: [['00:00', '02:30']] }, zone: NEW_YORK, from: at('2026-03-08T06:00:00Z'), to: at('2026-03-08T07:30:00Z') },
      { hours: { sun: [['00:00', '02:30']] }, zone: NEW_YORK, from: at('2026-03-08T06:00:00Z'), to: at('2026-03-08T07:31:00Z') },
      { hours: { sun: [['02:30', '06:00']] }, zone: NEW_YORK, from: at('2026-03-08T07:00:00Z'), to: at('2026-03-08T08:00:00Z') },
      { hours: { sun: [['00:00', '24:00']] }, zone: NEW_YORK, from: at('2026-11-01T04:00:00Z'), to: at('2026-11-02T05:00:00Z') },
      { hours: { sun: [['09:00', '17:00']] }, zone: NEW_YORK, from: at('2026-11-01T14:00:00Z'), to: at('2026-11-01T22:00:00Z') },
      { hours: { sun: [['00:00', '01:30']] }, zone: LONDON, from: at('2026-03-29T00:00:00Z'), to: at('2026-03-29T01:30:00Z') },
      { hours: { sun: [['09:00', '17:00']] }, zone: LONDON, from: at('2026-03-29T08:00:00Z'), to: at('2026-03-29T16:00:00Z') },
      { hours: { sat: [['22:00', '24:00']], sun: [['00:00', '03:00']] }, zone: LONDON, from: at('2026-10-24T21:00:00Z'), to: at('2026-10-25T03:00:00Z') },
    ];
    const { mismatches } = await compare(fixed);
    assert.deepEqual(mismatches, [], `JS and SQL disagree:\n${mismatches.join('\n')}`);
  });

  it(`on ${plain.length} random cases (seed ${SEED}) whose schedules name no time in a repeated hour`, async () => {
    assert.ok(plain.length >= 400, `enough cases (${plain.length})`);
    const { mismatches, outcomes } = await compare(plain);
    assert.deepEqual(mismatches, [], `JS and SQL disagree on ${mismatches.length} of ${plain.length} cases:\n${mismatches.slice(0, 20).join('\n')}`);
    // Not vacuous: both answers occur often.
    assert.ok(outcomes.true >= 50 && outcomes.false >= 50, `both outcomes occur: ${JSON.stringify(outcomes)}`);
  });

  it(`on the ${repeated.length} random cases and hand-picked ones whose schedules name a time in the repeated autumn hour`, async () => {
    const fixed: Case[] = [
      // Open 00:00–01:30 on New York's fall-back Sunday; booked 00:00 EDT → 01:00 EST, and to the second 01:30.
      { hours: { sun: [['00:00', '01:30']] }, zone: NEW_YORK, from: at('2026-11-01T04:00:00Z'), to: at('2026-11-01T06:00:00Z') },
      { hours: { sun: [['00:00', '01:30']] }, zone: NEW_YORK, from: at('2026-11-01T04:00:00Z'), to: at('2026-11-01T06:30:00Z') },
      { hours: { sun: [['00:00', '01:30']] }, zone: NEW_YORK, from: at('2026-11-01T04:00:00Z'), to: at('2026-11-01T06:31:00Z') },
      // Opening in the repeated hour: from the first 01:30, not a minute before.
      { hours: { sun: [['01:30', '04:00']] }, zone: NEW_YORK, from: at('2026-11-01T05:30:00Z'), to: at('2026-11-01T09:00:00Z') },
      { hours: { sun: [['01:30', '04:00']] }, zone: NEW_YORK, from: at('2026-11-01T05:29:00Z'), to: at('2026-11-01T09:00:00Z') },
      // Open 01:00–03:00; booked from the first 01:00 (EDT).
      { hours: { sun: [['01:00', '03:00']] }, zone: NEW_YORK, from: at('2026-11-01T05:00:00Z'), to: at('2026-11-01T07:00:00Z') },
      // London: open 01:00–02:00 on its fall-back Sunday; booked from the first 01:00 (BST).
      { hours: { sun: [['01:00', '02:00']] }, zone: LONDON, from: at('2026-10-25T00:00:00Z'), to: at('2026-10-25T02:00:00Z') },
    ];
    const { mismatches } = await compare([...fixed, ...repeated]);
    assert.deepEqual(mismatches, [], `JS and SQL disagree on ${mismatches.length} cases:\n${mismatches.slice(0, 20).join('\n')}`);
  });
});
