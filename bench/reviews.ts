/**
 * Data and recordings for the review, testimonial and admin-stats scenarios. Reviews, payments and
 * bookings come from the seed; testimonials, which the seed's bulk mode does not write, are added
 * here in SQL.
 */
import { api, sqlRows } from './harness.ts';
import { recordingOf, type Recording } from './pgbench.ts';

/** The seed's admin account and the password it gives every demo account. */
const ADMIN = { email: 'admin@spacer.test', password: 'Spacer123' };

/**
 * `count` testimonials round robin over the seeded accounts, one an hour back from now, so the
 * newest-first page has a real order to follow. Idempotent, so a repeated prepare adds nothing.
 */
export async function seedTestimonials(databaseUrl: string, count: number): Promise<number> {
  const [row] = await sqlRows<{ n: number }>(
    databaseUrl,
    `with "author" as (select "id", (row_number() over (order by "id"))::int - 1 as "i", (count(*) over ())::int as "total" from "users"),
     "missing" as (select greatest(0, $1::int - (select count(*) from "testimonials"))::int as "n"),
     "added" as (
       insert into "testimonials" ("user_id", "content", "rating", "created_at", "updated_at")
       select a."id", 'Booked a quiet room for the team in minutes; everything was ready when we came. #' || g, 1 + (g * 7) % 5,
         now() - g * interval '1 hour', now() - g * interval '1 hour'
       from generate_series(0, (select "n" from "missing") - 1) as g join "author" a on a."i" = g % a."total"
       returning 1
     )
     select (select count(*) from "testimonials")::int + (select count(*) from "added")::int as "n"`,
    [count],
  );
  await sqlRows(databaseUrl, 'analyze "testimonials"');
  return row!.n;
}

/**
 * `count` listings that have reviews, spread evenly over all reviewed listings by id (the seed
 * gives most listings a few reviews, so these are typical pages, not the busiest one).
 */
export async function reviewedSpaces(databaseUrl: string, count: number): Promise<{ ids: number[]; reviews: number; reviewed: number }> {
  const rows = await sqlRows<{ space_id: number; n: number }>(
    databaseUrl,
    'select "space_id", count(*)::int as "n" from "reviews" group by "space_id" order by "space_id"',
  );
  if (rows.length === 0) throw new Error('the review scenarios need seeded reviews');
  const step = Math.max(1, Math.floor(rows.length / count));
  const picked = rows.filter((_, index) => index % step === 0).slice(0, count);
  return { ids: picked.map((row) => row.space_id), reviews: rows.reduce((sum, row) => sum + row.n, 0), reviewed: rows.length };
}

/** The seeded admin's access token from the server under test. */
export async function adminToken(url: string): Promise<string> {
  const body = (await api(url, 'POST', '/api/auth/login', ADMIN)) as { access_token: string };
  return body.access_token;
}

/** One `GET /api/admin/stats` by the seeded admin, the session check included: its statements and answer. */
export const adminStatsRecording = (databaseUrl: string): Promise<Recording> => recordingOf(databaseUrl, { method: 'GET', url: '/api/admin/stats' }, ADMIN);

/**
 * Tops the seeded reviews up to `count` in SQL. The seed writes a review only where the guest has
 * a completed booking of the space, and its 100,000 bulk bookings (5 demo clients, about 4 past
 * slots a listing) give only ~32,000 such pairs; the rest come from the pairs of the same
 * clients and listings still without a review. Reading does not check that a reviewer used the
 * space, so the pages read the same. The triggers keep each listing's rating as for any insert.
 */
export async function topUpReviews(databaseUrl: string, count: number): Promise<number> {
  const [row] = await sqlRows<{ n: number }>(
    databaseUrl,
    `with "missing" as (select greatest(0, $1::int - (select count(*) from "reviews"))::int as "n"),
     "pair" as (
       select c."id" as "user_id", s."id" as "space_id", row_number() over (order by s."id", c."id") as "i"
       from "spaces" s cross join "users" c
       where c."role" = 'client' and not exists (select 1 from "reviews" r where r."user_id" = c."id" and r."space_id" = s."id")
     ),
     "added" as (
       insert into "reviews" ("space_id", "user_id", "rating", "comment", "created_at", "updated_at")
       select "space_id", "user_id", 2 + ("i" * 7) % 4, null, now() - ("i" % 2000) * interval '1 hour', now() - ("i" % 2000) * interval '1 hour'
       from "pair" where "i" <= (select "n" from "missing")
       returning 1
     )
     select (select count(*) from "reviews")::int + (select count(*) from "added")::int as "n"`,
    [count],
  );
  if (row!.n < count) throw new Error(`only ${row!.n} reviews possible for ${count}: too few clients and listings`);
  // The ratings just changed every listing's row: fresh visibility maps, as after the seed.
  await sqlRows(databaseUrl, 'vacuum analyze "reviews"');
  await sqlRows(databaseUrl, 'vacuum analyze "spaces"');
  return row!.n;
}
