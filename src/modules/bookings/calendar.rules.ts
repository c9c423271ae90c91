import { createHmac, hkdfSync } from 'node:crypto';
import ical, { ICalCalendarMethod, ICalEventStatus } from 'ical-generator';
import type { BookingRow, SpaceRow } from '../../db/schema/index.ts';
import { safeEqual } from '../../shared/crypto.ts';

/**
 * Calendar subscriptions. Calendar apps cannot send a Bearer token, so a space's feed URL carries
 * a secret: an HMAC of the space id and its calendar version under a key derived from the access
 * token secret. Nothing secret is stored; rotating raises the version, and every earlier URL
 * stops working.
 */
export function createCalendarTokens(secret: string) {
  const key = Buffer.from(hkdfSync('sha256', secret, 'spacer', 'calendar-feed-v1', 32));
  const tokenFor = (space: Pick<SpaceRow, 'id' | 'calendarVersion'>) =>
    createHmac('sha256', key).update(`${space.id}.${space.calendarVersion}`).digest('base64url');
  return {
    tokenFor,
    /** Constant-time comparison with the current token. */
    verify: (space: Pick<SpaceRow, 'id' | 'calendarVersion'>, token: string) => safeEqual(token, tokenFor(space)),
  };
}

export type CalendarTokens = ReturnType<typeof createCalendarTokens>;

/**
 * RFC 5545 feed of a space's pending and confirmed bookings: one VEVENT each, UID stable per
 * booking, SEQUENCE its version, times in UTC, STATUS TENTATIVE (pending) or CONFIRMED. Guests'
 * identities stay out: the feed may sit in a shared calendar.
 */
export function bookingsCalendar(space: Pick<SpaceRow, 'id' | 'name'>, bookings: BookingRow[], host: string): string {
  const calendar = ical({
    name: `${space.name} — Spacer bookings`,
    prodId: { company: 'Spacer', product: 'Spacer API', language: 'EN' },
    method: ICalCalendarMethod.PUBLISH,
    ttl: 15 * 60,
  });
  for (const booking of bookings) {
    calendar.createEvent({
      id: `booking-${booking.id}@${host}`,
      sequence: booking.version,
      start: booking.startTime,
      end: booking.endTime,
      stamp: booking.updatedAt,
      created: booking.createdAt,
      lastModified: booking.updatedAt,
      summary: `${booking.status === 'confirmed' ? 'Booked' : 'Requested'}: ${space.name} (${booking.guests} guest${booking.guests === 1 ? '' : 's'})`,
      description: booking.purpose ?? undefined,
      status: booking.status === 'confirmed' ? ICalEventStatus.CONFIRMED : ICalEventStatus.TENTATIVE,
    });
  }
  return calendar.toString();
}
