import type { Db } from '../../db/client.ts';
import type { Clock } from '../../shared/clock.ts';
import { notFound, unauthorized } from '../../shared/errors.ts';
import type { Principal } from '../../shared/principal.ts';
import type { SpacesService } from '../spaces/spaces.service.ts';
import * as repo from './bookings.repository.ts';
import { bookingsCalendar, type CalendarTokens } from './calendar.rules.ts';

/** Bookings from this long ago stay in the feed, so a calendar keeps recent history. */
const FEED_HISTORY_MS = 30 * 24 * 3_600_000;
const FEED_LIMIT = 5000;
const HOSTS_ONLY = "Only the space's owner or an admin may see its calendar";

export interface CalendarServiceDeps {
  db: Db;
  clock: Clock;
  tokens: CalendarTokens;
  publicUrl: string;
  /** The listing, its managers and its calendar version are the spaces module's. */
  spaces: Pick<SpacesService, 'manageable' | 'findLive' | 'rotateCalendar'>;
}

export function createCalendarService(deps: CalendarServiceDeps) {
  const { tokens, spaces } = deps;
  const host = new URL(deps.publicUrl).hostname;

  const urlFor = (space: { id: number; calendarVersion: number }) => `${deps.publicUrl}/api/spaces/${space.id}/calendar.ics?token=${tokens.tokenFor(space)}`;

  async function calendarUrl(actor: Principal, id: number) {
    return { calendar_url: urlFor(await spaces.manageable(actor, id, HOSTS_ONLY)) };
  }

  async function rotate(actor: Principal, id: number) {
    return { calendar_url: urlFor(await spaces.rotateCalendar(actor, id, HOSTS_ONLY)) };
  }

  /** The feed, for the space's owner or an admin (Bearer) or whoever holds the secret token; a wrong token is a 404. */
  async function feed(id: number, access: { actor: Principal | null; token?: string }) {
    let space;
    if (access.token !== undefined) {
      space = await spaces.findLive(id);
      if (!tokens.verify(space, access.token)) throw notFound('Calendar');
    } else if (!access.actor) {
      await spaces.findLive(id);
      throw unauthorized('A Bearer token or the calendar token is required');
    } else {
      space = await spaces.manageable(access.actor, id, HOSTS_ONLY);
    }
    const since = new Date(deps.clock.now().getTime() - FEED_HISTORY_MS);
    return bookingsCalendar(space, await repo.findLiveForFeed(deps.db, id, since, FEED_LIMIT), host);
  }

  return { calendarUrl, rotate, feed };
}

export type CalendarService = ReturnType<typeof createCalendarService>;
