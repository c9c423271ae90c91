/**
 * The limits for `POST /api/bookings` next to the API: the statements of one recorded booking
 * replayed through the bare Node.js server and through pgbench. A replay of a write must not
 * repeat it (the exclusion constraint would refuse the second booking of a slot, and a refused
 * statement is cheaper than an insert), so each replayed request books a slot of its own: the
 * listing, the times and the booking id (which the API takes from the sequence in the statement
 * that reads the listing) change per request, everything else is sent as recorded.
 */
import pg from 'pg';
import { sqlRows } from './harness.ts';
import type { RecordedCall } from './pgbench.ts';

/** A statement's parameter, or a column of the first row a statement read: [statement, index]. */
export type Position = [number, number];

/** The recorded booking: which listing and times it took, and the id the API gave it. */
export interface RecordedBooking {
  spaceId: number;
  start: Date;
  bookingId: number;
}

/** Where a recorded creation holds what changes from one request to the next. */
export interface CreationPositions {
  /** The row the request writes for: the listing booked (a booking), the booking paid (a payment). */
  rowAt: Position[];
  /** The booking's start, end and blocked_until (the end plus the listing's buffer). */
  timesAt: Position[];
  /** The booking id, taken from the `nextval` column of the statement that reads the listing. */
  readAt: { at: Position; from: Position }[];
}

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/**
 * What the bare server changes per request: request n (counted from `first`) writes for row
 * `rowIds[n % rowIds.length]` (books that listing, pays that booking) at the recorded times moved
 * by whole rounds over the rows (`stepMs` each, counted from the recorded request, number
 * `recorded`), with the ids earlier statements answered (`readAt`), as the API does.
 */
export interface Variation extends CreationPositions {
  first: number;
  recorded: number;
  rowIds: number[];
  stepMs: number;
}

/**
 * Finds the positions by value: the listing's id and the booking's id as numbers, its times as
 * ISO texts from its start on (the other times a creation sends, created_at and the notice's,
 * are now, days earlier). Refuses a recording where a position is missing or ambiguous, so the
 * replay cannot silently repeat the recorded booking.
 */
export async function creationPositions(databaseUrl: string, calls: RecordedCall[], booking: RecordedBooking): Promise<CreationPositions> {
  const rowAt: Position[] = [];
  const timesAt: Position[] = [];
  const idAt: Position[] = [];
  calls.forEach((call, statement) =>
    call.params.forEach((value, index) => {
      if (value === booking.spaceId) rowAt.push([statement, index]);
      else if (value === booking.bookingId) idAt.push([statement, index]);
      else if (typeof value === 'string' && ISO_UTC.test(value) && Date.parse(value) >= booking.start.getTime()) timesAt.push([statement, index]);
    }),
  );
  const reading = calls.findIndex((call) => /nextval\(/.test(call.text));
  if (reading < 0) throw new Error('the recorded creation reads no booking id from the sequence');
  if (idAt.length !== 1 || idAt[0]![0] <= reading) throw new Error(`the recorded creation holds the booking id ${idAt.length}× after its read (expected once)`);
  // The listing read names it once; the insert three times (its lock, the row, the check that it still takes bookings).
  if (rowAt.length !== 4 || timesAt.length !== 3)
    throw new Error(`the recorded creation holds the listing ${rowAt.length}× and ${timesAt.length} booking times (expected 4 and 3)`);
  return { rowAt, timesAt, readAt: [{ at: idAt[0]!, from: [reading, await answerColumn(databaseUrl, calls[reading]!, 'nextval')] }] };
}

/**
 * Which column of a recorded statement's answer is `name`, from running it once in a transaction
 * that is rolled back (a sequence still gives up the value it handed out). Its own client, not
 * sqlRows: the answer's field list in column order is what is asked for.
 */
export async function answerColumn(databaseUrl: string, call: RecordedCall, name: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('begin');
    const result = await client.query({ text: call.text, values: call.params, rowMode: 'array' });
    const column = result.fields.findIndex((field) => field.name === name);
    if (column < 0) throw new Error(`the recorded statement answers no ${name} column`);
    return column;
  } finally {
    await client.query('rollback').catch(() => undefined);
    await client.end();
  }
}

/**
 * The first of `count` consecutive listing ids that take bookings (live, available, their owner
 * active): pgbench has no arrays, so client c books listing first + c.
 */
export async function consecutiveListings(databaseUrl: string, count: number): Promise<number> {
  const [row] = await sqlRows<{ first: number }>(
    databaseUrl,
    `select min(id)::int as first from (
       select s.id, s.id - row_number() over (order by s.id) as run
       from spaces s join users u on u.id = s.owner_id
       where s.archived_at is null and s.is_available and u.is_active
     ) listed group by run having count(*) >= $1 order by 1 limit 1`,
    [count],
  );
  if (!row) throw new Error(`no ${count} consecutive listings take bookings`);
  return row.first;
}

/**
 * The recorded statements as one pgbench transaction booking a slot of its own: client c books
 * listing `firstListing + c`, its i-th transaction `firstDay + i` days after the recorded times
 * (as `to_timestamp` of epoch seconds pgbench computes), with the id the reading statement took
 * from the sequence (`\gset`). The rest is bound as recorded, as boundStatements() does.
 */
export function creationScript(calls: RecordedCall[], positions: CreationPositions, bound: { statements: string[]; variables: Record<string, string> }) {
  const variables: Record<string, string | number> = { ...bound.variables };
  const meta = ['\\set space :first_listing + :client_id', '\\set shift (:first_day + :i) * 86400'];
  const replaced = new Map<string, string>();
  for (const [statement, index] of positions.rowAt) replaced.set(`s${statement}p${index + 1}`, ':space');
  positions.timesAt.forEach(([statement, index], time) => {
    const name = `s${statement}p${index + 1}`;
    variables[`base${time}`] = Date.parse(String(calls[statement]!.params[index])) / 1000;
    meta.push(`\\set t${time} :base${time} + :shift`);
    replaced.set(name, `to_timestamp(:t${time})`);
  });
  const [{ at, from }] = positions.readAt as [CreationPositions['readAt'][number]];
  replaced.set(`s${at[0]}p${at[1] + 1}`, ':b_nextval');
  for (const name of replaced.keys()) delete variables[name];
  const statements = bound.statements.map((text, statement) => {
    const sql = text.replace(/:(s\d+p\d+)\b/g, (whole, name: string) => replaced.get(name) ?? whole);
    return statement === from[0] ? `${sql.replace(/\s+/g, ' ').trim()} \\gset b_` : sql;
  });
  return { statements, variables, meta, after: ['\\set i :i + 1'] };
}
