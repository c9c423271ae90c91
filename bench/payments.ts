/**
 * Data and read-backs for the payment scenarios: bookings and pending payments written straight
 * in SQL (the API path under test is paying and settling, not booking), the SQL the API sends
 * for those two requests, and the invariants checked in the database afterwards.
 */
import pg from 'pg';
import { sqlRows } from './harness.ts';
import { answerColumn, type Position, type Variation } from './creation-floor.ts';
import type { Recording, RecordedCall, recordingApp } from './pgbench.ts';

const HOUR = 3_600_000;
/** Every seeded booking is 2 hours; slots of a listing start 3 hours apart, so none overlap. */
const SLOT_MS = 3 * HOUR;

/** Where the next seeded slots may start; each call moves it past what it used. */
let nextStart = Date.UTC(2027, 0, 4, 6);

export interface SeededBooking {
  id: number;
  userId: number;
  amount: number;
}

export interface SeededPayment {
  id: number;
  bookingId: number;
  userId: number;
  amount: number;
  checkoutRequestId: string;
}

async function liveListings(databaseUrl: string): Promise<number> {
  const [row] = await sqlRows<{ n: number }>(databaseUrl, "select count(*)::int as n from spaces where archived_at is null and currency = 'KES'");
  if (!row || row.n === 0) throw new Error('the payment scenarios need seeded listings');
  return row.n;
}

/**
 * Statistics for the rows just written. Without them the planner takes the freshly filled tables
 * for nearly empty and may read a booking through a partial index of every unpaid booking (a cost
 * tie with the primary key) instead of by its id: the pending payment's insert then filtered ~30,000 index
 * entries per call, which was the 146 transactions/s of pgbench and the 93/s of the API. A live
 * database has its statistics (autovacuum analyzes after bulk changes); a run 3 s after a bulk
 * insert would not.
 */
async function analyze(databaseUrl: string): Promise<void> {
  await sqlRows(databaseUrl, 'analyze "bookings", "payments"');
}

/**
 * `count` confirmed bookings, round robin over `userIds` and over every live listing, with a
 * future slot of their own; `paymentStatus` pending ones get their pending M-Pesa payment in the
 * same statement, with CheckoutRequestIDs `<tag><booking id>`. Identity values come in insertion
 * order here (one statement, nobody else writing), so the rows' ids are contiguous.
 */
async function seed(databaseUrl: string, userIds: number[], count: number): Promise<SeededBooking[]>;
async function seed(databaseUrl: string, userIds: number[], count: number, tag: string): Promise<SeededPayment[]>;
async function seed(databaseUrl: string, userIds: number[], count: number, tag?: string): Promise<SeededBooking[] | SeededPayment[]> {
  // The listing count is a parameter: read from the listing CTE beside each row, it made the join
  // condition mix both sides, which only a nested loop can join (30,000 × 10,000 comparisons, a
  // minute of PostgreSQL per seed); as a parameter it is a merge or hash join.
  const listings = await liveListings(databaseUrl);
  const start = new Date(nextStart);
  nextStart += Math.ceil(count / listings) * SLOT_MS + 24 * HOUR;
  const bookingsSql = `
    with "listing" as (
      select "id", "price_per_hour", "currency", (row_number() over (order by "id"))::int - 1 as "i"
      from "spaces" where "archived_at" is null and "currency" = 'KES'
    )
    insert into "bookings" ("space_id", "user_id", "start_time", "end_time", "blocked_until", "total_price", "currency", "status", "payment_status", "confirmed_at", "created_at", "updated_at")
    select l."id", ($1::int[])[1 + g % cardinality($1::int[])],
      $3::timestamptz + (g / $5::int) * interval '${SLOT_MS / HOUR} hours',
      $3::timestamptz + (g / $5::int) * interval '${SLOT_MS / HOUR} hours' + interval '2 hours',
      $3::timestamptz + (g / $5::int) * interval '${SLOT_MS / HOUR} hours' + interval '2 hours',
      l."price_per_hour" * 2, l."currency", 'confirmed', $4::text, now(), now(), now()
    from generate_series(0, $2::int - 1) as g join "listing" l on l."i" = g % $5::int
    order by g
    returning "id", "user_id", "total_price", "currency"`;
  if (tag === undefined) {
    const rows = await sqlRows<{ id: number; user_id: number; total_price: string }>(databaseUrl, bookingsSql, [
      userIds,
      count,
      start.toISOString(),
      'unpaid',
      listings,
    ]);
    await analyze(databaseUrl);
    return rows.map((row) => ({ id: row.id, userId: row.user_id, amount: Number(row.total_price) })).sort((a, b) => a.id - b.id);
  }
  const rows = await sqlRows<{ id: number; booking_id: number; user_id: number; amount: string; checkout_request_id: string }>(
    databaseUrl,
    `with "booking" as (${bookingsSql})
     insert into "payments" ("booking_id", "user_id", "amount", "currency", "payment_method", "provider", "status", "phone_number", "checkout_request_id", "next_query_at", "created_at", "updated_at")
     select "id", "user_id", "total_price", "currency", 'mpesa', 'daraja', 'pending', '254712345678', $6::text || "id", now() + interval '1 day', now(), now()
     from "booking" order by "id"
     returning "id", "booking_id", "user_id", "amount", "checkout_request_id"`,
    [userIds, count, start.toISOString(), 'pending', listings, tag],
  );
  await analyze(databaseUrl);
  return rows
    .map((row) => ({ id: row.id, bookingId: row.booking_id, userId: row.user_id, amount: Number(row.amount), checkoutRequestId: row.checkout_request_id }))
    .sort((a, b) => a.id - b.id);
}

/** Confirmed, unpaid bookings of these payers, ready for POST /api/payments. */
export const seedUnpaidBookings = (databaseUrl: string, userIds: number[], count: number): Promise<SeededBooking[]> => seed(databaseUrl, userIds, count);

/** Pending M-Pesa payments (bookings `pending`), as POST /api/payments leaves them once Daraja accepted the push. */
export const seedPendingPayments = (databaseUrl: string, userIds: number[], count: number, tag: string): Promise<SeededPayment[]> =>
  seed(databaseUrl, userIds, count, tag);

export async function userIds(databaseUrl: string, emails: string[]): Promise<number[]> {
  const rows = await sqlRows<{ id: number; email: string }>(databaseUrl, 'select "id", "email" from "users" where "email" = any($1::text[])', [emails]);
  const byEmail = new Map(rows.map((row) => [row.email, row.id]));
  return emails.map((email) => byEmail.get(email)!);
}

/** Daraja's STK callback of a successful payment, as test/helpers/daraja.ts posts it. */
export function stkCallback(payment: Pick<SeededPayment, 'checkoutRequestId' | 'amount'>, n: number) {
  return {
    Body: {
      stkCallback: {
        MerchantRequestID: `29115-${String(n).padStart(8, '0')}-1`,
        CheckoutRequestID: payment.checkoutRequestId,
        ResultCode: 0,
        ResultDesc: 'The service request is processed successfully.',
        CallbackMetadata: {
          Item: [
            { Name: 'Amount', Value: payment.amount / 100 },
            { Name: 'MpesaReceiptNumber', Value: `BN${n.toString(36).toUpperCase().padStart(8, '0')}` },
            { Name: 'Balance' },
            { Name: 'TransactionDate', Value: 20270104101500 },
            { Name: 'PhoneNumber', Value: 254712345678 },
          ],
        },
      },
    },
  };
}

/** The one recorded statement that matches; anything else means the repository changed shape. */
function single(statements: string[], pattern: RegExp, what: string): string {
  const found = statements.filter((statement) => pattern.test(statement));
  if (found.length !== 1) throw new Error(`expected one ${what} statement among the ${statements.length} recorded, found ${found.length}`);
  return found[0]!;
}

/** Puts a pgbench variable where the recorded statement has this row's id. */
function parameterize(statement: string, pattern: RegExp, replacement: string, what: string): string {
  const matches = statement.match(new RegExp(pattern.source, 'g')) ?? [];
  if (matches.length !== 1) throw new Error(`expected the ${what} once in the recorded statement, found it ${matches.length} times`);
  const result = statement.replace(pattern, replacement);
  // pgbench reads `:name` as a variable even inside a string literal; mail text could hold one.
  const variables = [...result.matchAll(/(?<!:):([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1]);
  const unexpected = variables.filter((name) => !replacement.includes(`:${name}`));
  if (unexpected.length > 0) throw new Error(`the recorded statement holds text pgbench would take for variables: ${unexpected.join(', ')}`);
  return result;
}

export interface PaymentStatements {
  /** startPendingSql (read the booking, mark it pending, insert the payment) with `:b` for the booking id, for bookings of `userId`. */
  startPending: string;
  /** completeSql for a batch of one payment, `:p`. */
  complete: string;
  userId: number;
  /** The whole recorded creation, for the bare server. */
  creation: { recording: Recording; bookingId: number };
}

/**
 * The statements the API sends to create an M-Pesa payment and to complete one from its callback,
 * recorded from the real requests in an app built in this process (its M-Pesa going to the fake).
 */
export async function recordPaymentStatements(
  databaseUrl: string,
  recorder: Awaited<ReturnType<typeof recordingApp>>,
  callbackToken: string,
): Promise<PaymentStatements> {
  const email = `pgbench-${Date.now()}@bench.test`;
  const registered = await recorder.app.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: { email, password: 'Bench12345', first_name: 'Pg', last_name: 'Bench' },
  });
  if (registered.statusCode !== 201) throw new Error(`registering the pgbench payer answered ${registered.statusCode}: ${registered.body}`);
  const token = registered.json<{ access_token: string }>().access_token;
  const [userId] = await userIds(databaseUrl, [email]);

  const [booking] = await seedUnpaidBookings(databaseUrl, [userId!], 1);
  const creation = await recorder.recordRequest(
    {
      method: 'POST',
      url: '/api/payments',
      headers: { authorization: `Bearer ${token}` },
      payload: { booking_id: booking!.id, payment_method: 'mpesa', phone_number: '0712345678' },
    },
    201,
  );
  const startPending = parameterize(
    single(creation.statements, /^\s*with "target" as \(\s*select .* from "bookings"/, 'startPending'),
    new RegExp(`where "id" = ${booking!.id}::int\\b`),
    `where "id" = :b::int`,
    'booking id',
  );

  const [payment] = await seedPendingPayments(databaseUrl, [userId!], 1, 'ws_CO_RECORD_');
  const settled = await recorder.record({ method: 'POST', url: `/api/payments/mpesa/callback/${callbackToken}`, payload: stkCallback(payment!, 0) });
  // The completion takes a batch of payments (an array of ids); the recorded request's batch is its own payment.
  const complete = parameterize(
    single(settled, /^\s*with "input" as \(\s*select \* from unnest\(/, 'completion'),
    new RegExp(`'\\{"${payment!.id}"\\}'::int\\[\\]`),
    `array[:p]::int[]`,
    'payment id',
    // The recording's literals spell a null array element as the text "null" (the mail's html_body).
  ).replaceAll(`'{"null"}'`, `'{NULL}'`);
  return { startPending, complete, userId: userId!, creation: { recording: creation, bookingId: booking!.id } };
}

/** Where a value is in the recorded statements' parameters; the recording must hold it exactly once. */
function onlyPosition(calls: RecordedCall[], value: unknown, what: string): Position {
  const found: Position[] = [];
  calls.forEach((call, statement) => call.params.forEach((param, index) => param === value && found.push([statement, index])));
  if (found.length !== 1) throw new Error(`the recorded payment holds ${what} ${found.length}× (expected once)`);
  return found[0]!;
}

/**
 * What the bare server changes per payment (bench/bare-limit.ts): the booking paid (a different
 * one per request), the payment id the start statement answers, bound into the statement that
 * notes the provider's reference, and where that reference goes (from the provider's answer).
 */
export async function paymentVariation(
  databaseUrl: string,
  creation: PaymentStatements['creation'],
  bookingIds: number[],
): Promise<{ vary: Variation; checkoutAt: Position }> {
  const { calls, body } = creation.recording;
  const answer = JSON.parse(body) as { id: number; checkout_request_id: string };
  const bookingAt = onlyPosition(calls, creation.bookingId, 'the booking id');
  const paymentAt = onlyPosition(calls, answer.id, 'the payment id');
  const checkoutAt = onlyPosition(calls, answer.checkout_request_id, 'the CheckoutRequestID');
  if (paymentAt[0] <= bookingAt[0] || checkoutAt[0] !== paymentAt[0]) throw new Error('the recorded payment is not read, write, then note the reference');
  const column = await answerColumn(databaseUrl, calls[bookingAt[0]]!, 'payment_id');
  return {
    vary: { rowAt: [bookingAt], timesAt: [], readAt: [{ at: paymentAt, from: [bookingAt[0], column] }], first: 0, recorded: 0, rowIds: bookingIds, stepMs: 0 },
    checkoutAt,
  };
}

export interface PaymentCheck {
  /** Payments (and their bookings) in a state no sequence of API calls may leave. */
  wrongState: number;
  /** Answered callbacks whose payment is not completed. */
  answeredNotCompleted: number;
  duplicateReceipts: number;
  /** Per year: receipts issued, and whether they are exactly 1…n with the counter at n. */
  years: Array<{ year: number; issued: number; contiguous: boolean }>;
  completed: number;
  pending: number;
}

/**
 * Read back after a run. `answered` are the CheckoutRequestIDs whose callback the API answered
 * 200; `apiUserIds` the payers whose pending payments went through Daraja (so must carry its
 * CheckoutRequestID — pgbench's inserted ones never asked Daraja).
 */
export async function checkPayments(databaseUrl: string, options: { answered?: string[]; apiUserIds?: number[] } = {}): Promise<PaymentCheck> {
  const [state] = await sqlRows<{ wrong: number; answered_not_completed: number; duplicates: number; completed: number; pending: number }>(
    databaseUrl,
    `select
      (select count(*) from "payments" p join "bookings" b on b."id" = p."booking_id"
        where (p."status" = 'completed' and (p."receipt_number" is null or p."completed_at" is null or b."payment_status" <> 'paid'))
           or (p."status" = 'pending' and b."payment_status" <> 'pending')
           or (p."status" = 'pending' and p."checkout_request_id" is null and p."user_id" = any($2::int[]))
           or p."status" in ('failed', 'refunded'))
      + (select count(*) from "bookings" b where b."payment_status" = 'paid' and not exists (select 1 from "payments" p where p."booking_id" = b."id" and p."status" = 'completed'))
      + (select count(*) from "bookings" b where b."payment_status" = 'pending' and not exists (select 1 from "payments" p where p."booking_id" = b."id" and p."status" = 'pending'))
      + (select count(*) from "bookings" b where b."status" <> 'confirmed')
      as "wrong",
      (select count(*) from "payments" where "checkout_request_id" = any($1::text[]) and "status" <> 'completed') as "answered_not_completed",
      (select count(*) - count(distinct "receipt_number") from "payments" where "receipt_number" is not null) as "duplicates",
      (select count(*) from "payments" where "status" = 'completed') as "completed",
      (select count(*) from "payments" where "status" = 'pending') as "pending"`,
    [options.answered ?? [], options.apiUserIds ?? []],
  );
  const years = await sqlRows<{ year: number; issued: number; low: number; high: number; last: number | null }>(
    databaseUrl,
    `select r."year", count(*)::int as "issued", min(r."seq")::int as "low", max(r."seq")::int as "high", (select c."last" from "receipt_counters" c where c."year" = r."year") as "last"
     from (select split_part("receipt_number", '-', 2)::int as "year", split_part("receipt_number", '-', 3)::int as "seq" from "payments" where "receipt_number" is not null) r
     group by r."year" order by r."year"`,
  );
  return {
    wrongState: Number(state!.wrong),
    answeredNotCompleted: Number(state!.answered_not_completed),
    duplicateReceipts: Number(state!.duplicates),
    years: years.map((row) => ({ year: row.year, issued: row.issued, contiguous: row.low === 1 && row.high === row.issued && row.last === row.issued })),
    completed: Number(state!.completed),
    pending: Number(state!.pending),
  };
}

export function describeCheck(check: PaymentCheck): string {
  const receipts = check.years.map((year) => `${year.year}: ${year.issued} receipts, ${year.contiguous ? 'contiguous' : 'NOT contiguous'}`).join('; ');
  return [`${check.wrongState} payments in a wrong state`, `${check.duplicateReceipts} duplicate receipt numbers`, ...(receipts ? [receipts] : [])].join(', ');
}

/** Waits until the server has finished what it was still doing when the load stopped. */
export async function settled(databaseUrl: string): Promise<void> {
  let last = '';
  for (let attempt = 0; attempt < 50; attempt++) {
    const [row] = await sqlRows<{ state: string }>(databaseUrl, `select count(*) || '/' || max("updated_at") as "state" from "payments"`);
    if (row!.state === last) return;
    last = row!.state;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/**
 * Samples, every 50 ms until stopped, how many of the database's backends wait for a lock: the
 * direct sign that statements take turns, which throughput alone cannot tell from a busy CPU.
 */
export async function sampleLockWaits(databaseUrl: string) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const samples: number[] = [];
  let running = true;
  const sampling = (async () => {
    while (running) {
      const { rows } = await client.query<{ waiting: number; active: number }>(
        `select count(*) filter (where wait_event_type = 'Lock')::int as waiting, count(*) filter (where state = 'active')::int - 1 as active
         from pg_stat_activity where datname = current_database()`,
      );
      if (rows[0]!.active > 0) samples.push(rows[0]!.waiting / rows[0]!.active);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    /** The mean share of busy backends that were waiting for a lock. */
    async stop(): Promise<number> {
      running = false;
      await sampling;
      await client.end();
      return samples.length === 0 ? 0 : samples.reduce((sum, value) => sum + value, 0) / samples.length;
    },
  };
}
