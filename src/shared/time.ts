/**
 * The one reader of request times. ISO 8601 with seconds optional and a Z or ±HH:MM offset (a
 * bare local time is ambiguous); the date must exist (`Date.parse` rolls 2027-02-29 over to
 * 1 March) and the instant, once the offset is applied, must lie in years 1–9999, which every
 * layer (JavaScript's ISO strings, PostgreSQL's input) reads the same way.
 */
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|([+-])(\d{2}):(\d{2}))$/i;

/** Date.UTC reads years 0–99 as 1900–1999, so early years are set with setUTCFullYear. */
function utc(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime();
}

const MIN_MS = utc(1, 1, 1);
const MAX_MS = utc(9999, 12, 31, 23, 59, 59, 999);

const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const daysIn = (year: number, month: number) => [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;

export function parseInstant(text: string): Date | undefined {
  const match = ISO_INSTANT.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s = '0', fraction = '', zone, sign, oh = '0', om = '0'] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const offsetHours = Number(oh);
  const offsetMinutes = Number(om);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (zone!.toUpperCase() !== 'Z' && (offsetHours > 23 || offsetMinutes > 59)) return undefined;
  const local = utc(year, month, day, hour, minute, second, Math.floor(Number(`0${fraction || '.0'}`) * 1000));
  const offsetMs = (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  const instant = local - (zone!.toUpperCase() === 'Z' ? 0 : offsetMs);
  if (instant < MIN_MS || instant > MAX_MS) return undefined;
  return new Date(instant);
}
