import { Type, type Static, type TInteger } from 'typebox';
import { BOOKING_STATUSES, CANCELLATION_POLICIES, type BookingStatus } from '../../db/schema/index.ts';
import { DateTime, Id, LiteralUnion, lenientLiteral, Nullable, PageQuery } from '../../shared/schemas.ts';
import { RevenueSchema } from '../../shared/revenue.ts';

const HourRange = Type.Tuple(
  [Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }), Type.String({ pattern: '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$' })],
  {
    description: '["HH:MM", "HH:MM"] local time; the end may be "24:00"',
  },
);
const DayHours = Type.Array(HourRange, { maxItems: 12 });

export const OperatingHoursSchema = Type.Object(
  {
    mon: Type.Optional(DayHours),
    tue: Type.Optional(DayHours),
    wed: Type.Optional(DayHours),
    thu: Type.Optional(DayHours),
    fri: Type.Optional(DayHours),
    sat: Type.Optional(DayHours),
    sun: Type.Optional(DayHours),
  },
  { additionalProperties: false, description: "Opening ranges per weekday in the space's time zone; a missing day is closed. null means always open." },
);

export const CancellationPolicySchema = LiteralUnion(CANCELLATION_POLICIES);
/** Derived from is_available, so no column holds it. */
const SPACE_STATUSES = ['available', 'unavailable'] as const;
const SpaceStatusSchema = LiteralUnion(SPACE_STATUSES);
/** The filter takes the original backend's upper-case spelling too (`status=AVAILABLE`). */
export const SpaceStatusFilter = lenientLiteral(SPACE_STATUSES, { description: 'available or unavailable, in any letter case' });

const Money = Type.Number({ exclusiveMinimum: 0, maximum: 100_000_000, description: 'Major units with at most 2 decimals' });

/** Every field a client may set; required ones are picked out for creation. */
const spaceFields = {
  name: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' }),
  description: Type.String({ minLength: 1, maxLength: 5000, pattern: '\\S' }),
  address: Type.String({ minLength: 1, maxLength: 300, pattern: '\\S' }),
  city: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
  price_per_hour: Money,
  capacity: Type.Integer({ minimum: 1, maximum: 100_000 }),
  amenities: Type.Array(Type.String({ minLength: 1, maxLength: 50, pattern: '\\S' }), { maxItems: 50 }),
  latitude: Nullable(Type.Number({ minimum: -90, maximum: 90 })),
  longitude: Nullable(Type.Number({ minimum: -180, maximum: 180 })),
  timezone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. Africa/Nairobi' }),
  is_available: Type.Boolean(),
  status: SpaceStatusSchema,
  min_booking_hours: Type.Integer({ minimum: 1, maximum: 720 }),
  max_booking_hours: Type.Integer({ minimum: 1, maximum: 720 }),
  min_notice_hours: Type.Integer({ minimum: 0, maximum: 8760 }),
  buffer_minutes: Type.Integer({ minimum: 0, maximum: 1440 }),
  operating_hours: Nullable(OperatingHoursSchema),
  cancellation_policy: CancellationPolicySchema,
  currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code' }),
  owner_id: Id,
};

const optional = <T extends Record<string, Parameters<typeof Type.Optional>[0]>>(fields: T) =>
  Object.fromEntries(Object.entries(fields).map(([key, schema]) => [key, Type.Optional(schema)])) as { [K in keyof T]: ReturnType<typeof Type.Optional<T[K]>> };

const { name, description, address, city, price_per_hour, capacity, ...optionalFields } = spaceFields;

export const CreateSpaceBody = Type.Object({ name, description, address, city, price_per_hour, capacity, ...optional(optionalFields) });
export type CreateSpaceBody = Static<typeof CreateSpaceBody>;

export const UpdateSpaceBody = Type.Object(optional(spaceFields));
export type UpdateSpaceBody = Static<typeof UpdateSpaceBody>;

/** The multipart variant, for the OpenAPI document: fields as text, images as files. */
export const CreateSpaceMultipart = Type.Object({
  ...Object.fromEntries(
    Object.keys(spaceFields).map((key) => [key, Type.Optional(Type.String({ description: 'as in the JSON body; lists and objects as JSON text' }))]),
  ),
  images: Type.Optional(Type.Array(Type.String({ format: 'binary' }), { maxItems: 10 })),
});

export const ImagesMultipart = Type.Object({
  images: Type.Optional(Type.Array(Type.String({ format: 'binary' }), { maxItems: 10 })),
  image: Type.Optional(Type.String({ format: 'binary' })),
});

export const ImageSchema = Type.Object(
  {
    id: Type.Integer(),
    space_id: Type.Integer(),
    image_url: Type.String(),
    is_primary: Type.Boolean(),
    width: Type.Integer(),
    height: Type.Integer(),
    created_at: DateTime,
  },
  { $id: 'Image', title: 'Image' },
);
export type ImageResponse = Static<typeof ImageSchema>;

export const SpaceSchema = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    description: Type.String(),
    address: Type.String(),
    city: Type.String(),
    latitude: Nullable(Type.Number()),
    longitude: Nullable(Type.Number()),
    timezone: Type.String(),
    price_per_hour: Type.Number(),
    currency: Type.String(),
    capacity: Type.Integer(),
    amenities: Type.Array(Type.String()),
    is_available: Type.Boolean(),
    status: SpaceStatusSchema,
    min_booking_hours: Type.Integer(),
    max_booking_hours: Type.Integer(),
    min_notice_hours: Type.Integer(),
    buffer_minutes: Type.Integer(),
    operating_hours: Nullable(OperatingHoursSchema),
    cancellation_policy: CancellationPolicySchema,
    owner_id: Type.Integer(),
    owner: Type.Object({ id: Type.Integer(), name: Type.String() }),
    images: Type.Array(Type.Ref('Image')),
    rating: Type.Object({ average: Nullable(Type.Number()), count: Type.Integer() }),
    distance_km: Type.Optional(Type.Number({ description: 'Only with `near`' })),
    created_at: DateTime,
    updated_at: DateTime,
  },
  { $id: 'Space', title: 'Space' },
);

export const SORTS = ['newest', 'price_asc', 'price_desc', 'rating', 'relevance', 'distance'] as const;
export type SpaceSort = (typeof SORTS)[number];

export const SpaceListQuery = Type.Object({
  ...PageQuery.properties,
  status: Type.Optional(SpaceStatusFilter.schema),
  city: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Full-text search over name, description, address and city' })),
  min_price: Type.Optional(Type.Number({ minimum: 0 })),
  max_price: Type.Optional(Type.Number({ minimum: 0 })),
  min_capacity: Type.Optional(Type.Integer({ minimum: 1 })),
  amenities: Type.Optional(Type.String({ maxLength: 1000, description: 'Comma list; every one must match' })),
  owner_id: Type.Optional(Id),
  available_from: Type.Optional(Type.String({ format: 'date-time', description: 'With available_to: only spaces bookable for that whole window' })),
  available_to: Type.Optional(Type.String({ format: 'date-time' })),
  near: Type.Optional(Type.String({ pattern: '^\\s*-?\\d+(\\.\\d+)?\\s*,\\s*-?\\d+(\\.\\d+)?\\s*$', description: '"lat,lng"' })),
  radius_km: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1000, description: 'With near; default 10' })),
  sort: Type.Optional(LiteralUnion(SORTS, { default: 'newest' })),
});
export type SpaceListQuery = Static<typeof SpaceListQuery>;

export const SetPrimaryBody = Type.Object({ is_primary: Type.Boolean() });
export const ImageParams = Type.Object({ id: Id, image_id: Id });
export const ForceQuery = Type.Object({ force: Type.Optional(Type.Boolean({ default: false })) });

const BookingCountsSchema = Type.Object(Object.fromEntries(BOOKING_STATUSES.map((status) => [status, Type.Integer()])) as Record<BookingStatus, TInteger>);

export const SpaceStatsSchema = Type.Object({
  total: Type.Integer(),
  available: Type.Integer(),
  unavailable: Type.Integer(),
  bookings_by_status: BookingCountsSchema,
  revenue: RevenueSchema,
});
export type SpaceStats = Static<typeof SpaceStatsSchema>;
