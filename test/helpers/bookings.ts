import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { bookings, payments, type BookingRow } from '../../src/db/schema/index.ts';
import { call } from './app.ts';

/** A booking requested through the API by the holder of `clientToken`; the 201 body. */
export async function createBooking(
  app: FastifyInstance,
  clientToken: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<any> {
  const response = await call(app, 'POST', '/api/bookings', { token: clientToken, body, headers });
  if (response.status !== 201) throw new Error(`create booking failed: ${response.status} ${response.raw}`);
  return response.body;
}

/** The booking's row as stored, or undefined. */
export async function storedBooking(app: FastifyInstance, id: number): Promise<BookingRow | undefined> {
  const [row] = await app.services.database.db.select().from(bookings).where(eq(bookings.id, id));
  return row;
}

let receiptSequence = 0;

/**
 * A completed payment of a booking written straight to the table (its booking marked paid), for
 * tests about what follows a payment rather than about paying; `refunded` minor units came back.
 */
export async function insertCompletedPayment(app: FastifyInstance, bookingId: number, options: { refunded?: number; method?: 'mpesa' | 'card' | 'cash' } = {}) {
  const db = app.services.database.db;
  const [booking] = await db.select().from(bookings).where(eq(bookings.id, bookingId));
  if (!booking) throw new Error(`no booking ${bookingId}`);
  const now = new Date();
  const refunded = options.refunded ?? 0;
  const [payment] = await db
    .insert(payments)
    .values({
      bookingId,
      userId: booking.userId,
      amount: booking.totalPrice,
      refundedAmount: refunded,
      currency: booking.currency,
      method: options.method ?? 'cash',
      provider: 'cash',
      status: refunded > 0 ? 'refunded' : 'completed',
      receiptNumber: `RCP-TEST-${process.pid}-${++receiptSequence}-${bookingId}`,
      completedAt: now,
      ...(refunded > 0 ? { refundState: 'completed' as const, refundDue: refunded, refundedAt: now } : {}),
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  await db
    .update(bookings)
    .set({ paymentStatus: refunded > 0 ? 'refunded' : 'paid' })
    .where(eq(bookings.id, bookingId));
  return payment!;
}
