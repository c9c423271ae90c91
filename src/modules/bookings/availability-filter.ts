import { sql } from 'drizzle-orm';
import { spaces } from '../../db/schema/index.ts';
import type { Clock } from '../../shared/clock.ts';
import type { ExtraCondition } from '../spaces/spaces.repository.ts';
import type { SpaceListQuery } from '../spaces/spaces.schemas.ts';
import { MAX_ADVANCE_DAYS } from './bookings.rules.ts';

const p = (name: string) => sql.placeholder(name);

/**
 * `available_from` + `available_to` on the spaces list: only listings bookable for that whole
 * window — available, open by their own clock (space_open_during, the SQL twin of
 * withinOperatingHours), within their notice and the booking horizon, long enough for their
 * rules, and with no live booking whose slot touches the window plus the listing's buffer. The
 * overlap test has the same shape as the exclusion constraint, so its GiST index answers it.
 */
export function availabilityFilter(clock: Clock) {
  return (query: SpaceListQuery): ExtraCondition[] => {
    if (!query.available_from || !query.available_to) return [];
    const from = p('windowFrom');
    const to = p('windowTo');
    return [
      {
        key: 'window',
        values: { windowFrom: new Date(query.available_from).toISOString(), windowTo: new Date(query.available_to).toISOString(), windowNow: clock.now().toISOString() },
        sql: sql`${spaces.isAvailable}
          and ${from}::timestamptz > ${p('windowNow')}::timestamptz
          and ${from}::timestamptz >= ${p('windowNow')}::timestamptz + make_interval(hours => ${spaces.minNoticeHours})
          and ${from}::timestamptz <= ${p('windowNow')}::timestamptz + make_interval(days => ${MAX_ADVANCE_DAYS})
          and ${to}::timestamptz - ${from}::timestamptz between make_interval(hours => ${spaces.minBookingHours}) and make_interval(hours => ${spaces.maxBookingHours})
          and space_open_during(${spaces.operatingHours}, ${spaces.timezone}, ${from}::timestamptz, ${to}::timestamptz)
          and not exists (
            select 1 from bookings b
            where b.space_id = ${spaces.id}
              and b.status in ('pending', 'confirmed')
              and tstzrange(b.start_time, b.blocked_until, '[)') && tstzrange(${from}::timestamptz, ${to}::timestamptz + make_interval(mins => ${spaces.bufferMinutes}), '[)')
          )`,
      },
    ];
  };
}
