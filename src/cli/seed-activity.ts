import { sql } from 'drizzle-orm';
import { queryRows, type DbOrTx } from '../db/client.ts';
import {
  bookings,
  payments,
  receiptCounters,
  reviews,
  testimonials,
  type BookingStatus,
  type PaymentMethod,
  type PaymentProviderName,
} from '../db/schema/index.ts';
import { formatReceiptNumber, receiptYear } from '../modules/payments/payments.rules.ts';
import { REVIEW_COMMENTS, TESTIMONIALS } from './seed-data.ts';
import type { Random } from './seed-data.ts';

/**
 * The seed's marketplace activity: bookings, their payments with receipts, reviews and
 * testimonials, written straight to the tables (the seed is a composition root) but by the
 * service's rules: receipt numbers come from `receipt_counters` as the payments module takes
 * them, so later real payments continue the sequence, and the triggers keep the ratings.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface SeedSpace {
  id: number;
  price: number;
  currency: string;
}

type NewBooking = typeof bookings.$inferInsert;
type NewPayment = typeof payments.$inferInsert;

const METHODS: Array<{ method: PaymentMethod; provider: PaymentProviderName }> = [
  { method: 'mpesa', provider: 'simulated' },
  { method: 'mpesa', provider: 'simulated' },
  { method: 'card', provider: 'simulated' },
  { method: 'cash', provider: 'cash' },
];

/**
 * Takes `count` receipt numbers of each year at once, as the payments module would one by one:
 * the counter moves past them in the same statement, so no later payment can get one again.
 */
async function takeReceiptNumbers(db: DbOrTx, years: number[]): Promise<string[]> {
  const perYear = new Map<number, number>();
  for (const year of years) perYear.set(year, (perYear.get(year) ?? 0) + 1);
  const next = new Map<number, number>();
  for (const [year, count] of perYear) {
    const [row] = await queryRows<{ last: number }>(
      db,
      sql`insert into ${receiptCounters} ("year", "last") values (${year}, ${count}) on conflict ("year") do update set "last" = ${receiptCounters}."last" + ${count} returning "last"`,
    );
    next.set(year, row!.last - count + 1);
  }
  return years.map((year) => {
    const sequence = next.get(year)!;
    next.set(year, sequence + 1);
    return formatReceiptNumber(year, sequence);
  });
}

/** Completed payments of the given bookings, each paid `paidBefore` ms before its start (or now, if that is sooner). */
export async function insertPayments(
  db: DbOrTx,
  rng: Random,
  paid: Array<{ booking: { id: number; userId: number; totalPrice: number; currency: string; startTime: Date }; refundPercent?: number }>,
  now: Date,
) {
  if (paid.length === 0) return;
  const completedAt = paid.map(({ booking }) => new Date(Math.min(now.getTime() - HOUR, booking.startTime.getTime() - rng.int(2, 72) * HOUR)));
  const numbers = await takeReceiptNumbers(db, completedAt.map(receiptYear));
  const rows: NewPayment[] = paid.map(({ booking, refundPercent }, index) => {
    const { method, provider } = rng.pick(METHODS);
    const refunded = refundPercent ? Math.round((booking.totalPrice * refundPercent) / 100) : 0;
    const at = completedAt[index]!;
    return {
      bookingId: booking.id,
      userId: booking.userId,
      amount: booking.totalPrice,
      refundedAmount: refunded,
      currency: booking.currency,
      method,
      provider,
      status: refunded > 0 ? 'refunded' : 'completed',
      phoneNumber: method === 'mpesa' ? `2547${String(rng.int(10_000_000, 99_999_999))}` : null,
      // What the simulated provider would have answered, so a later refund can go back through it.
      checkoutRequestId: method === 'mpesa' ? `ws_CO_SEED${booking.id}` : method === 'card' ? `pi_sim_seed_${booking.id}` : null,
      transactionId: method === 'cash' ? null : `SIM${booking.id.toString(36).toUpperCase()}${rng.int(1000, 9999)}`,
      receiptNumber: numbers[index]!,
      completedAt: at,
      ...(refunded > 0
        ? { refundState: 'completed' as const, refundDue: refunded, refundReason: 'cancelled by the booker', refundedAt: new Date(at.getTime() + HOUR) }
        : {}),
      createdAt: new Date(at.getTime() - 60_000),
      updatedAt: at,
    };
  });
  await db.insert(payments).values(rows);
}

/**
 * Demo activity over the demo listings: on each, a few past bookings (mostly completed and paid,
 * some cancelled) and one or two upcoming ones (pending, or confirmed and paid), all at 10:00–12:00
 * in Nairobi on distinct days, so the exclusion constraint never objects; most guests who used a
 * space review it; a handful of members write testimonials.
 */
export async function createDemoActivity(
  db: DbOrTx,
  rng: Random,
  listings: SeedSpace[],
  people: { clients: { id: number }[]; owners: { id: number }[] },
  now: Date,
) {
  const today = new Date(now);
  today.setUTCHours(7, 0, 0, 0);
  const rows: NewBooking[] = [];
  for (const space of listings) {
    const days = new Set<number>();
    const pastCount = rng.int(2, 6);
    while (days.size < pastCount) days.add(-rng.int(2, 120));
    const upcomingCount = rng.int(1, 2);
    while (days.size < pastCount + upcomingCount) days.add(rng.int(2, 30));
    for (const day of days) {
      const start = new Date(today.getTime() + day * DAY);
      const end = new Date(start.getTime() + 2 * HOUR);
      const past = day < 0;
      const status: BookingStatus = past ? (rng.next() < 0.85 ? 'completed' : 'cancelled') : rng.next() < 0.5 ? 'pending' : 'confirmed';
      // Pending requests are recent (they expire when not answered); the rest were booked weeks ahead.
      const createdAt = status === 'pending' ? new Date(now.getTime() - rng.int(1, 12) * HOUR) : new Date(start.getTime() - rng.int(3, 21) * DAY);
      rows.push({
        spaceId: space.id,
        userId: rng.pick(people.clients).id,
        startTime: start,
        endTime: end,
        blockedUntil: end,
        guests: rng.int(1, 4),
        totalPrice: space.price * 2,
        currency: space.currency,
        status,
        paymentStatus: status === 'completed' || status === 'confirmed' ? 'paid' : status === 'cancelled' ? 'refunded' : 'unpaid',
        confirmedAt: status === 'pending' ? null : new Date(createdAt.getTime() + HOUR),
        ...(status === 'cancelled' ? { cancellationReason: 'Plans changed', cancelledBy: 'booker' as const } : {}),
        createdAt,
        updatedAt: status === 'pending' ? createdAt : new Date(Math.min(now.getTime(), end.getTime())),
      });
    }
  }
  const inserted = await db.insert(bookings).values(rows).returning();
  const paid = inserted
    .filter((booking) => booking.status !== 'pending')
    .map((booking) => ({ booking, ...(booking.status === 'cancelled' ? { refundPercent: 100 } : {}) }));
  await insertPayments(db, rng, paid, now);

  const reviewed = new Set<string>();
  const reviewRows: Array<typeof reviews.$inferInsert> = [];
  for (const booking of inserted.filter((row) => row.status === 'completed')) {
    const key = `${booking.userId}:${booking.spaceId}`;
    if (reviewed.has(key) || rng.next() > 0.75) continue;
    reviewed.add(key);
    const rating = rng.pick([3, 4, 4, 4, 5, 5, 5, 5, 2]);
    const at = new Date(booking.endTime.getTime() + rng.int(2, 48) * HOUR);
    reviewRows.push({
      spaceId: booking.spaceId,
      userId: booking.userId,
      rating,
      comment: rng.next() < 0.85 ? rng.pick(REVIEW_COMMENTS[rating]!) : null,
      createdAt: at,
      updatedAt: at,
    });
  }
  if (reviewRows.length > 0) await db.insert(reviews).values(reviewRows);

  const authors = [...people.clients, ...people.owners];
  await db.insert(testimonials).values(
    TESTIMONIALS.map((entry, index) => {
      const at = new Date(now.getTime() - (TESTIMONIALS.length - index) * 3 * DAY);
      return { userId: authors[index % authors.length]!.id, content: entry.content, rating: entry.rating, createdAt: at, updatedAt: at };
    }),
  );
  return { bookings: inserted.length, payments: paid.length, reviews: reviewRows.length, testimonials: TESTIMONIALS.length };
}
