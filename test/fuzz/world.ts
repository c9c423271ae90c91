import type { FastifyInstance, InjectOptions } from 'fastify';
import sharp from 'sharp';
import { createUser, type TestUser } from '../helpers/factories.ts';
import { insertCompletedPayment } from '../helpers/bookings.ts';
import { spaceInput } from '../helpers/spaces.ts';

/**
 * The callers and rows a fuzz run aims at: one user per role (and a spare client and owner, so
 * "someone else's" rows exist), a deactivated account, and spaces, images, bookings in each state
 * and payments, so that generated ids hit real rows as often as missing ones.
 */

export const ROLES = ['anonymous', 'client', 'client2', 'owner', 'owner2', 'admin', 'deactivated'] as const;
export type RoleName = (typeof ROLES)[number];

export interface Pools {
  users: number[];
  spaces: number[];
  images: number[];
  bookings: number[];
  payments: number[];
  paymentMethods: number[];
}

export interface World {
  users: Partial<Record<RoleName, TestUser>>;
  pools: Pools;
  /** The start of the seeded bookings' day: generated times fall around it. */
  base: number;
  png: Buffer;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

type Inject = (options: InjectOptions) => Promise<{ statusCode: number; body: string }>;

export function multipart(boundary: string, parts: Array<{ name: string; filename?: string; type?: string; data: Buffer | string }>, close = true): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename !== undefined ? `; filename="${part.filename}"` : ''}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${part.type ? `Content-Type: ${part.type}\r\n` : ''}\r\n`));
    chunks.push(Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data));
    chunks.push(Buffer.from('\r\n'));
  }
  if (close) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

async function expect(inject: Inject, what: string, options: InjectOptions, status: number) {
  const response = await inject(options);
  if (response.statusCode !== status) throw new Error(`fuzz set-up: ${what} answered ${response.statusCode} ${response.body.slice(0, 300)}`);
  return JSON.parse(response.body);
}

const bearer = (user: TestUser) => ({ authorization: `Bearer ${user.token}` });

/**
 * Creates the callers and rows. Called again whenever the fuzzer has logged a caller out,
 * deactivated or demoted it, so later requests still come from every role; the earlier rows stay
 * in the pools as real rows of other users.
 */
export async function seedWorld(app: FastifyInstance, inject: Inject, previous: World | undefined): Promise<World> {
  const png =
    previous?.png ??
    (await sharp({ create: { width: 16, height: 12, channels: 3, background: '#c03020' } })
      .png()
      .toBuffer());
  const pools: Pools = previous?.pools ?? { users: [], spaces: [], images: [], bookings: [], payments: [], paymentMethods: [] };
  const users: World['users'] = {};
  for (const role of ['client', 'client2', 'owner', 'owner2', 'admin', 'deactivated'] as const) {
    users[role] = await createUser(app, { role: role.startsWith('owner') ? 'owner' : role === 'admin' ? 'admin' : 'client' });
    pools.users.push(users[role].id);
  }
  const { client, client2, owner, owner2, admin, deactivated } = users as Record<Exclude<RoleName, 'anonymous'>, TestUser>;
  await expect(inject, 'deactivate', { method: 'DELETE', url: `/api/users/${deactivated.id}`, headers: bearer(admin) }, 200);

  const clock = app.services.clock.now().getTime();
  // Every generation books its own new spaces, so the same days never collide; they must stay
  // within the 365 days bookings open ahead, however many times the world is rebuilt.
  const base = Math.floor(clock / DAY) * DAY + 3 * DAY;
  const json = (user: TestUser, body: unknown) => ({ headers: { ...bearer(user), 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  const spaceA = await expect(
    inject,
    'space A',
    {
      method: 'POST',
      url: '/api/spaces',
      ...json(owner, spaceInput({ name: 'Fuzz Loft', amenities: ['wifi', 'projector'], latitude: -1.28, longitude: 36.82 })),
    },
    201,
  );
  const spaceB = await expect(
    inject,
    'space B',
    {
      method: 'POST',
      url: '/api/spaces',
      ...json(
        owner,
        spaceInput({
          name: 'Fuzz Studio',
          city: 'Mombasa',
          cancellation_policy: 'moderate',
          buffer_minutes: 30,
          operating_hours: {
            mon: [['08:00', '18:00']],
            tue: [['08:00', '18:00']],
            wed: [['08:00', '18:00']],
            thu: [['08:00', '18:00']],
            fri: [['08:00', '18:00']],
            sat: [['00:00', '24:00']],
            sun: [['00:00', '24:00']],
          },
        }),
      ),
    },
    201,
  );
  const spaceC = await expect(
    inject,
    'space C',
    { method: 'POST', url: '/api/spaces', ...json(owner2, spaceInput({ name: 'Other Hall', cancellation_policy: 'strict', capacity: 200 })) },
    201,
  );
  pools.spaces.push(spaceA.id, spaceB.id, spaceC.id);
  const uploaded = await expect(
    inject,
    'image',
    {
      method: 'POST',
      url: `/api/spaces/${spaceA.id}/images`,
      headers: { ...bearer(owner), 'content-type': 'multipart/form-data; boundary=seed' },
      payload: multipart('seed', [{ name: 'images', filename: 'a.png', type: 'image/png', data: png }]),
    },
    201,
  );
  pools.images.push(...uploaded.images.map((image: { id: number }) => image.id));

  const slot = (space: { id: number }, day: number, hour: number, hours = 2) => ({
    space_id: space.id,
    start_time: new Date(base + day * DAY + hour * HOUR).toISOString(),
    end_time: new Date(base + day * DAY + (hour + hours) * HOUR).toISOString(),
  });
  const book = (user: TestUser, body: unknown) => expect(inject, 'booking', { method: 'POST', url: '/api/bookings', ...json(user, body) }, 201);
  const pending = await book(client, slot(spaceA, 0, 9));
  const confirmed = await book(client, slot(spaceA, 0, 13));
  const paid = await book(client, slot(spaceB, 1, 10));
  const other = await book(client2, slot(spaceC, 0, 10));
  pools.bookings.push(pending.id, confirmed.id, paid.id, other.id);
  for (const booking of [confirmed, paid])
    await expect(inject, 'approve', { method: 'PUT', url: `/api/bookings/${booking.id}/approve`, headers: bearer(owner) }, 200);
  const cash = await expect(
    inject,
    'cash payment',
    { method: 'POST', url: '/api/payments', ...json(client, { booking_id: confirmed.id, payment_method: 'cash' }) },
    201,
  );
  const completed = await insertCompletedPayment(app, paid.id);
  pools.payments.push(cash.id, completed.id);
  const method = await expect(
    inject,
    'payment method',
    { method: 'POST', url: '/api/users/me/payment-methods', ...json(client, { type: 'mpesa', phone_number: '0712345678' }) },
    201,
  );
  pools.paymentMethods.push(method.id);
  return { users, pools, base, png };
}
