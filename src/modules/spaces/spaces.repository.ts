import { createHash } from 'node:crypto';
import { and, asc, count, eq, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import { queryRows, type Db, type DbOrTx } from '../../db/client.ts';
import { statementCache } from '../../db/prepared.ts';
import type { SqlFragment } from '../../db/fragments.ts';
import { openingPeriods, openingSchedules, spaceCounters, spaceImages, spaces, users, type SpaceImageRow, type SpaceRow } from '../../db/schema/index.ts';
import type { SpaceSort } from './spaces.schemas.ts';
import { boundingBox } from './spaces.rules.ts';

export type NewSpace = typeof spaces.$inferInsert;
export type SpaceChanges = Partial<Omit<NewSpace, 'id' | 'createdAt' | 'search'>>;

const live = isNull(spaces.archivedAt);

/**
 * The Space representation of the API, built by PostgreSQL as JSON text (ADR 0008). Listing
 * reads are the hottest path of the service; answering them straight from the database spares
 * parsing every column into JavaScript values and serializing them back. `SpaceSchema` in
 * spaces.schemas.ts documents this shape, and the tests hold the two together.
 */

/** A listing's images, primary first. */
const imagesJson = sql`(
  select coalesce(json_agg(json_build_object(
    'id', i.id, 'space_id', i.space_id, 'image_url', i.image_url, 'is_primary', i.is_primary,
    'width', i.width, 'height', i.height, 'created_at', iso_utc(i.created_at)
  ) order by i.is_primary desc, i.id), '[]'::json)
  from ${spaceImages} i where i.space_id = ${spaces.id}
)`;

/**
 * One listing as JSON text; the query must join `users` as the owner. `distanceKm`, when given,
 * adds `distance_km` (rounded to metres).
 */
function spaceJson(distanceKm?: SQL): SQL<string> {
  const distance = distanceKm ? sql`, 'distance_km', round((${distanceKm})::numeric, 3)` : sql``;
  return sql<string>`json_build_object(
    'id', ${spaces.id},
    'name', ${spaces.name},
    'description', ${spaces.description},
    'address', ${spaces.address},
    'city', ${spaces.city},
    'latitude', ${spaces.latitude},
    'longitude', ${spaces.longitude},
    'timezone', ${spaces.timezone},
    'price_per_hour', ${spaces.pricePerHour}::float8 / 100,
    'currency', ${spaces.currency},
    'capacity', ${spaces.capacity},
    'amenities', ${spaces.amenities},
    'is_available', ${spaces.isAvailable},
    'status', case when ${spaces.isAvailable} then 'available' else 'unavailable' end,
    'min_booking_hours', ${spaces.minBookingHours},
    'max_booking_hours', ${spaces.maxBookingHours},
    'min_notice_hours', ${spaces.minNoticeHours},
    'buffer_minutes', ${spaces.bufferMinutes},
    'operating_hours', ${spaces.operatingHours},
    'cancellation_policy', ${spaces.cancellationPolicy},
    'owner_id', ${spaces.ownerId},
    'owner', json_build_object('id', ${users.id}, 'name', trim(${users.firstName} || ' ' || ${users.lastName})),
    'images', ${imagesJson},
    'rating', json_build_object('average', round(${spaces.ratingSum}::numeric / nullif(${spaces.ratingCount}, 0), 2)::float8, 'count', ${spaces.ratingCount}),
    'created_at', iso_utc(${spaces.createdAt}),
    'updated_at', iso_utc(${spaces.updatedAt})
    ${distance}
  )::text`;
}

export async function insert(db: DbOrTx, values: NewSpace): Promise<SpaceRow> {
  const [row] = await db.insert(spaces).values(values).returning();
  return row!;
}

function buildFindLive(db: Db) {
  return db
    .select()
    .from(spaces)
    .where(and(eq(spaces.id, sql.placeholder('id')), live))
    .limit(1)
    .prepare('spaces_find_live');
}

function buildFindLiveJson(db: Db) {
  return db
    .select({ json: spaceJson() })
    .from(spaces)
    .innerJoin(users, eq(users.id, spaces.ownerId))
    .where(and(eq(spaces.id, sql.placeholder('id')), live))
    .limit(1)
    .prepare('spaces_find_live_json');
}

const findLiveStatement = statementCache(buildFindLive);
const findLiveJsonStatement = statementCache(buildFindLiveJson);

/** One live (not archived) listing's row. */
export async function findLive(db: Db, id: number): Promise<SpaceRow | undefined> {
  const [row] = await findLiveStatement(db).execute({ id });
  return row;
}

/** One live listing in the API's representation (JSON text); prepared, as it serves every space page. */
export async function findLiveJson(db: Db, id: number): Promise<string | undefined> {
  const [row] = await findLiveJsonStatement(db).execute({ id });
  return row?.json;
}

/** Locks the listing for the rest of the transaction (image counts, archiving). */
export async function lockLive(db: DbOrTx, id: number): Promise<SpaceRow | undefined> {
  const [row] = await db
    .select()
    .from(spaces)
    .where(and(eq(spaces.id, id), live))
    .for('update');
  return row;
}

export async function updateById(db: DbOrTx, id: number, changes: SpaceChanges, now: Date): Promise<SpaceRow | undefined> {
  const [row] = await db
    .update(spaces)
    .set({ ...changes, updatedAt: now })
    .where(and(eq(spaces.id, id), live))
    .returning();
  return row;
}

export async function archiveById(db: DbOrTx, id: number, now: Date): Promise<boolean> {
  const rows = await db
    .update(spaces)
    .set({ archivedAt: now, isAvailable: false, updatedAt: now })
    .where(and(eq(spaces.id, id), live))
    .returning({ id: spaces.id });
  return rows.length > 0;
}

/** Raises the calendar version of a live listing (rotating its feed URL). */
export async function bumpCalendarVersion(db: DbOrTx, id: number): Promise<SpaceRow | undefined> {
  const [row] = await db
    .update(spaces)
    .set({ calendarVersion: sql`${spaces.calendarVersion} + 1` })
    .where(and(eq(spaces.id, id), live))
    .returning();
  return row;
}

/** Unlists every live space of an owner (when the account is deactivated). */
export async function unlistByOwner(db: DbOrTx, ownerId: number, now: Date): Promise<void> {
  await db
    .update(spaces)
    .set({ isAvailable: false, updatedAt: now })
    .where(and(eq(spaces.ownerId, ownerId), live, eq(spaces.isAvailable, true)));
}

export interface SpaceFilters {
  isAvailable?: boolean;
  city?: string;
  q?: string;
  minPrice?: number;
  maxPrice?: number;
  minCapacity?: number;
  amenities?: string[];
  ownerId?: number;
  near?: { lat: number; lng: number; radiusKm: number };
  /** Conditions other modules' repositories lend (the availability window). */
  extra?: SqlFragment[];
}

const p = (name: string) => sql.placeholder(name);

/** Great-circle distance in km (haversine) from the `lat`/`lng` placeholders to the listing. */
const distance = sql<number>`(2 * 6371 * asin(sqrt(
  power(sin(radians(${spaces.latitude} - ${p('lat')}::float8) / 2), 2) +
  cos(radians(${p('lat')}::float8)) * cos(radians(${spaces.latitude})) * power(sin(radians(${spaces.longitude} - ${p('lng')}::float8) / 2), 2)
)))`;

const searchQuery = sql`websearch_to_tsquery('english', ${p('q')}::text)`;

/**
 * The spaces list's `available_from` + `available_to`, the spaces' half: listings open for that
 * whole window by their opening hours. Each schedule's open periods are prepared (migration
 * 0012), so one GiST probe names the schedules that contain the window; a schedule whose periods
 * do not reach the window yet is judged by space_open_during(), once per schedule.
 */
export function openDuring(window: { from: Date; to: Date }): SqlFragment {
  const from = p('openFrom');
  const to = p('openTo');
  return {
    key: 'open',
    values: { openFrom: window.from.toISOString(), openTo: window.to.toISOString() },
    sql: sql`(${spaces.scheduleId} is null or ${spaces.scheduleId} in (
      select ${openingPeriods.scheduleId} from ${openingPeriods}
      where ${openingPeriods.period} @> tstzrange(${from}::timestamptz, ${to}::timestamptz, '[)')
      union all
      select ${openingSchedules.id} from ${openingSchedules}
      where not (${openingSchedules.periodsFrom} <= ${from}::timestamptz and ${openingSchedules.periodsUntil} >= ${to}::timestamptz)
        and space_open_during(${openingSchedules.hours}, ${openingSchedules.timezone}, ${from}::timestamptz, ${to}::timestamptz)
    ))`,
  };
}

/** Extends the prepared opening periods of schedules that run out within the horizon, and drops unused ones. */
export async function refreshOpeningPeriods(db: DbOrTx, now: Date, batch: number): Promise<number> {
  const [row] = await queryRows<{ refreshed: number }>(
    db,
    sql`select opening_schedules_refresh(${now.toISOString()}::timestamptz, ${batch}::int) as refreshed`,
  );
  return row?.refreshed ?? 0;
}

/**
 * The statement's shape (which filters, which order) and the values for its placeholders. Lists
 * of the same shape share one prepared statement, so PostgreSQL plans each shape once per
 * connection instead of once per request.
 */
function shapeOf(filters: SpaceFilters, sort: SpaceSort) {
  const conditions: SQL[] = [live];
  const values: Record<string, unknown> = {};
  const keys: string[] = [sort];
  const add = (key: string, condition: SQL, given: Record<string, unknown>) => {
    keys.push(key);
    conditions.push(condition);
    Object.assign(values, given);
  };
  if (filters.isAvailable !== undefined) add('available', eq(spaces.isAvailable, p('isAvailable')), { isAvailable: filters.isAvailable });
  if (filters.city) add('city', sql`lower(${spaces.city}) = ${p('city')}::text`, { city: filters.city.trim().toLowerCase() });
  if (filters.q) add('q', sql`${spaces.search} @@ ${searchQuery}`, { q: filters.q });
  if (filters.minPrice !== undefined) add('minPrice', sql`${spaces.pricePerHour} >= ${p('minPrice')}::bigint`, { minPrice: filters.minPrice });
  if (filters.maxPrice !== undefined) add('maxPrice', sql`${spaces.pricePerHour} <= ${p('maxPrice')}::bigint`, { maxPrice: filters.maxPrice });
  if (filters.minCapacity !== undefined) add('minCapacity', sql`${spaces.capacity} >= ${p('minCapacity')}::int`, { minCapacity: filters.minCapacity });
  if (filters.amenities && filters.amenities.length > 0)
    add('amenities', sql`${spaces.amenities} @> ${p('amenities')}::text[]`, { amenities: filters.amenities });
  if (filters.ownerId !== undefined) add('owner', eq(spaces.ownerId, p('ownerId')), { ownerId: filters.ownerId });
  if (filters.near) {
    // The box narrows the search with the location index; the exact distance decides.
    const box = boundingBox(filters.near, filters.near.radiusKm);
    const centre = { lat: filters.near.lat, lng: filters.near.lng, radiusKm: filters.near.radiusKm, minLat: box.minLat, maxLat: box.maxLat };
    // Near a pole or the 180th meridian the longitude range wraps; there the latitude band alone narrows.
    if (box.minLng === undefined) {
      add('near-band', sql`${spaces.latitude} between ${p('minLat')}::float8 and ${p('maxLat')}::float8 and ${distance} <= ${p('radiusKm')}::float8`, centre);
    } else {
      add(
        'near',
        sql`${spaces.latitude} between ${p('minLat')}::float8 and ${p('maxLat')}::float8
          and ${spaces.longitude} between ${p('minLng')}::float8 and ${p('maxLng')}::float8
          and ${distance} <= ${p('radiusKm')}::float8`,
        { ...centre, minLng: box.minLng, maxLng: box.maxLng },
      );
    }
  }
  for (const extra of filters.extra ?? []) add(extra.key, extra.sql, extra.values);
  return { key: keys.join('|'), where: and(...conditions)!, values };
}

/** A sort's keys, each with its direction, so one statement can order by them twice (see buildList). */
type SortKey = readonly [expression: SQL, direction: 'asc' | 'desc' | 'desc nulls last'];

function sortKeys(sort: SpaceSort): SortKey[] {
  switch (sort) {
    case 'price_asc':
      return [
        [sql`${spaces.pricePerHour}`, 'asc'],
        [sql`${spaces.id}`, 'asc'],
      ];
    case 'price_desc':
      return [
        [sql`${spaces.pricePerHour}`, 'desc'],
        [sql`${spaces.id}`, 'desc'],
      ];
    case 'rating':
      return [
        [sql`(${spaces.ratingSum}::numeric / nullif(${spaces.ratingCount}, 0))`, 'desc nulls last'],
        [sql`${spaces.ratingCount}`, 'desc'],
        [sql`${spaces.id}`, 'asc'],
      ];
    case 'relevance':
      return [
        [sql`ts_rank(${spaces.search}, ${searchQuery})`, 'desc'],
        [sql`${spaces.id}`, 'asc'],
      ];
    case 'distance':
      return [
        [distance, 'asc'],
        [sql`${spaces.id}`, 'asc'],
      ];
    case 'newest':
      return [
        [sql`${spaces.createdAt}`, 'desc'],
        [sql`${spaces.id}`, 'desc'],
      ];
  }
}

const orderBy = (sort: SpaceSort): SQL[] => sortKeys(sort).map(([expression, direction]) => sql`${expression} ${sql.raw(direction)}`);

/** Which number the total is: counted rows, or one of the trigger-kept counters. */
type TotalSource = 'rows' | 'live' | 'available' | 'unavailable';

function totalSource(filters: SpaceFilters): TotalSource {
  const { isAvailable, ...others } = filters;
  const filtered = Object.values(others).some((value) => value !== undefined);
  if (filtered) return 'rows';
  return isAvailable === undefined ? 'live' : isAvailable ? 'available' : 'unavailable';
}

const counterValue: Record<Exclude<TotalSource, 'rows'>, SQL<number>> = {
  live: sql<number>`${spaceCounters.live}`,
  available: sql<number>`${spaceCounters.available}`,
  unavailable: sql<number>`${spaceCounters.live} - ${spaceCounters.available}`,
};

function buildList(db: Db, name: string, where: SQL, sort: SpaceSort, withDistance: boolean, source: TotalSource) {
  const json = spaceJson(withDistance ? distance : undefined);
  // One statement per page, so the page and its total come from one snapshot and one round trip.
  // A counted total is a scalar subquery beside the page; the page's ids are chosen first from
  // spaces alone (for the availability window, an index-only scan), and only those rows are read
  // and built into JSON. Measured on the window search through pgbench: 2.2× the rate of two
  // statements when every listing conflicts, the same when most are free; a window count over the
  // chosen ids (`count(*) over ()`) or a materialized CTE were slower (bench/README.md).
  // The page's JSON texts are joined by PostgreSQL, in the list's order: one row and one string
  // reach the process, not a row per listing joined again in JavaScript. The sort keys are output
  // columns of the page's rows, which the aggregate joins by (and, without chosen ids, which the
  // page is ordered and cut by).
  const keys = sortKeys(sort);
  const keyColumns = Object.fromEntries(keys.map(([expression], index) => [`k${index}`, sql`${expression}`.as(`k${index}`)]));
  const byKeys = (table?: string) =>
    sql.join(
      keys.map(([, direction], index) => sql`${table ? sql`${sql.identifier(table)}.` : sql``}${sql.identifier(`k${index}`)} ${sql.raw(direction)}`),
      sql`, `,
    );
  const pageRows = (total: SQL<number>) =>
    db
      .select({ json: json.as('json'), total: total.as('total'), ...keyColumns })
      .from(spaces)
      .innerJoin(users, eq(users.id, spaces.ownerId));
  let rows;
  if (source === 'rows') {
    const chosen = db
      .select({ id: spaces.id })
      .from(spaces)
      .where(where)
      .orderBy(...orderBy(sort))
      .limit(p('limit'))
      .offset(p('offset'));
    rows = pageRows(sql<number>`(select count(*) from ${spaces} where ${where})`)
      .where(inArray(spaces.id, chosen))
      .as('page');
  } else {
    // Unfiltered (or filtered by availability only), the counters answer without counting rows.
    rows = pageRows(sql<number>`(select ${counterValue[source]} from ${spaceCounters})`)
      .where(where)
      .orderBy(byKeys())
      .limit(p('limit'))
      .offset(p('offset'))
      .as('page');
  }
  const page = db
    .select({
      items: sql<string>`coalesce(string_agg(${rows.json}, ',' order by ${byKeys('page')}), '')`,
      total: sql<string | null>`max(${rows.total})`,
    })
    .from(rows)
    .prepare(`${name}_page`);
  // Only for a page past the end, which has no rows to carry the total.
  const total =
    source === 'rows'
      ? db.select({ value: count() }).from(spaces).where(where).prepare(`${name}_count`)
      : db.select({ value: counterValue[source] }).from(spaceCounters).prepare(`${name}_total`);
  return { page, total };
}

const listStatements = new WeakMap<Db, Map<string, ReturnType<typeof buildList>>>();

/** One page of listings as JSON texts joined by commas (the items of an array) and the total: one statement, whatever the page size. */
export async function findManyJson(db: Db, filters: SpaceFilters, sort: SpaceSort, page: { limit: number; offset: number }) {
  const shape = shapeOf(filters, sort);
  const source = totalSource(filters);
  // Available and unavailable lists share a statement shape but not a total.
  const key = `${shape.key}|${source}`;
  let cache = listStatements.get(db);
  if (!cache) listStatements.set(db, (cache = new Map<string, ReturnType<typeof buildList>>()));
  let statements = cache.get(key);
  if (!statements) {
    const name = `spaces_list_${createHash('sha1').update(key).digest('hex').slice(0, 16)}`;
    statements = buildList(db, name, shape.where, sort, filters.near !== undefined, source);
    cache.set(key, statements);
  }
  const [found] = await statements.page.execute({ ...shape.values, limit: page.limit, offset: page.offset });
  if (found && found.items !== '') return { items: found.items, total: Number(found.total) };
  if (page.offset === 0) return { items: '', total: 0 };
  const [total] = await statements.total.execute(shape.values);
  return { items: '', total: Number(total?.value ?? 0) };
}

export async function countImages(db: DbOrTx, spaceId: number): Promise<number> {
  const [row] = await db.select({ value: count() }).from(spaceImages).where(eq(spaceImages.spaceId, spaceId));
  return row?.value ?? 0;
}

export async function hasPrimaryImage(db: DbOrTx, spaceId: number): Promise<boolean> {
  const [row] = await db
    .select({ id: spaceImages.id })
    .from(spaceImages)
    .where(and(eq(spaceImages.spaceId, spaceId), eq(spaceImages.isPrimary, true)))
    .limit(1);
  return row !== undefined;
}

export async function insertImages(db: DbOrTx, images: Array<typeof spaceImages.$inferInsert>): Promise<SpaceImageRow[]> {
  if (images.length === 0) return [];
  return db.insert(spaceImages).values(images).returning();
}

export async function findImage(db: DbOrTx, spaceId: number, imageId: number): Promise<SpaceImageRow | undefined> {
  const [row] = await db
    .select()
    .from(spaceImages)
    .where(and(eq(spaceImages.id, imageId), eq(spaceImages.spaceId, spaceId)));
  return row;
}

/** Makes one image the primary: the old one is cleared first, as the unique index demands. */
export async function makePrimary(db: DbOrTx, spaceId: number, imageId: number): Promise<SpaceImageRow | undefined> {
  await db
    .update(spaceImages)
    .set({ isPrimary: false })
    .where(and(eq(spaceImages.spaceId, spaceId), eq(spaceImages.isPrimary, true)));
  const [row] = await db
    .update(spaceImages)
    .set({ isPrimary: true })
    .where(and(eq(spaceImages.id, imageId), eq(spaceImages.spaceId, spaceId)))
    .returning();
  return row;
}

export async function deleteImage(db: DbOrTx, spaceId: number, imageId: number): Promise<SpaceImageRow | undefined> {
  const [row] = await db
    .delete(spaceImages)
    .where(and(eq(spaceImages.id, imageId), eq(spaceImages.spaceId, spaceId)))
    .returning();
  return row;
}

/** The oldest remaining image, promoted when the primary goes. */
export async function oldestImage(db: DbOrTx, spaceId: number): Promise<SpaceImageRow | undefined> {
  const [row] = await db.select().from(spaceImages).where(eq(spaceImages.spaceId, spaceId)).orderBy(asc(spaceImages.id)).limit(1);
  return row;
}

export async function countByAvailability(db: DbOrTx, ownerId: number | undefined) {
  const conditions = [live];
  if (ownerId !== undefined) conditions.push(eq(spaces.ownerId, ownerId));
  const [row] = await db
    .select({
      total: count(),
      available: sql<number>`count(*) filter (where ${spaces.isAvailable})::int`,
    })
    .from(spaces)
    .where(and(...conditions));
  return { total: row?.total ?? 0, available: row?.available ?? 0 };
}

/** Live and available listings platform-wide, from the trigger-kept counter row (ADR 0007), as one JSON object. */
export const catalogueCountsJson = sql`(select json_build_object('total', ${spaceCounters.live}, 'available', ${spaceCounters.available}) from ${spaceCounters} limit 1)`;
