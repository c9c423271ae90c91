import { sql, type SQL } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  boolean,
  check,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  smallint,
  text,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { createdAt, timestamptz, updatedAt } from './columns.ts';
import { users } from './users.ts';
import { isOneOf } from './value-lists.ts';

export const CANCELLATION_POLICIES = ['flexible', 'moderate', 'strict'] as const;
export type CancellationPolicy = (typeof CANCELLATION_POLICIES)[number];

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
/** Local opening ranges per weekday, e.g. `{ mon: [["08:00", "18:00"]] }`; a missing day is closed. */
export type OperatingHours = Partial<Record<Weekday, Array<[string, string]>>>;

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

/** Ranked full-text search over the listing's words: name first, then city, address, description. */
const searchDocument = (columns: Record<'name' | 'city' | 'address' | 'description', AnyPgColumn>): SQL =>
  sql`setweight(to_tsvector('english', coalesce(${columns.name}, '')), 'A') ||
      setweight(to_tsvector('english', coalesce(${columns.city}, '')), 'B') ||
      setweight(to_tsvector('english', coalesce(${columns.address}, '')), 'C') ||
      setweight(to_tsvector('english', coalesce(${columns.description}, '')), 'D')`;

export const spaces = pgTable(
  'spaces',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    ownerId: integer('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    name: text('name').notNull(),
    description: text('description').notNull(),
    address: text('address').notNull(),
    city: text('city').notNull(),
    latitude: doublePrecision('latitude'),
    longitude: doublePrecision('longitude'),
    timezone: text('timezone').notNull().default('Africa/Nairobi'),
    /** Minor units of `currency` (cents); never floating point. */
    pricePerHour: bigint('price_per_hour', { mode: 'number' }).notNull(),
    currency: text('currency').notNull().default('KES'),
    capacity: integer('capacity').notNull(),
    amenities: text('amenities')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    isAvailable: boolean('is_available').notNull().default(true),
    minBookingHours: integer('min_booking_hours').notNull().default(1),
    maxBookingHours: integer('max_booking_hours').notNull().default(24),
    minNoticeHours: integer('min_notice_hours').notNull().default(0),
    bufferMinutes: integer('buffer_minutes').notNull().default(0),
    operatingHours: jsonb('operating_hours').$type<OperatingHours | null>(),
    /** The shared schedule of these hours in this time zone (set by a trigger); null when always open. */
    scheduleId: integer('schedule_id').references((): AnyPgColumn => openingSchedules.id),
    cancellationPolicy: text('cancellation_policy').$type<CancellationPolicy>().notNull().default('flexible'),
    /** Kept up to date by reviews; the average is sum / count. */
    ratingCount: integer('rating_count').notNull().default(0),
    ratingSum: integer('rating_sum').notNull().default(0),
    /** Part of the secret calendar URL; raising it (rotate) invalidates every earlier URL. */
    calendarVersion: integer('calendar_version').notNull().default(1),
    search: tsvector('search').generatedAlwaysAs((): SQL =>
      searchDocument({ name: spaces.name, city: spaces.city, address: spaces.address, description: spaces.description }),
    ),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    /** Archived spaces keep their history but never appear in lists or lookups. */
    archivedAt: timestamptz('archived_at'),
  },
  (t) => [
    check('spaces_price_positive', sql`${t.pricePerHour} > 0`),
    check('spaces_capacity_positive', sql`${t.capacity} >= 1`),
    check('spaces_booking_hours', sql`${t.minBookingHours} >= 1 and ${t.maxBookingHours} >= ${t.minBookingHours}`),
    check('spaces_notice_buffer', sql`${t.minNoticeHours} >= 0 and ${t.bufferMinutes} >= 0`),
    check('spaces_cancellation_policy', isOneOf(t.cancellationPolicy, CANCELLATION_POLICIES)),
    check('spaces_currency', sql`${t.currency} ~ '^[A-Z]{3}$'`),
    check('spaces_schedule', sql`(${t.operatingHours} is null) = (${t.scheduleId} is null)`),
    index('spaces_search_idx').using('gin', t.search),
    index('spaces_amenities_idx').using('gin', t.amenities),
    index('spaces_live_created_idx')
      .on(t.createdAt, t.id)
      .where(sql`${t.archivedAt} is null`),
    index('spaces_live_price_idx')
      .on(t.pricePerHour, t.id)
      .where(sql`${t.archivedAt} is null`),
    index('spaces_live_city_idx')
      .on(sql`lower(${t.city})`, t.createdAt, t.id)
      .where(sql`${t.archivedAt} is null`),
    index('spaces_owner_idx').on(t.ownerId, t.createdAt),
    index('spaces_live_capacity_idx')
      .on(t.capacity)
      .where(sql`${t.archivedAt} is null`),
    index('spaces_live_location_idx')
      .on(t.latitude, t.longitude)
      .where(sql`${t.archivedAt} is null and ${t.latitude} is not null`),
    // The available-window search reads only the columns this index holds (it INCLUDEs the
    // booking rules' columns and schedule_id, migration 0012), so it scans the index alone.
    index('spaces_bookable_idx')
      .on(t.createdAt, t.id)
      .where(sql`${t.archivedAt} is null and ${t.isAvailable}`),
    index('spaces_buffer_idx').on(t.bufferMinutes),
    index('spaces_live_rating_idx')
      .on(sql`(${t.ratingSum}::numeric / nullif(${t.ratingCount}, 0)) desc nulls last`, t.id)
      .where(sql`${t.archivedAt} is null`),
  ],
);

export type SpaceRow = typeof spaces.$inferSelect;

const tstzrange = customType<{ data: string }>({ dataType: () => 'tstzrange' });

/**
 * Opening hours prepared for the available-window search (migration 0012): one row per distinct
 * (time zone, hours), shared by every space with that schedule, and its open periods as instants
 * over the booking horizon. `periods_from`/`periods_until` bound where the periods are exact.
 * Written only by the trigger on spaces and opening_schedule_refresh(); read-only for the code.
 */
export const openingSchedules = pgTable(
  'opening_schedules',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    timezone: text('timezone').notNull(),
    hours: jsonb('hours').$type<OperatingHours>().notNull(),
    /** sha256 of the hours' canonical text: the key, since the JSON itself may be too long for a btree entry. */
    hoursKey: text('hours_key').notNull(),
    periodsFrom: timestamptz('periods_from').notNull(),
    periodsUntil: timestamptz('periods_until').notNull(),
  },
  (t) => [uniqueIndex('opening_schedules_key').on(t.timezone, t.hoursKey), index('opening_schedules_until_idx').on(t.periodsUntil)],
);

export const openingPeriods = pgTable(
  'opening_periods',
  {
    scheduleId: integer('schedule_id')
      .notNull()
      .references(() => openingSchedules.id, { onDelete: 'cascade' }),
    period: tstzrange('period').notNull(),
  },
  (t) => [index('opening_periods_period_idx').using('gist', t.period), index('opening_periods_schedule_idx').on(t.scheduleId)],
);

export const spaceImages = pgTable(
  'space_images',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    spaceId: integer('space_id')
      .notNull()
      .references(() => spaces.id, { onDelete: 'cascade' }),
    imageUrl: text('image_url').notNull(),
    /** Where the bytes live: a path under the uploads folder, or a Cloudinary public_id. */
    storageKey: text('storage_key').notNull(),
    storage: text('storage').$type<'local' | 'cloudinary'>().notNull(),
    isPrimary: boolean('is_primary').notNull().default(false),
    width: integer('width').notNull(),
    height: integer('height').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('space_images_space_idx').on(t.spaceId, t.id),
    // Exactly one primary per space is kept by the service; the index makes two impossible.
    uniqueIndex('space_images_one_primary_idx')
      .on(t.spaceId)
      .where(sql`${t.isPrimary}`),
  ],
);

export type SpaceImageRow = typeof spaceImages.$inferSelect;

/** Maintained by triggers (migration 0002); read-only for the application. */
export const spaceCounters = pgTable('space_counters', {
  id: smallint('id').primaryKey(),
  live: integer('live').notNull(),
  available: integer('available').notNull(),
});
