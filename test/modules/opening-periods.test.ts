import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { queryRows } from '../../src/db/client.ts';
import { withinOperatingHours } from '../../src/modules/bookings/bookings.rules.ts';
import type { OperatingHours } from '../../src/db/schema/index.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { buildTestApp, call } from '../helpers/app.ts';
import { createUser } from '../helpers/factories.ts';
import { createSpace } from '../helpers/spaces.ts';

/**
 * The opening periods prepared for the available-window search (migration 0012): one schedule per
 * distinct (time zone, hours), kept by triggers on spaces, extended by the spaces sweep, and read
 * by the spaces list instead of judging every listing's hours per request.
 */

// The clock starts at the real time, which is what the trigger prepares periods around (now()).
const clock = new ManualClock(new Date());
const app = await buildTestApp({ clock });
const db = app.services.database.db;
const owner = await createUser(app, { role: 'owner' });

const WEEKDAYS_9_TO_5: OperatingHours = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((day) => [day, [['09:00', '17:00']]]));
const DAY = 86_400_000;

interface ScheduleRow {
  id: number;
  timezone: string;
  periods_from: Date;
  periods_until: Date;
  periods: number;
}

async function scheduleOf(spaceId: number): Promise<ScheduleRow | undefined> {
  const [row] = await queryRows<ScheduleRow>(
    db,
    sql`select o.id, o.timezone, o.periods_from, o.periods_until, (select count(*)::int from opening_periods p where p.schedule_id = o.id) as periods
      from spaces s join opening_schedules o on o.id = s.schedule_id where s.id = ${spaceId}`,
  );
  return row && { ...row, periods_from: new Date(row.periods_from), periods_until: new Date(row.periods_until) };
}

async function scheduleIdOf(spaceId: number): Promise<number | null> {
  const [row] = await queryRows<{ schedule_id: number | null }>(db, sql`select schedule_id from spaces where id = ${spaceId}`);
  return row!.schedule_id;
}

async function scheduleExists(id: number): Promise<boolean> {
  const [row] = await queryRows<{ found: boolean }>(db, sql`select exists (select 1 from opening_schedules where id = ${id}) as found`);
  return row!.found;
}

async function sweepAll() {
  let total = 0;
  for (let refreshed = -1; refreshed !== 0; total += refreshed) refreshed = (await app.services.spaces.sweep()).schedulesRefreshed;
  return total + 1;
}

/** The next `weekday` (1 = Monday) at least two days ahead, as a Nairobi local date, at `hour` local (UTC+3). */
function nextNairobi(weekday: number, hour: number): Date {
  const day = new Date(clock.now().getTime() + 2 * DAY);
  while (((day.getUTCDay() + 6) % 7) + 1 !== weekday) day.setTime(day.getTime() + DAY);
  return new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), hour - 3));
}

async function listedFor(from: Date, to: Date, ownerId = owner.id): Promise<number[]> {
  const response = await call(app, 'GET', '/api/spaces', {
    query: { owner_id: String(ownerId), per_page: '100', available_from: from.toISOString(), available_to: to.toISOString() },
  });
  assert.equal(response.status, 200, response.raw);
  return (response.body.spaces as Array<{ id: number }>).map((space) => space.id).sort((a, b) => a - b);
}

describe('opening schedules', () => {
  it('gives spaces with the same hours and time zone one schedule, prepared over the booking horizon; none when always open', async () => {
    const first = await createSpace(app, owner.token, { operating_hours: WEEKDAYS_9_TO_5 });
    const second = await createSpace(app, owner.token, { operating_hours: WEEKDAYS_9_TO_5 });
    const elsewhere = await createSpace(app, owner.token, { operating_hours: WEEKDAYS_9_TO_5, timezone: 'America/New_York' });
    const alwaysOpen = await createSpace(app, owner.token, { operating_hours: null });

    const schedule = await scheduleOf(first.id);
    assert.ok(schedule);
    assert.equal((await scheduleOf(second.id))?.id, schedule.id, 'shared');
    assert.notEqual((await scheduleOf(elsewhere.id))?.id, schedule.id, 'another time zone, another schedule');
    assert.equal(await scheduleIdOf(alwaysOpen.id), null);

    const now = clock.now().getTime();
    assert.ok(schedule.periods_from.getTime() <= now - DAY, 'trusted from a day before now');
    assert.ok(schedule.periods_until.getTime() >= now + 396 * DAY, 'trusted past the horizon plus the longest booking');
    // Five opening ranges a week for ~57 weeks.
    assert.ok(schedule.periods >= 280 && schedule.periods <= 295, `periods: ${schedule.periods}`);
  });

  it('creates one schedule when several spaces with the same new hours are created at once', async () => {
    const hours: OperatingHours = { mon: [['06:15', '07:45']], sat: [['11:00', '12:00']] };
    const spaces = await Promise.all(Array.from({ length: 6 }, () => createSpace(app, owner.token, { operating_hours: hours })));
    const ids = new Set(await Promise.all(spaces.map((space: { id: number }) => scheduleIdOf(space.id))));
    assert.equal(ids.size, 1);
    const [row] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from opening_schedules where hours = ${JSON.stringify(hours)}::jsonb`);
    assert.equal(row!.n, 1);
  });

  it('keeps schedule_id for the database to decide: a direct write is put right, and hours without a schedule are refused', async () => {
    const space = await createSpace(app, owner.token, { operating_hours: WEEKDAYS_9_TO_5 });
    const other = await createSpace(app, owner.token, { operating_hours: { sat: [['10:00', '14:00']] } });
    const right = await scheduleIdOf(space.id);
    await db.execute(sql`update spaces set schedule_id = ${await scheduleIdOf(other.id)} where id = ${space.id}`);
    assert.equal(await scheduleIdOf(space.id), right);
    await assert.rejects(
      db.execute(sql`alter table spaces disable trigger spaces_schedule_on_update`).then(async () => {
        try {
          await db.execute(sql`update spaces set schedule_id = null where id = ${space.id}`);
        } finally {
          await db.execute(sql`alter table spaces enable trigger spaces_schedule_on_update`);
        }
      }),
      (error: Error) => /spaces_schedule/.test(error.cause instanceof Error ? error.cause.message : error.message),
    );
    assert.equal(await scheduleIdOf(space.id), right);
  });

  it('answers from the prepared periods: the search finds what they say, and a schedule without periods is judged once by its hours', async () => {
    const space = await createSpace(app, owner.token, { name: 'Prepared', operating_hours: { tue: [['08:00', '12:00']], thu: [['08:00', '12:00']] } });
    const schedule = (await scheduleOf(space.id))!;
    const from = nextNairobi(2, 9);
    const to = new Date(from.getTime() + 2 * 3_600_000);
    assert.ok((await listedFor(from, to)).includes(space.id), 'open Tuesday 09:00–11:00');
    assert.ok(!(await listedFor(new Date(from.getTime() + 2 * 3_600_000), new Date(from.getTime() + 4 * 3_600_000))).includes(space.id), 'closed 11:00–13:00');

    // Emptied periods that still claim to be exact: the search believes them, so it reads them.
    await db.execute(sql`delete from opening_periods where schedule_id = ${schedule.id}`);
    assert.ok(!(await listedFor(from, to)).includes(space.id), 'the search reads the periods');

    // Periods that no longer reach the window are not trusted: the hours decide, and the result is right again.
    await db.execute(sql`update opening_schedules set periods_until = ${new Date(from.getTime() - DAY).toISOString()}::timestamptz where id = ${schedule.id}`);
    assert.ok((await listedFor(from, to)).includes(space.id), 'judged by space_open_during');

    // The sweep regenerates such a schedule.
    await sweepAll();
    const after = (await scheduleOf(space.id))!;
    assert.ok(after.periods > 100, `periods regenerated: ${after.periods}`);
    assert.ok(after.periods_until.getTime() >= clock.now().getTime() + 396 * DAY);
    assert.ok((await listedFor(from, to)).includes(space.id));
  });

  it('follows an edit of the hours or time zone at once, and the sweep removes a schedule nobody uses', async () => {
    const hours: OperatingHours = { wed: [['07:00', '09:00']] };
    const space = await createSpace(app, owner.token, { name: 'Edited', operating_hours: hours });
    const before = (await scheduleIdOf(space.id))!;
    const from = nextNairobi(3, 7);
    const to = new Date(from.getTime() + 2 * 3_600_000);
    assert.ok((await listedFor(from, to)).includes(space.id));

    const edited = await call(app, 'PUT', `/api/spaces/${space.id}`, { token: owner.token, body: { operating_hours: { wed: [['10:00', '12:00']] } } });
    assert.equal(edited.status, 200, edited.raw);
    assert.notEqual(await scheduleIdOf(space.id), before);
    assert.ok(!(await listedFor(from, to)).includes(space.id), 'closed at 07:00 now');
    const later = new Date(from.getTime() + 3 * 3_600_000);
    assert.ok((await listedFor(later, new Date(later.getTime() + 2 * 3_600_000))).includes(space.id), 'open at 10:00 now');

    // Moved to New York (UTC-5 or -4): 10:00–12:00 there is 15:00–17:00 UTC or 14:00–16:00.
    const moved = await call(app, 'PUT', `/api/spaces/${space.id}`, { token: owner.token, body: { timezone: 'America/New_York' } });
    assert.equal(moved.status, 200, moved.raw);
    assert.ok(!(await listedFor(later, new Date(later.getTime() + 2 * 3_600_000))).includes(space.id), 'Nairobi hours no longer');

    assert.ok(await scheduleExists(before));
    await sweepAll();
    assert.ok(!(await scheduleExists(before)), 'the unused schedule is gone');
    assert.ok(await scheduleExists((await scheduleIdOf(space.id))!), 'the one in use stays');
  });

  it('is extended by the sweep as days pass', async () => {
    const space = await createSpace(app, owner.token, { operating_hours: { fri: [['09:00', '10:00']] } });
    const before = (await scheduleOf(space.id))!;
    const start = clock.now();
    try {
      clock.advance(10 * DAY);
      assert.ok((await sweepAll()) >= 1);
      const after = (await scheduleOf(space.id))!;
      assert.ok(after.periods_until.getTime() >= before.periods_until.getTime() + 9 * DAY, 'reaches further');
      assert.ok(after.periods_from.getTime() >= before.periods_from.getTime() + 9 * DAY);
      assert.equal((await sweepAll()) >= 0, true);
      assert.equal((await scheduleOf(space.id))!.periods_until.getTime(), after.periods_until.getTime(), 'nothing to do a second time');
    } finally {
      clock.set(start);
      await db.execute(sql`update opening_schedules set periods_from = 'infinity', periods_until = '-infinity'`);
      await sweepAll();
    }
  });

  it('pages and sorts a window search like any other list (the page is chosen before its rows are read)', async () => {
    const pricedOwner = await createUser(app, { role: 'owner' });
    const prices = [4000, 1500, 3000, 2500, 1000];
    const created = [];
    for (const price of prices) created.push(await createSpace(app, pricedOwner.token, { price_per_hour: price, operating_hours: WEEKDAYS_9_TO_5 }));
    await createSpace(app, pricedOwner.token, { price_per_hour: 500, operating_hours: { sat: [['09:00', '10:00']] } });
    const from = nextNairobi(1, 10);
    const to = new Date(from.getTime() + 3_600_000);
    const byPrice = [...created].sort((a, b) => a.price_per_hour - b.price_per_hour).map((space) => space.id);
    const page = async (number: number, sort: string) => {
      const response = await call(app, 'GET', '/api/spaces', {
        query: {
          owner_id: String(pricedOwner.id),
          per_page: '2',
          page: String(number),
          sort,
          available_from: from.toISOString(),
          available_to: to.toISOString(),
        },
      });
      assert.equal(response.status, 200, response.raw);
      assert.equal(response.body.total, 5);
      assert.equal(response.body.pages, 3);
      return (response.body.spaces as Array<{ id: number }>).map((space) => space.id);
    };
    assert.deepEqual([...(await page(1, 'price_asc')), ...(await page(2, 'price_asc')), ...(await page(3, 'price_asc'))], byPrice);
    assert.deepEqual(await page(1, 'price_desc'), [byPrice[4], byPrice[3]]);
    assert.deepEqual(await page(1, 'newest'), [created[4].id, created[3].id]);
    assert.deepEqual(await page(4, 'newest'), []);
  });

  it('agrees with the booking rule around the next spring-forward night in New York', async () => {
    // The next night within the horizon when New York's clocks go from 02:00 EST to 03:00 EDT (07:00 UTC).
    let midnight = DateTime.fromJSDate(clock.now(), { zone: 'America/New_York' }).startOf('day').plus({ days: 2 });
    while (midnight.plus({ days: 1 }).offset <= midnight.offset) midnight = midnight.plus({ days: 1 });
    assert.equal(midnight.weekday, 7, `a Sunday: ${midnight.toISO()}`);
    const base = midnight.toUTC().toMillis(); // 05:00 UTC
    const otherOwner = await createUser(app, { role: 'owner' });
    const schedules: OperatingHours[] = [
      { sun: [['01:00', '03:00']] },
      { sun: [['00:00', '02:30']] },
      { sat: [['22:00', '24:00']], sun: [['00:00', '04:00']] },
      { sun: [['02:30', '06:00']] },
    ];
    const created = [];
    for (const hours of schedules)
      created.push({ hours, space: await createSpace(app, otherOwner.token, { timezone: 'America/New_York', operating_hours: hours }) });
    const hour = 3_600_000;
    const windows: Array<[number, number]> = [
      [1, 2],
      [1, 2.5],
      [0, 1.5],
      [-2, 3],
      [2, 4],
      [2, 5],
    ].map(([from, to]) => [base + from! * hour, base + to! * hour]);
    let open = 0;
    for (const [fromMs, toMs] of windows) {
      const from = new Date(fromMs);
      const to = new Date(toMs);
      const listed = await listedFor(from, to, otherOwner.id);
      for (const { hours, space } of created) {
        const expected = withinOperatingHours(hours, 'America/New_York', from, to);
        if (expected) open += 1;
        assert.equal(listed.includes(space.id), expected, `${JSON.stringify(hours)} for ${from.toISOString()}–${to.toISOString()}`);
      }
    }
    assert.ok(open >= 4 && open <= 20, `both answers occur (${open} open of ${windows.length * created.length})`);
  });
});
