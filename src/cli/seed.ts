import { rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { inArray, sql } from 'drizzle-orm';
import type { Config } from '../config.ts';
import { queryRows, type Database } from '../db/client.ts';
import { bookings, payments, reviews, spaceImages, spaces, testimonials, users, type BookingStatus, type UserRow } from '../db/schema/index.ts';
import { processImage, renderSvgToJpeg } from '../infra/images.ts';
import { createStorage, uploadsDir } from '../infra/storage/index.ts';
import { createPasswordHasher } from '../infra/passwords.ts';
import * as usersRepo from '../modules/users/users.repository.ts';
import { CliError, openForCli, runCli } from './context.ts';
import { createDemoActivity, insertPayments, type SeedSpace } from './seed-activity.ts';
import { CITIES, HOURS, KINDS, PEOPLE, POLICIES, STREETS, random, sceneSvg, type Random } from './seed-data.ts';

/**
 * Demo data: an admin, 3 owners, 5 clients and 40 spaces with generated photos, past bookings
 * with their payments and receipts, upcoming ones, reviews and testimonials. Running it again
 * changes nothing; `--reset` empties the database first. `--spaces N` generates a larger
 * catalogue for benchmarks instead, in batches, its listings sharing six placeholder photos;
 * `--bookings M` adds M bookings spread over those listings, none overlapping; `--payments P`
 * pays P of the completed and confirmed ones; `--reviews R` reviews up to R used spaces.
 */

const USAGE = 'Usage: npm run db:seed -- [--reset] [--spaces N [--bookings M [--payments P] [--reviews R]]]';
const DEMO_PASSWORD = 'Spacer123';
const DEMO_SPACES = 40;
const BATCH = 1000;
const ADMIN_EMAIL = 'admin@spacer.test';

/**
 * Counts as a batch job goes: on a terminal one line redrawn in place (a bar, the counts and the
 * rate); elsewhere (CI logs, pipes) a plain line every ten batches and at the end.
 */
function progress(label: string, total: number) {
  const started = Date.now();
  return (done: number) => {
    const rate = Math.round(done / Math.max((Date.now() - started) / 1000, 0.001));
    if (process.stderr.isTTY) {
      const width = 30;
      const filled = Math.round((done / total) * width);
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${rate}/s${done === total ? '\n' : ''}`);
    } else if (done === total || done % (BATCH * 10) === 0) {
      process.stderr.write(`${label}: ${done}/${total} (${rate}/s)\n`);
    }
  };
}

async function reset(database: Database, config: Config) {
  // space_counters is kept by triggers, which reset it when spaces is truncated; its row must stay.
  const tables = await queryRows<{ tablename: string }>(
    database.db,
    sql`select tablename from pg_tables where schemaname = 'public' and tablename <> 'space_counters'`,
  );
  const names = tables.map((row) => `"${row.tablename}"`);
  if (names.length > 0) await database.db.execute(sql.raw(`truncate ${names.join(', ')} restart identity cascade`));
  await rm(uploadsDir(config), { recursive: true, force: true });
}

async function createPeople(database: Database, passwordHash: string) {
  const now = new Date();
  const person = (email: string, name: { first: string; last: string }, role: UserRow['role']) =>
    usersRepo.insert(database.db, { email, passwordHash, firstName: name.first, lastName: name.last, role, isVerified: true, createdAt: now, updatedAt: now });
  await person(ADMIN_EMAIL, PEOPLE.admin, 'admin');
  const owners = [];
  for (const [index, name] of PEOPLE.owners.entries()) owners.push(await person(`owner${index + 1}@spacer.test`, name, 'owner'));
  const clients = [];
  for (const [index, name] of PEOPLE.clients.entries()) clients.push(await person(`client${index + 1}@spacer.test`, name, 'client'));
  return { owners, clients };
}

/** One listing's columns, drawn from the generator. */
function listing(rng: Random, ownerId: number, createdAt: Date) {
  const city = rng.pick(CITIES);
  const kind = rng.pick(KINDS);
  const area = rng.pick(city.areas);
  const price = Math.round(rng.int(kind.price[0], kind.price[1]) / 50) * 50;
  return {
    kind,
    values: {
      ownerId,
      name: `${area} ${rng.pick(kind.words)}`,
      description: `${kind.description} In ${area}, ${city.name}.`,
      address: `${rng.int(1, 250)} ${rng.pick(STREETS)}, ${area}`,
      city: city.name,
      latitude: Math.round((city.lat + (rng.next() - 0.5) * 0.08) * 1e6) / 1e6,
      longitude: Math.round((city.lng + (rng.next() - 0.5) * 0.08) * 1e6) / 1e6,
      timezone: 'Africa/Nairobi',
      pricePerHour: price * 100,
      currency: 'KES',
      capacity: rng.int(kind.capacity[0], kind.capacity[1]),
      amenities: rng.some(kind.amenities, 2, kind.amenities.length),
      isAvailable: rng.next() > 0.1,
      minBookingHours: rng.pick([1, 1, 2]),
      maxBookingHours: rng.pick([8, 12, 24]),
      minNoticeHours: rng.pick([0, 2, 24]),
      bufferMinutes: rng.pick([0, 15, 30]),
      operatingHours: rng.pick(HOURS),
      cancellationPolicy: rng.pick(POLICIES),
      createdAt,
      updatedAt: createdAt,
    },
  };
}

async function createDemoSpaces(database: Database, config: Config, owners: UserRow[]): Promise<SeedSpace[]> {
  const rng = random(2026);
  const storage = createStorage(config);
  const created: SeedSpace[] = [];
  const tick = progress('spaces', DEMO_SPACES);
  for (let index = 0; index < DEMO_SPACES; index++) {
    const { kind, values } = listing(rng, owners[index % owners.length]!.id, new Date(Date.now() - (DEMO_SPACES - index) * 3_600_000));
    const [space] = await database.db.insert(spaces).values(values).returning({ id: spaces.id });
    created.push({ id: space!.id, price: values.pricePerHour, currency: values.currency });
    const photos = rng.int(1, 4);
    for (let photo = 0; photo < photos; photo++) {
      const image = await processImage(await renderSvgToJpeg(sceneSvg(rng, kind.label)), { maxSide: 800 });
      const stored = await storage.put(`spaces/${space!.id}`, image);
      await database.db.insert(spaceImages).values({
        spaceId: space!.id,
        imageUrl: stored.url,
        storageKey: stored.key,
        storage: stored.kind,
        isPrimary: photo === 0,
        width: image.width,
        height: image.height,
      });
    }
    tick(index + 1);
  }
  return created;
}

/** Bulk listings share a handful of placeholder photos: the point is volume, not variety. */
async function placeholderPhotos(config: Config, rng: Random) {
  const storage = createStorage(config);
  const photos = [];
  for (let index = 0; index < 6; index++) {
    const image = await processImage(await renderSvgToJpeg(sceneSvg(rng, 'placeholder')), { maxSide: 800 });
    photos.push({ stored: await storage.put('placeholders', image), width: image.width, height: image.height });
  }
  return photos;
}

async function createBulkSpaces(database: Database, config: Config, owners: UserRow[], count: number) {
  const rng = random(count);
  const photos = await placeholderPhotos(config, rng);
  const started = Date.now();
  const tick = progress('spaces', count);
  for (let done = 0; done < count; done += BATCH) {
    const rows = Array.from(
      { length: Math.min(BATCH, count - done) },
      (_, offset) => listing(rng, owners[(done + offset) % owners.length]!.id, new Date(started - (count - done - offset) * 60_000)).values,
    );
    await database.db.transaction(async (tx) => {
      const inserted = await tx.insert(spaces).values(rows).returning({ id: spaces.id });
      const images = inserted.flatMap(({ id }, index) =>
        [0, 1].map((photo) => {
          const { stored, width, height } = photos[(index + photo) % photos.length]!;
          return { spaceId: id, imageUrl: stored.url, storageKey: stored.key, storage: stored.kind, isPrimary: photo === 0, width, height };
        }),
      );
      await tx.insert(spaceImages).values(images);
    });
    tick(Math.min(done + BATCH, count));
  }
  // Fresh statistics and visibility maps, as autovacuum would leave them some minutes later.
  await database.db.execute(sql`vacuum analyze spaces`);
  await database.db.execute(sql`vacuum analyze space_images`);
}

/**
 * Bookings over the bulk listings: each listing gets its share on consecutive days at 10:00–12:00
 * UTC, half of them ahead (pending or confirmed) and half behind (completed or cancelled), so
 * the exclusion constraint never objects and every state is represented.
 */
async function createBulkBookings(database: Database, clients: UserRow[], count: number) {
  const ids = (await database.db.select({ id: spaces.id, price: spaces.pricePerHour, currency: spaces.currency }).from(spaces)).sort((a, b) => a.id - b.id);
  if (ids.length === 0) throw new CliError('--bookings needs listings: use it with --spaces');
  const rng = random(count + 7);
  const perSpace = Math.ceil(count / ids.length);
  const today = new Date();
  today.setUTCHours(10, 0, 0, 0);
  const tick = progress('bookings', count);
  for (let done = 0; done < count; done += BATCH) {
    const rows = Array.from({ length: Math.min(BATCH, count - done) }, (_, offset) => {
      const index = done + offset;
      const space = ids[index % ids.length]!;
      const slot = Math.floor(index / ids.length);
      const dayOffset = slot - Math.floor(perSpace / 2);
      const start = new Date(today.getTime() + dayOffset * 86_400_000 + 86_400_000);
      const end = new Date(start.getTime() + 2 * 3_600_000);
      const future = start.getTime() > Date.now();
      const status: BookingStatus = future ? (rng.next() < 0.5 ? 'pending' : 'confirmed') : rng.next() < 0.8 ? 'completed' : 'cancelled';
      const createdAt = new Date(Math.min(Date.now(), start.getTime()) - rng.int(1, 20) * 3_600_000);
      return {
        spaceId: space.id,
        // Each listing sees every client in turn, so guest-and-space pairs (reviews) grow with the bookings.
        userId: clients[(index + slot) % clients.length]!.id,
        startTime: start,
        endTime: end,
        blockedUntil: end,
        guests: rng.int(1, 4),
        totalPrice: space.price * 2,
        currency: space.currency,
        status,
        paymentStatus: status === 'completed' ? ('paid' as const) : ('unpaid' as const),
        ...(status === 'cancelled' ? { cancellationReason: 'cancelled by the booker', cancelledBy: 'booker' as const } : {}),
        createdAt,
        updatedAt: createdAt,
      };
    });
    await database.db.insert(bookings).values(rows);
    tick(Math.min(done + BATCH, count));
  }
  await database.db.execute(sql`vacuum analyze bookings`);
}

/** Pays `count` of the bulk bookings that hold money (completed, then confirmed); a few in twenty refunded in half. */
async function createBulkPayments(database: Database, count: number) {
  const eligible = await database.db
    .select({ id: bookings.id, userId: bookings.userId, totalPrice: bookings.totalPrice, currency: bookings.currency, startTime: bookings.startTime })
    .from(bookings)
    .where(sql`${bookings.status} in ('completed', 'confirmed')`)
    .orderBy(sql`${bookings.status} = 'confirmed'`, bookings.id)
    .limit(count);
  if (eligible.length < count)
    throw new CliError(`--payments ${count} needs as many completed or confirmed bookings; there are ${eligible.length}: raise --bookings`);
  const rng = random(count + 11);
  const now = new Date();
  const tick = progress('payments', count);
  for (let done = 0; done < count; done += BATCH) {
    const batch = eligible.slice(done, done + BATCH);
    await database.db.transaction(async (tx) => {
      await insertPayments(
        tx,
        rng,
        batch.map((booking) => ({ booking, ...(rng.next() < 0.05 ? { refundPercent: 50 } : {}) })),
        now,
      );
      await tx
        .update(bookings)
        .set({ paymentStatus: 'paid' })
        .where(
          inArray(
            bookings.id,
            batch.map((booking) => booking.id),
          ),
        );
    });
    tick(Math.min(done + BATCH, count));
  }
  await database.db.execute(sql`vacuum analyze payments`);
  // The bookings just marked paid, too: their index-only scans need a fresh visibility map.
  await database.db.execute(sql`vacuum analyze bookings`);
}

/** Up to `count` reviews, one per guest and space they used (a completed booking). */
async function createBulkReviews(database: Database, count: number) {
  const pairs = await queryRows<{ user_id: number; space_id: number; end_time: string }>(
    database.db,
    sql`select distinct on (user_id, space_id) user_id, space_id, end_time from ${bookings} where status = 'completed' order by user_id, space_id, id limit ${count}`,
  );
  if (pairs.length < count)
    throw new CliError(`--reviews ${count} needs as many guest-and-space pairs with a completed booking; there are ${pairs.length}: raise --bookings`);
  const rng = random(count + 13);
  const tick = progress('reviews', count);
  for (let done = 0; done < count; done += BATCH) {
    const rows = pairs.slice(done, done + BATCH).map((pair) => {
      const at = new Date(new Date(pair.end_time).getTime() + rng.int(1, 72) * 3_600_000);
      return { spaceId: pair.space_id, userId: pair.user_id, rating: rng.pick([2, 3, 4, 4, 5, 5]), comment: null, createdAt: at, updatedAt: at };
    });
    await database.db.insert(reviews).values(rows);
    tick(Math.min(done + BATCH, count));
  }
  await database.db.execute(sql`vacuum analyze reviews`);
}

await runCli(async () => {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        reset: { type: 'boolean', default: false },
        spaces: { type: 'string' },
        bookings: { type: 'string' },
        payments: { type: 'string' },
        reviews: { type: 'string' },
      },
      strict: true,
    }));
  } catch (error) {
    throw new CliError(`${(error as Error).message}. ${USAGE}`);
  }
  const bulk = values.spaces === undefined ? undefined : Number(values.spaces);
  if (bulk !== undefined && (!Number.isSafeInteger(bulk) || bulk < 1 || bulk > 1_000_000))
    throw new CliError(`--spaces must be a whole number from 1 to 1000000. ${USAGE}`);
  const bulkBookings = values.bookings === undefined ? undefined : Number(values.bookings);
  if (bulkBookings !== undefined && (bulk === undefined || !Number.isSafeInteger(bulkBookings) || bulkBookings < 1 || bulkBookings > 10_000_000)) {
    throw new CliError(`--bookings must be a whole number from 1 to 10000000, with --spaces. ${USAGE}`);
  }
  const withBookings = (name: 'payments' | 'reviews') => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (bulkBookings === undefined || !Number.isSafeInteger(value) || value < 1 || value > 10_000_000) {
      throw new CliError(`--${name} must be a whole number from 1 to 10000000, with --spaces and --bookings. ${USAGE}`);
    }
    return value;
  };
  const bulkPayments = withBookings('payments');
  const bulkReviews = withBookings('reviews');

  const { config, database } = await openForCli();
  const started = Date.now();
  try {
    if (values.reset) await reset(database, config);
    if (await usersRepo.findByEmail(database.db, ADMIN_EMAIL)) {
      console.log('Demo data is already present (use --reset to start over).');
    } else {
      const passwordHash = await createPasswordHasher(config.BCRYPT_ROUNDS).hash(DEMO_PASSWORD);
      const { owners, clients } = await createPeople(database, passwordHash);
      if (bulk === undefined) {
        const listings = await createDemoSpaces(database, config, owners);
        await database.db.transaction((tx) => createDemoActivity(tx, random(2027), listings, { clients, owners }, new Date()));
      } else {
        await createBulkSpaces(database, config, owners, bulk);
        if (bulkBookings !== undefined) await createBulkBookings(database, clients, bulkBookings);
        if (bulkPayments !== undefined) await createBulkPayments(database, bulkPayments);
        if (bulkReviews !== undefined) await createBulkReviews(database, bulkReviews);
      }
      const [counts] = await queryRows<{ users: number; spaces: number; bookings: number; payments: number; reviews: number; testimonials: number }>(
        database.db,
        sql`select (select count(*) from ${users})::int as users, (select count(*) from ${spaces})::int as spaces, (select count(*) from ${bookings})::int as bookings,
          (select count(*) from ${payments})::int as payments, (select count(*) from ${reviews})::int as reviews, (select count(*) from ${testimonials})::int as testimonials`,
      );
      console.log(
        `Seeded ${counts?.users ?? 0} users, ${counts?.spaces ?? 0} spaces, ${counts?.bookings ?? 0} bookings, ${counts?.payments ?? 0} payments, ` +
          `${counts?.reviews ?? 0} reviews and ${counts?.testimonials ?? 0} testimonials in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
      );
    }
    console.log(`\nLogins (password for all: ${DEMO_PASSWORD})`);
    console.log(`  admin   ${ADMIN_EMAIL}`);
    PEOPLE.owners.forEach((_, index) => console.log(`  owner   owner${index + 1}@spacer.test`));
    PEOPLE.clients.forEach((_, index) => console.log(`  client  client${index + 1}@spacer.test`));
  } finally {
    await database.close();
  }
});
