import { DateTime } from 'luxon';
import {
  LIVE_BOOKING_STATUSES,
  WEEKDAYS,
  type BookingRow,
  type BookingStatus,
  type CancellationPolicy,
  type LiveBookingStatus,
  type OperatingHours,
  type SpaceRow,
} from '../../db/schema/index.ts';
import { badRequest, type AppError } from '../../shared/errors.ts';
import { shareOf } from '../../shared/money.ts';

/** Pure rules of booking: when a slot may be booked, what it costs, what a cancellation refunds. */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Bookings open a year ahead; further is refused rather than held forever. */
export const MAX_ADVANCE_DAYS = 365;

/**
 * Whether the space is open for the whole of [start, end), judged by the wall clock of its time
 * zone, daylight-saving changes included. Walks from `start`: at each instant finds the opening
 * range of that local day containing it and jumps to its end, until past `end`. Ranges that touch
 * (18:00–24:00, then 00:00–02:00 the next day) join up. Mirrors SQL space_open_during().
 *
 * On a fall-back night a time in the repeated hour names two instants: a range opens at the first
 * and closes at the last, so the space is open whenever its wall clock reads inside the range.
 */
export function withinOperatingHours(hours: OperatingHours | null, timeZone: string, start: Date, end: Date): boolean {
  if (hours === null) return true;
  let cursor = start.getTime();
  const until = end.getTime();
  while (cursor < until) {
    const day = DateTime.fromMillis(cursor, { zone: timeZone }).startOf('day');
    const ranges = hours[WEEKDAYS[day.weekday - 1]!] ?? [];
    let advanced = false;
    for (const [from, to] of ranges) {
      const openAt = localTime(day, from, 'first');
      const closeAt = localTime(day, to, 'last');
      if (cursor >= openAt && cursor < closeAt) {
        cursor = closeAt;
        advanced = true;
        break;
      }
    }
    if (!advanced) return false;
  }
  return true;
}

/**
 * "HH:MM" on a local day as an instant; "24:00" is the next midnight; a time skipped by DST moves
 * forward; a time that happens twice (fall-back) is its first or last occurrence, as asked.
 */
function localTime(day: DateTime, hhmm: string, occurrence: 'first' | 'last'): number {
  const hour = Number(hhmm.slice(0, 2));
  const minute = Number(hhmm.slice(3, 5));
  if (hour === 24) return day.plus({ days: 1 }).startOf('day').toMillis();
  const instants = day
    .set({ hour, minute, second: 0, millisecond: 0 })
    .getPossibleOffsets()
    .map((reading) => reading.toMillis());
  return occurrence === 'first' ? Math.min(...instants) : Math.max(...instants);
}

/** Price of the exact duration, in minor units, rounded half up: price × minutes ÷ 60. */
export function totalPrice(pricePerHourMinor: number, start: Date, end: Date): number {
  const minutes = Math.round((end.getTime() - start.getTime()) / 60_000);
  return Math.floor((pricePerHourMinor * minutes + 30) / 60);
}

export const durationHours = (start: Date, end: Date) => Math.round(((end.getTime() - start.getTime()) / HOUR_MS) * 100) / 100;

export interface BookingRequest {
  start: Date;
  end: Date;
  guests: number;
}

type SpaceTerms = Pick<SpaceRow, 'capacity' | 'minBookingHours' | 'maxBookingHours' | 'minNoticeHours' | 'operatingHours' | 'timezone'>;

/** The first rule a request breaks, as a 400 whose code names it; undefined when it may be booked. */
export function bookingProblem(space: SpaceTerms, request: BookingRequest, now: Date): AppError | undefined {
  const { start, end } = request;
  if (end.getTime() <= start.getTime()) return badRequest('invalid_time_range', 'end_time must be after start_time');
  if (start.getTime() <= now.getTime()) return badRequest('start_in_past', 'start_time must be in the future');
  if (start.getTime() < now.getTime() + space.minNoticeHours * HOUR_MS) {
    return badRequest('insufficient_notice', `This space must be booked at least ${space.minNoticeHours} hours ahead`);
  }
  if (start.getTime() > now.getTime() + MAX_ADVANCE_DAYS * DAY_MS) {
    return badRequest('too_far_ahead', `Bookings open at most ${MAX_ADVANCE_DAYS} days ahead`);
  }
  const hours = (end.getTime() - start.getTime()) / HOUR_MS;
  if (hours < space.minBookingHours) return badRequest('duration_too_short', `Bookings of this space last at least ${space.minBookingHours} hours`);
  if (hours > space.maxBookingHours) return badRequest('duration_too_long', `Bookings of this space last at most ${space.maxBookingHours} hours`);
  if (!withinOperatingHours(space.operatingHours ?? null, space.timezone, start, end)) {
    return badRequest('outside_operating_hours', `The space is not open for the whole booking (opening hours are in ${space.timezone})`);
  }
  if (request.guests > space.capacity) return badRequest('capacity_exceeded', `This space holds at most ${space.capacity} guests`);
  return undefined;
}

/** The slot a booking holds: its time plus the space's buffer after it. */
export const blockedUntil = (end: Date, bufferMinutes: number) => new Date(end.getTime() + bufferMinutes * 60_000);

/** Statuses that hold a slot. */
export const LIVE_STATUSES = LIVE_BOOKING_STATUSES;
export const isLive = (status: BookingStatus): status is LiveBookingStatus => (LIVE_BOOKING_STATUSES as readonly BookingStatus[]).includes(status);

export interface RefundQuote {
  policy: CancellationPolicy;
  /** Of what was paid, 0–100. */
  percent: number;
  /** Minor units. */
  refundAmount: number;
  rule: string;
}

/**
 * What a cancellation now refunds of `paid` (minor units). The booker gets what the space's policy
 * allows; a cancellation or rejection by the owner or an admin always refunds everything.
 */
export function refundQuote(
  policy: CancellationPolicy,
  booking: Pick<BookingRow, 'startTime' | 'createdAt'>,
  paid: number,
  byBooker: boolean,
  now: Date,
): RefundQuote {
  const share = (percent: number, rule: string): RefundQuote => ({ policy, percent, refundAmount: shareOf(paid, percent), rule });
  if (!byBooker) return share(100, 'Cancelled by the host or an admin: full refund');
  const untilStart = booking.startTime.getTime() - now.getTime();
  switch (policy) {
    case 'flexible':
      return untilStart >= DAY_MS
        ? share(100, 'Flexible: full refund until 24 hours before the start')
        : share(0, 'Flexible: no refund within 24 hours of the start');
    case 'moderate':
      if (untilStart >= 5 * DAY_MS) return share(100, 'Moderate: full refund until 5 days before the start');
      if (untilStart >= DAY_MS) return share(50, 'Moderate: 50 % refund until 24 hours before the start');
      return share(0, 'Moderate: no refund within 24 hours of the start');
    case 'strict': {
      const sinceBooking = now.getTime() - booking.createdAt.getTime();
      if (sinceBooking <= 2 * DAY_MS && untilStart >= 14 * DAY_MS)
        return share(100, 'Strict: full refund within 48 hours of booking when the start is at least 14 days away');
      if (untilStart >= 7 * DAY_MS) return share(50, 'Strict: 50 % refund until 7 days before the start');
      return share(0, 'Strict: no refund within 7 days of the start');
    }
  }
}
