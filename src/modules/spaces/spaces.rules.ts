import { WEEKDAYS, type OperatingHours } from '../../db/schema/index.ts';

/** Pure rules about listings: time zones, opening hours, search input. No I/O. */

/** The canonical IANA name of a time zone, or undefined if the runtime does not know it. */
export function canonicalTimeZone(name: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(name)) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * Checks opening hours beyond their shape: each range starts before it ends and ranges of one
 * day do not overlap. Returns the problem, or the hours with each day's ranges sorted.
 */
export function normalizeOperatingHours(hours: OperatingHours): { problem: string } | { hours: OperatingHours } {
  const normalized: OperatingHours = {};
  for (const day of WEEKDAYS) {
    const ranges = hours[day];
    if (ranges === undefined) continue;
    const sorted = [...ranges].sort((a, b) => minutesOf(a[0]) - minutesOf(b[0]));
    for (const [index, [start, end]] of sorted.entries()) {
      if (minutesOf(start) >= minutesOf(end)) return { problem: `${day}: ${start}–${end} must start before it ends` };
      const previous = sorted[index - 1];
      if (previous && minutesOf(previous[1]) > minutesOf(start)) return { problem: `${day}: ${previous[0]}–${previous[1]} overlaps ${start}–${end}` };
    }
    normalized[day] = sorted.map(([start, end]) => [start, end] as [string, string]);
  }
  return { hours: normalized };
}

/** Amenities compare case-insensitively; stored trimmed, lower-case, once each. */
export const normalizeAmenities = (amenities: string[]) => [...new Set(amenities.map((amenity) => amenity.trim().toLowerCase()).filter(Boolean))];

export const parseAmenityList = (list: string) => normalizeAmenities(list.split(','));

export function parseNear(near: string): { lat: number; lng: number } | undefined {
  const [lat, lng] = near.split(',').map((part) => Number(part.trim()));
  if (lat === undefined || lng === undefined || !Number.isFinite(lat) || !Number.isFinite(lng)) return undefined;
  if (Math.abs(lat) > 90 || Math.abs(lng) > 180) return undefined;
  return { lat, lng };
}

const KM_PER_DEGREE = 111.045;

/**
 * A box that contains every point within `radiusKm` of the centre, used to narrow before the
 * exact distance. The longitude range is left out (undefined) where it would wrap: across the
 * 180th meridian, or when the circle reaches a pole.
 */
export function boundingBox(centre: { lat: number; lng: number }, radiusKm: number): { minLat: number; maxLat: number; minLng?: number; maxLng?: number } {
  const dLat = radiusKm / KM_PER_DEGREE;
  const minLat = centre.lat - dLat;
  const maxLat = centre.lat + dLat;
  if (minLat <= -90 || maxLat >= 90) return { minLat, maxLat };
  // The widest longitude span of the circle is at the latitude of the box's edge nearer the pole.
  const cos = Math.cos((Math.max(Math.abs(minLat), Math.abs(maxLat)) * Math.PI) / 180);
  const dLng = radiusKm / (KM_PER_DEGREE * cos);
  if (centre.lng - dLng < -180 || centre.lng + dLng > 180) return { minLat, maxLat };
  return { minLat, maxLat, minLng: centre.lng - dLng, maxLng: centre.lng + dLng };
}

const NUMBER_FIELDS = [
  'price_per_hour',
  'capacity',
  'latitude',
  'longitude',
  'min_booking_hours',
  'max_booking_hours',
  'min_notice_hours',
  'buffer_minutes',
  'owner_id',
];
const BOOLEAN_FIELDS = ['is_available'];
const JSON_FIELDS = ['operating_hours'];

/**
 * Multipart forms carry only text. Turn the fields into what the JSON body would have held, so
 * one schema validates both; a value that cannot be read is left as text for the schema to refuse.
 */
export function fromFormFields(fields: Record<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(fields)) {
    const value = raw.trim();
    if (NUMBER_FIELDS.includes(key)) {
      body[key] = value === '' || value === 'null' ? null : Number.isFinite(Number(value)) ? Number(value) : raw;
    } else if (BOOLEAN_FIELDS.includes(key)) {
      body[key] = value === 'true' ? true : value === 'false' ? false : raw;
    } else if (JSON_FIELDS.includes(key)) {
      try {
        body[key] = JSON.parse(value);
      } catch {
        body[key] = raw;
      }
    } else if (key === 'amenities') {
      if (value.startsWith('[')) {
        try {
          body[key] = JSON.parse(value);
        } catch {
          body[key] = raw;
        }
      } else {
        body[key] = value === '' ? [] : value.split(',').map((item) => item.trim());
      }
    } else {
      body[key] = raw;
    }
  }
  return body;
}
