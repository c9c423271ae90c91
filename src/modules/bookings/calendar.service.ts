import { and, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { bookings, spaces } from '../../db/schema/index.ts';
import type { Clock } from '../../shared/clock.ts';
import { forbidden, notFound, unauthorized } from '../../shared/errors.ts';
import type { Principal } from '../auth/auth.service.ts';
import { canManageSpace } from '../spaces/spaces.policy.ts';
import { bookingsCalendar, type CalendarTokens } from './calendar.ts';

/** Bookings from this long ago stay in the feed, so a calendar keeps recent history. */
const FEED_HISTORY_MS = 30 * 24 * 3_600_000;
const FEED_LIMIT = 5000;

export function createCalendarService(deps: { db: Db; clock: Clock; tokens: CalendarTokens; publicUrl: string }) {
  const { db, tokens } = deps;
  const host = new URL(deps.publicUrl).hostname;

  async function liveSpace(id: number) {
    const [space] = await db.select().from(spaces).where(and(eq(spaces.id, id), isNull(spaces.archivedAt)));
    if (!space) throw notFound('Space');
    return space;
  }

  async function managedSpace(actor: Principal, id: number) {
    const space = await liveSpace(id);
    if (!canManageSpace(actor.user, space)) throw forbidden("Only the space's owner or an admin may see its calendar");
    return space;
  }

  const urlFor = (space: { id: number; calendarVersion: number }) => `${deps.publicUrl}/api/spaces/${space.id}/calendar.ics?token=${tokens.tokenFor(space)}`;

  async function calendarUrl(actor: Principal, id: number) {
    return { calendar_url: urlFor(await managedSpace(actor, id)) };
  }

  async function rotate(actor: Principal, id: number) {
    await managedSpace(actor, id);
    const [space] = await db
      .update(spaces)
      .set({ calendarVersion: sql`${spaces.calendarVersion} + 1` })
      .where(and(eq(spaces.id, id), isNull(spaces.archivedAt)))
      .returning();
    if (!space) throw notFound('Space');
    return { calendar_url: urlFor(space) };
  }

  /** The feed, for the space's owner or an admin (Bearer) or whoever holds the secret token; a wrong token is a 404. */
  async function feed(id: number, access: { actor: Principal | null; token?: string }) {
    const space = await liveSpace(id);
    if (access.token !== undefined) {
      if (!tokens.verify(space, access.token)) throw notFound('Calendar');
    } else if (!access.actor) {
      throw unauthorized('A Bearer token or the calendar token is required');
    } else if (!canManageSpace(access.actor.user, space)) {
      throw forbidden("Only the space's owner or an admin may see its calendar");
    }
    const since = new Date(deps.clock.now().getTime() - FEED_HISTORY_MS);
    const rows = await db
      .select()
      .from(bookings)
      .where(and(eq(bookings.spaceId, id), inArray(bookings.status, ['pending', 'confirmed']), gt(bookings.endTime, since)))
      .orderBy(bookings.startTime, bookings.id)
      .limit(FEED_LIMIT);
    return bookingsCalendar(space, rows, host);
  }

  return { calendarUrl, rotate, feed };
}

export type CalendarService = ReturnType<typeof createCalendarService>;
