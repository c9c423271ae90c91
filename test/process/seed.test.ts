import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../src/db/client.ts';
import { cliSandbox } from '../helpers/cli.ts';
import { usingPostgres } from '../helpers/database.ts';

/** `npm run db:seed` as a process, on the embedded database (a DATA_DIR) or on DATABASE_URL. */
const { dataDir, withDatabase, run } = await cliSandbox();
const seed = (...args: string[]) => run('src/cli/seed.ts', args, 120_000);

const counts = () =>
  withDatabase(async ({ db }) => {
    const [row] = await queryRows<{
      users: number;
      admins: number;
      owners: number;
      clients: number;
      spaces: number;
      cities: number;
      images: number;
      without_images: number;
      bookings: number;
      payments: number;
      reviews: number;
      testimonials: number;
    }>(
      db,
      sql`select
        (select count(*) from users)::int as users,
        (select count(*) from users where role = 'admin')::int as admins,
        (select count(*) from users where role = 'owner')::int as owners,
        (select count(*) from users where role = 'client')::int as clients,
        (select count(*) from spaces)::int as spaces,
        (select count(distinct city) from spaces)::int as cities,
        (select count(*) from space_images)::int as images,
        (select count(*) from spaces s where not exists (select 1 from space_images i where i.space_id = s.id))::int as without_images,
        (select count(*) from bookings)::int as bookings,
        (select count(*) from payments)::int as payments,
        (select count(*) from reviews)::int as reviews,
        (select count(*) from testimonials)::int as testimonials`,
    );
    return row!;
  });

describe('npm run db:seed', () => {
  it('creates the demo catalogue, prints the logins, and stores every photo', async () => {
    const result = seed();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /admin@spacer\.test/);
    assert.match(result.stdout, /owner3@spacer\.test/);
    assert.match(result.stdout, /client5@spacer\.test/);
    assert.match(result.stdout, /password for all: \S+/);
    const seeded = await counts();
    const { images: _images, bookings, payments, reviews, testimonials, ...people } = seeded;
    assert.deepEqual(people, { users: 9, admins: 1, owners: 3, clients: 5, spaces: 40, cities: 5, without_images: 0 });
    assert.ok(bookings >= 80 && payments >= 40 && reviews >= 20 && testimonials >= 5, JSON.stringify(seeded));
    assert.ok(seeded.images >= 40 && seeded.images <= 160);
    if (!usingPostgres()) {
      const keys = await withDatabase(({ db }) => queryRows<{ storage_key: string }>(db, sql`select storage_key from space_images`));
      assert.ok(
        keys.every(({ storage_key }) => existsSync(join(dataDir, 'uploads', storage_key))),
        'every image file exists',
      );
    }
  });

  it('makes the marketplace look alive: past paid bookings with receipts, upcoming ones, reviews on the spaces, testimonials', async () => {
    const [state] = await withDatabase(({ db }) =>
      queryRows<{
        statuses: string[];
        past_live: number;
        future_done: number;
        unpaid_done: number;
        owners_booked: number;
        clients_booked: number;
        cities_reviewed: number;
        spaces_rated: number;
        wrong_ratings: number;
        bad_receipts: number;
        counter_behind: number;
        rating_range: string[];
      }>(
        db,
        sql`select
          (select array_agg(distinct status order by status) from bookings) as statuses,
          (select count(*) from bookings where status in ('pending', 'confirmed') and start_time < now())::int as past_live,
          (select count(*) from bookings where status = 'completed' and end_time > now())::int as future_done,
          (select count(*) from bookings b where status = 'completed' and not exists (select 1 from payments p where p.booking_id = b.id and p.status = 'completed'))::int as unpaid_done,
          (select count(distinct s.owner_id) from bookings b join spaces s on s.id = b.space_id)::int as owners_booked,
          (select count(distinct user_id) from bookings)::int as clients_booked,
          (select count(distinct s.city) from reviews r join spaces s on s.id = r.space_id)::int as cities_reviewed,
          (select count(*) from spaces where rating_count > 0)::int as spaces_rated,
          (select count(*) from spaces s left join lateral (select coalesce(sum(rating), 0)::int as total, count(*)::int as n from reviews r where r.space_id = s.id) scan on true
            where s.rating_sum <> scan.total or s.rating_count <> scan.n)::int as wrong_ratings,
          (select count(*) from payments where status in ('completed', 'refunded') and receipt_number !~ '^RCP-[0-9]{4}-[0-9]{6}$')::int as bad_receipts,
          (select count(*) from (select split_part(receipt_number, '-', 2)::int as year, max(split_part(receipt_number, '-', 3)::int) as top from payments group by 1) used
            where used.top > coalesce((select last from receipt_counters c where c.year = used.year), 0))::int as counter_behind,
          (select array[min(rating)::text, max(rating)::text] from reviews) as rating_range`,
      ),
    );
    assert.deepEqual(state!.statuses, ['cancelled', 'completed', 'confirmed', 'pending']);
    assert.equal(state!.past_live, 0, 'upcoming bookings are in the future');
    assert.equal(state!.future_done, 0, 'completed bookings are in the past');
    assert.equal(state!.unpaid_done, 0, 'every completed booking was paid');
    assert.equal(state!.owners_booked, 3);
    assert.equal(state!.clients_booked, 5);
    assert.equal(state!.cities_reviewed, 5);
    assert.ok(state!.spaces_rated >= 15, `${state!.spaces_rated} spaces rated`);
    assert.equal(state!.wrong_ratings, 0, 'each space rating is its reviews');
    assert.equal(state!.bad_receipts, 0);
    assert.equal(state!.counter_behind, 0, 'the receipt counter is past every seeded number, so real payments never collide');
    assert.notDeepEqual(state!.rating_range[0], state!.rating_range[1]);
  });

  it('changes nothing when run again', async () => {
    const before = await counts();
    const result = seed();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /already present/);
    assert.deepEqual(await counts(), before);
  });

  it('starts over with --reset', async () => {
    const result = seed('--reset');
    assert.equal(result.code, 0, result.stderr);
    const seeded = await counts();
    assert.equal(seeded.users, 9);
    assert.equal(seeded.spaces, 40);
  });

  it('generates a large catalogue in batches with --spaces', async () => {
    const result = seed('--reset', '--spaces', '2500');
    assert.equal(result.code, 0, result.stderr);
    const seeded = await counts();
    assert.equal(seeded.spaces, 2500);
    assert.equal(seeded.images, 5000);
    const [counter] = await withDatabase(({ db }) => queryRows<{ live: number }>(db, sql`select live from space_counters`));
    assert.equal(counter!.live, 2500, 'the trigger-kept counter agrees');
  });

  it('adds paid bookings and reviews with --payments and --reviews, reporting progress as plain lines off a terminal', async () => {
    const result = seed('--reset', '--spaces', '40', '--bookings', '400', '--payments', '150', '--reviews', '60');
    assert.equal(result.code, 0, result.stderr);
    const seeded = await counts();
    assert.deepEqual([seeded.spaces, seeded.bookings, seeded.payments, seeded.reviews], [40, 400, 150, 60]);
    assert.match(result.stderr, /^payments: 150\/150 \(\d+\/s\)$/m);
    assert.match(result.stderr, /^reviews: 60\/60 \(\d+\/s\)$/m);
    assert.doesNotMatch(result.stderr, /\r/, 'no redrawn bar outside a terminal');
    const [wrong] = await withDatabase(({ db }) =>
      queryRows<{ ratings: number }>(
        db,
        sql`select count(*)::int as ratings from spaces s where s.rating_count <> (select count(*) from reviews r where r.space_id = s.id)`,
      ),
    );
    assert.equal(wrong!.ratings, 0);
  });

  it('refuses --payments without --bookings, and more payments than bookings to pay', () => {
    const alone = seed('--spaces', '10', '--payments', '5');
    assert.equal(alone.code, 1);
    assert.match(alone.stderr, /--payments/);
    const tooMany = seed('--reset', '--spaces', '10', '--bookings', '20', '--payments', '500');
    assert.equal(tooMany.code, 1);
    assert.equal(
      tooMany.stderr
        .trim()
        .split('\n')
        .filter((line) => !/^\w+: \d+\/\d+/.test(line)).length,
      1,
    );
    assert.match(tooMany.stderr, /--payments 500/);
  });

  it('refuses a bad --spaces with one line and exit code 1', () => {
    const result = seed('--spaces', 'lots');
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim().split('\n').length, 1);
    assert.match(result.stderr, /--spaces/);
  });
});
