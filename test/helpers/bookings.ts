import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { bookings, type BookingRow } from '../../src/db/schema/index.ts';
import { call } from './app.ts';

/** A booking requested through the API by the holder of `clientToken`; the 201 body. */
export async function createBooking(app: FastifyInstance, clientToken: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<any> {
  const response = await call(app, 'POST', '/api/bookings', { token: clientToken, body, headers });
  if (response.status !== 201) throw new Error(`create booking failed: ${response.status} ${response.raw}`);
  return response.body;
}

/** The booking's row as stored, or undefined. */
export async function storedBooking(app: FastifyInstance, id: number): Promise<BookingRow | undefined> {
  const [row] = await app.services.database.db.select().from(bookings).where(eq(bookings.id, id));
  return row;
}
