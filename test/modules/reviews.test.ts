import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import fc from 'fast-check';
import { queryRows } from '../../src/db/client.ts';
import { bookings, reviews, spaces, type BookingStatus } from '../../src/db/schema/index.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { buildTestApp, call } from '../helpers/app.ts';
import { assertError, assertInvalidField } from '../helpers/assertions.ts';
import { createBooking, insertCompletedPayment, storedBooking } from '../helpers/bookings.ts';
import { createUser, type TestUser } from '../helpers/factories.ts';
import { createSpace } from '../helpers/spaces.ts';

// Tokens outlive the clock's moves: the last test moves it days ahead so a booking completes.
const clock = new ManualClock('2030-05-06T08:00:00.000Z');
const app = await buildTestApp({ clock, env: { ACCESS_TOKEN_TTL: '365d' } });
const db = app.services.database.db;
const admin = await createUser(app, { role: 'admin' });
const MISSING_ID = 2_000_000_000;
const KEYS = ['comment', 'created_at', 'id', 'rating', 'space_id', 'updated_at', 'user_id', 'user_name'];

/** A booking in the past written straight to the table (the API cannot book the past). */
async function pastBooking(userId: number, spaceId: number, status: BookingStatus = 'completed') {
  const start = new Date(clock.now().getTime() - 10 * 86_400_000 - Math.floor(Math.random() * 1e9));
  const end = new Date(start.getTime() + 3_600_000);
  const [row] = await db
    .insert(bookings)
    .values({
      spaceId,
      userId,
      startTime: start,
      endTime: end,
      blockedUntil: end,
      totalPrice: 100_000,
      currency: 'KES',
      status,
      paymentStatus: status === 'completed' ? 'paid' : 'unpaid',
    })
    .returning();
  return row!;
}

/** A client who used a new space (a completed booking of it), and the space's owner. */
async function guestOfNewSpace(names: { first_name?: string; last_name?: string } = {}) {
  const owner = await createUser(app, { role: 'owner' });
  const space = await createSpace(app, owner.token);
  const guest = await createUser(app, names);
  await pastBooking(guest.id, space.id);
  return { owner, space, guest };
}

async function review(user: TestUser, spaceId: number, body: Record<string, unknown>) {
  const response = await call(app, 'POST', `/api/spaces/${spaceId}/reviews`, { token: user.token, body });
  assert.equal(response.status, 201, response.raw);
  return response.body;
}

const ratingOf = async (spaceId: number) => (await call(app, 'GET', `/api/spaces/${spaceId}`)).body.rating;

/** What a fresh scan of the reviews says, to hold the trigger-kept columns against. */
async function scannedRating(spaceId: number) {
  const [row] = await queryRows<{ average: string | null; count: number }>(
    db,
    sql`select round(avg(rating), 2) as average, count(*)::int as count from reviews where space_id = ${spaceId}`,
  );
  return { average: row!.average === null ? null : Number(row!.average), count: row!.count };
}

async function storedCounters(spaceId: number) {
  const [row] = await db.select({ sum: spaces.ratingSum, count: spaces.ratingCount }).from(spaces).where(eq(spaces.id, spaceId));
  const [scan] = await queryRows<{ sum: number; count: number }>(
    db,
    sql`select coalesce(sum(rating), 0)::int as sum, count(*)::int as count from reviews where space_id = ${spaceId}`,
  );
  return { stored: row!, scanned: scan! };
}

describe('POST /api/spaces/:id/reviews', () => {
  it('lets a guest with a completed booking review the space; the rating counts it at once', async () => {
    const { space, guest } = await guestOfNewSpace({ first_name: 'Achieng', last_name: 'Otieno' });
    assert.deepEqual(await ratingOf(space.id), { average: null, count: 0 });
    const response = await call(app, 'POST', `/api/spaces/${space.id}/reviews`, {
      token: guest.token,
      body: { rating: 4, comment: '  Bright and quiet.  ', user_id: admin.id, user_name: 'Spoof' },
    });
    assert.equal(response.status, 201, response.raw);
    assert.deepEqual(Object.keys(response.body).sort(), KEYS);
    assert.deepEqual(
      {
        space_id: response.body.space_id,
        user_id: response.body.user_id,
        user_name: response.body.user_name,
        rating: response.body.rating,
        comment: response.body.comment,
      },
      { space_id: space.id, user_id: guest.id, user_name: 'Achieng Otieno', rating: 4, comment: 'Bright and quiet.' },
    );
    assert.deepEqual(await ratingOf(space.id), { average: 4, count: 1 });
  });

  it('accepts no comment, and a comment of exactly 2000 characters', async () => {
    const a = await guestOfNewSpace();
    assert.equal((await review(a.guest, a.space.id, { rating: 5 })).comment, null);
    const b = await guestOfNewSpace();
    assert.equal((await review(b.guest, b.space.id, { rating: 5, comment: 'é'.repeat(2000) })).comment, 'é'.repeat(2000));
  });

  it('returns 409 already_exists for a second review, and under two concurrent requests exactly one wins', async () => {
    const { space, guest } = await guestOfNewSpace();
    await review(guest, space.id, { rating: 3 });
    assertError(await call(app, 'POST', `/api/spaces/${space.id}/reviews`, { token: guest.token, body: { rating: 5 } }), 409, 'already_exists');

    const other = await guestOfNewSpace();
    const answers = await Promise.all(
      [1, 5].map((rating) => call(app, 'POST', `/api/spaces/${other.space.id}/reviews`, { token: other.guest.token, body: { rating } })),
    );
    assert.deepEqual(answers.map((answer) => answer.status).sort(), [201, 409]);
    assertError(
      answers.find((answer) => answer.status === 409)!,
      409,
      'already_exists',
    );
    const winner = answers.find((answer) => answer.status === 201)!.body;
    assert.deepEqual(await ratingOf(other.space.id), { average: winner.rating, count: 1 });
  });

  for (const status of ['pending', 'confirmed', 'cancelled'] as const) {
    it(`returns 403 to a client whose booking of the space is ${status}`, async () => {
      const owner = await createUser(app, { role: 'owner' });
      const space = await createSpace(app, owner.token);
      const client = await createUser(app);
      await pastBooking(client.id, space.id, status);
      assertError(await call(app, 'POST', `/api/spaces/${space.id}/reviews`, { token: client.token, body: { rating: 5 } }), 403, 'forbidden');
      assert.deepEqual(await ratingOf(space.id), { average: null, count: 0 });
    });
  }

  it('returns 403 to a client whose completed booking is of another space, to one with no booking, to another owner and to an admin', async () => {
    const { space: used, guest } = await guestOfNewSpace();
    const owner = await createUser(app, { role: 'owner' });
    const space = await createSpace(app, owner.token);
    const refused = [guest, await createUser(app), await createUser(app, { role: 'owner' }), admin];
    for (const user of refused)
      assertError(await call(app, 'POST', `/api/spaces/${space.id}/reviews`, { token: user.token, body: { rating: 5 } }), 403, 'forbidden');
    assert.deepEqual(await ratingOf(space.id), { average: null, count: 0 });
    assert.deepEqual(await ratingOf(used.id), { average: null, count: 0 });
  });

  it("returns 403 to the space's owner, even with a completed booking of it", async () => {
    const owner = await createUser(app, { role: 'owner' });
    const space = await createSpace(app, owner.token);
    await pastBooking(owner.id, space.id);
    assertError(await call(app, 'POST', `/api/spaces/${space.id}/reviews`, { token: owner.token, body: { rating: 5 } }), 403, 'forbidden');
  });

  for (const [label, body, field] of [
    ['a rating of 0', { rating: 0 }, 'rating'],
    ['a rating of 6', { rating: 6 }, 'rating'],
    ['a rating of 3.5', { rating: 3.5 }, 'rating'],
    ['no rating', { comment: 'Nice' }, 'rating'],
    ['a comment of 2001 characters', { rating: 4, comment: 'a'.repeat(2001) }, 'comment'],
  ] as const) {
    it(`returns 400 for ${label}`, async () => {
      const { space, guest } = await guestOfNewSpace();
      assertInvalidField(await call(app, 'POST', `/api/spaces/${space.id}/reviews`, { token: guest.token, body }), field);
    });
  }

  it('returns 401 without a token and 404 for a missing or archived space', async () => {
    const { owner, space, guest } = await guestOfNewSpace();
    assertError(await call(app, 'POST', `/api/spaces/${space.id}/reviews`, { body: { rating: 5 } }), 401, 'unauthorized');
    assertError(await call(app, 'POST', `/api/spaces/${MISSING_ID}/reviews`, { token: guest.token, body: { rating: 5 } }), 404, 'not_found');
    assert.equal((await call(app, 'DELETE', `/api/spaces/${space.id}`, { token: owner.token })).status, 200);
    assertError(await call(app, 'POST', `/api/spaces/${space.id}/reviews`, { token: guest.token, body: { rating: 5 } }), 404, 'not_found');
  });
});

describe('GET /api/spaces/:id/reviews', () => {
  it("lists a space's reviews newest first (ties by id), paginated, to anyone; a deactivated author's reviews stay", async () => {
    const owner = await createUser(app, { role: 'owner' });
    const space = await createSpace(app, owner.token);
    const created = [];
    for (let index = 0; index < 5; index++) {
      if (index % 2 === 0) clock.advance(1000);
      const guest = await createUser(app);
      await pastBooking(guest.id, space.id);
      created.push({ guest, review: await review(guest, space.id, { rating: index + 1, comment: `Visit ${index}` }) });
    }
    const expected = created
      .map((entry) => entry.review)
      .sort((a, b) => (a.created_at === b.created_at ? b.id - a.id : b.created_at.localeCompare(a.created_at)))
      .map((r) => r.id);
    const first = await call(app, 'GET', `/api/spaces/${space.id}/reviews`, { query: { per_page: '3' } });
    assert.equal(first.status, 200, first.raw);
    assert.deepEqual([first.body.total, first.body.pages, first.body.current_page, first.body.per_page], [5, 2, 1, 3]);
    const second = await call(app, 'GET', `/api/spaces/${space.id}/reviews`, { query: { per_page: '3', page: '2' }, token: 'garbage' });
    assert.deepEqual(
      [...first.body.reviews, ...second.body.reviews].map((r: { id: number }) => r.id),
      expected,
    );

    assert.equal((await call(app, 'DELETE', `/api/users/${created[0]!.guest.id}`, { token: admin.token })).status, 200);
    const after = await call(app, 'GET', `/api/spaces/${space.id}/reviews`, { query: { per_page: '10' } });
    assert.equal(after.body.total, 5);
    assert.deepEqual(await ratingOf(space.id), { average: 3, count: 5 });
  });

  it('lists each review exactly as GET /api/reviews/:id shows it (same keys in the same order), a page past the end empty, an archived space 404', async () => {
    // The list is built by PostgreSQL, the single review by the JavaScript mapper: they must not drift.
    const { owner, space, guest } = await guestOfNewSpace({ first_name: 'Zoë "Z"', last_name: "O'Brien \\ 東京" });
    clock.advance(1234);
    const withComment = await review(guest, space.id, { rating: 4, comment: 'Quiet "room"\nnew line </script> 🎉' });
    const other = await createUser(app);
    await pastBooking(other.id, space.id);
    const withoutComment = await review(other, space.id, { rating: 1 });
    const response = await call(app, 'GET', `/api/spaces/${space.id}/reviews`);
    assert.equal(response.status, 200, response.raw);
    assert.match(String(response.headers['content-type']), /^application\/json; charset=utf-8/);
    assert.deepEqual(Object.keys(response.body), ['reviews', 'total', 'pages', 'current_page', 'per_page']);
    for (const [index, id] of [withoutComment.id, withComment.id].entries()) {
      const single = await call(app, 'GET', `/api/reviews/${id}`);
      assert.equal(JSON.stringify(response.body.reviews[index]), JSON.stringify(single.body));
    }
    assert.equal(response.body.reviews[0].comment, null);
    const past = await call(app, 'GET', `/api/spaces/${space.id}/reviews`, { query: { page: '3', per_page: '1' } });
    assert.deepEqual(past.body, { reviews: [], total: 2, pages: 2, current_page: 3, per_page: 1 });

    assert.equal((await call(app, 'DELETE', `/api/spaces/${space.id}`, { token: owner.token })).status, 200);
    assertError(await call(app, 'GET', `/api/spaces/${space.id}/reviews`), 404, 'not_found');
  });

  it('returns 404 for a missing space and 400 for a bad page', async () => {
    assertError(await call(app, 'GET', `/api/spaces/${MISSING_ID}/reviews`), 404, 'not_found');
    const { space } = await guestOfNewSpace();
    assertInvalidField(await call(app, 'GET', `/api/spaces/${space.id}/reviews`, { query: { per_page: '0' } }), 'per_page');
  });
});

describe('GET /api/reviews/:id', () => {
  it('returns one review to anyone, and 404 for a missing one', async () => {
    const { space, guest } = await guestOfNewSpace();
    const created = await review(guest, space.id, { rating: 4, comment: 'Good light' });
    const response = await call(app, 'GET', `/api/reviews/${created.id}`);
    assert.equal(response.status, 200, response.raw);
    assert.deepEqual(response.body, created);
    assertError(await call(app, 'GET', `/api/reviews/${MISSING_ID}`), 404, 'not_found');
  });
});

describe('PUT /api/reviews/:id', () => {
  it("lets the author change rating and comment; the space's rating follows", async () => {
    const { space, guest } = await guestOfNewSpace();
    const created = await review(guest, space.id, { rating: 2, comment: 'Noisy' });
    clock.advance(60_000);
    const response = await call(app, 'PUT', `/api/reviews/${created.id}`, { token: guest.token, body: { rating: 5, comment: null } });
    assert.equal(response.status, 200, response.raw);
    assert.equal(response.body.rating, 5);
    assert.equal(response.body.comment, null);
    assert.equal(response.body.updated_at, clock.now().toISOString());
    assert.deepEqual(await ratingOf(space.id), { average: 5, count: 1 });
    const commentOnly = await call(app, 'PUT', `/api/reviews/${created.id}`, { token: guest.token, body: { comment: 'Fixed the noise' } });
    assert.equal(commentOnly.body.rating, 5);
    assert.deepEqual(await ratingOf(space.id), { average: 5, count: 1 });
  });

  it("returns 403 to everyone else: the space's owner, another client, an admin", async () => {
    const { owner, space, guest } = await guestOfNewSpace();
    const created = await review(guest, space.id, { rating: 2 });
    for (const user of [owner, await createUser(app), admin]) {
      assertError(await call(app, 'PUT', `/api/reviews/${created.id}`, { token: user.token, body: { rating: 5 } }), 403, 'forbidden');
    }
    assert.deepEqual(await ratingOf(space.id), { average: 2, count: 1 });
  });

  it('returns 400 for an empty change or a bad rating, 401 without a token, 404 for a missing review', async () => {
    const { space, guest } = await guestOfNewSpace();
    const created = await review(guest, space.id, { rating: 2 });
    assertError(await call(app, 'PUT', `/api/reviews/${created.id}`, { token: guest.token, body: {} }), 400, 'validation_error');
    assertInvalidField(await call(app, 'PUT', `/api/reviews/${created.id}`, { token: guest.token, body: { rating: 9 } }), 'rating');
    assertError(await call(app, 'PUT', `/api/reviews/${created.id}`, { body: { rating: 5 } }), 401, 'unauthorized');
    assertError(await call(app, 'PUT', `/api/reviews/${MISSING_ID}`, { token: guest.token, body: { rating: 5 } }), 404, 'not_found');
  });
});

describe('DELETE /api/reviews/:id', () => {
  it('lets the author delete it; the rating drops it, and the guest may review again', async () => {
    const { space, guest } = await guestOfNewSpace();
    const created = await review(guest, space.id, { rating: 2 });
    const response = await call(app, 'DELETE', `/api/reviews/${created.id}`, { token: guest.token });
    assert.equal(response.status, 200, response.raw);
    assert.equal(typeof response.body.message, 'string');
    assert.deepEqual(await ratingOf(space.id), { average: null, count: 0 });
    await review(guest, space.id, { rating: 4 });
    assert.deepEqual(await ratingOf(space.id), { average: 4, count: 1 });
  });

  it('lets an admin delete any review', async () => {
    const { space, guest } = await guestOfNewSpace();
    const created = await review(guest, space.id, { rating: 2 });
    assert.equal((await call(app, 'DELETE', `/api/reviews/${created.id}`, { token: admin.token })).status, 200);
    assertError(await call(app, 'GET', `/api/reviews/${created.id}`), 404, 'not_found');
  });

  it("returns 403 to the space's owner and another client, 401 without a token, 404 for a missing review", async () => {
    const { owner, space, guest } = await guestOfNewSpace();
    const created = await review(guest, space.id, { rating: 2 });
    for (const user of [owner, await createUser(app)])
      assertError(await call(app, 'DELETE', `/api/reviews/${created.id}`, { token: user.token }), 403, 'forbidden');
    assertError(await call(app, 'DELETE', `/api/reviews/${created.id}`), 401, 'unauthorized');
    assertError(await call(app, 'DELETE', `/api/reviews/${MISSING_ID}`, { token: admin.token }), 404, 'not_found');
    assert.deepEqual(await ratingOf(space.id), { average: 2, count: 1 });
  });
});

describe('the space rating', () => {
  it('orders sort=rating by average, then count, then id; spaces without reviews last', async () => {
    const owner = await createUser(app, { role: 'owner' });
    const ratings: Record<string, number[]> = {
      none: [],
      'avg4.5x2-a': [4, 5],
      avg5x1: [5],
      'also-none': [],
      'avg4.5x2-b': [5, 4],
      avg2x1: [2],
      avg5x2: [5, 5],
    };
    const made: Record<string, { id: number }> = {};
    for (const name of Object.keys(ratings)) made[name] = await createSpace(app, owner.token, { name });
    for (const [name, list] of Object.entries(ratings)) {
      for (const rating of list) {
        const guest = await createUser(app);
        await pastBooking(guest.id, made[name]!.id);
        await review(guest, made[name]!.id, { rating });
      }
    }
    const response = await call(app, 'GET', '/api/spaces', { query: { owner_id: String(owner.id), sort: 'rating', per_page: '20' } });
    assert.equal(response.status, 200, response.raw);
    const order = response.body.spaces.map((space: { name: string }) => space.name);
    assert.deepEqual(order, ['avg5x2', 'avg5x1', 'avg4.5x2-a', 'avg4.5x2-b', 'avg2x1', 'none', 'also-none']);
    assert.deepEqual(response.body.spaces[2].rating, { average: 4.5, count: 2 });
    assert.deepEqual(response.body.spaces[5].rating, { average: null, count: 0 });
  });

  it('folds multi-row statements into the right totals per space (the triggers)', async () => {
    const owner = await createUser(app, { role: 'owner' });
    const [a, b] = [await createSpace(app, owner.token), await createSpace(app, owner.token)];
    const guests = [await createUser(app), await createUser(app), await createUser(app)];
    await db.insert(reviews).values([
      { spaceId: a.id, userId: guests[0]!.id, rating: 5 },
      { spaceId: a.id, userId: guests[1]!.id, rating: 2 },
      { spaceId: b.id, userId: guests[2]!.id, rating: 3 },
    ]);
    await db
      .update(reviews)
      .set({ rating: sql`6 - ${reviews.rating}` })
      .where(sql`${reviews.spaceId} in (${a.id}, ${b.id})`);
    await db.update(reviews).set({ spaceId: b.id }).where(eq(reviews.userId, guests[0]!.id));
    for (const id of [a.id, b.id]) {
      const { stored, scanned } = await storedCounters(id);
      assert.deepEqual(stored, scanned);
    }
    await db.delete(reviews).where(sql`${reviews.spaceId} in (${a.id}, ${b.id})`);
    assert.deepEqual(await ratingOf(a.id), { average: null, count: 0 });
    assert.deepEqual(await ratingOf(b.id), { average: null, count: 0 });
  });

  it('always equals a fresh avg() after random inserts, edits and deletes (property)', async () => {
    const owner = await createUser(app, { role: 'owner' });
    const spaceIds = [(await createSpace(app, owner.token)).id, (await createSpace(app, owner.token)).id];
    const guests: TestUser[] = [];
    for (let index = 0; index < 4; index++) {
      const guest = await createUser(app);
      for (const spaceId of spaceIds) await pastBooking(guest.id, spaceId);
      guests.push(guest);
    }
    const step = fc.record({
      kind: fc.constantFrom('create', 'update', 'delete'),
      guest: fc.nat(guests.length - 1),
      space: fc.nat(spaceIds.length - 1),
      rating: fc.integer({ min: 1, max: 5 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const written = new Map<string, number>();
        for (const { kind, guest, space, rating } of steps) {
          const key = `${guest}:${space}`;
          const user = guests[guest]!;
          const spaceId = spaceIds[space]!;
          const id = written.get(key);
          if (kind === 'create' || id === undefined) {
            const response = await call(app, 'POST', `/api/spaces/${spaceId}/reviews`, { token: user.token, body: { rating } });
            assert.equal(response.status, id === undefined ? 201 : 409, response.raw);
            if (response.status === 201) written.set(key, response.body.id);
          } else if (kind === 'update') {
            assert.equal((await call(app, 'PUT', `/api/reviews/${id}`, { token: user.token, body: { rating } })).status, 200);
          } else {
            assert.equal((await call(app, 'DELETE', `/api/reviews/${id}`, { token: user.token })).status, 200);
            written.delete(key);
          }
          for (const checked of spaceIds) assert.deepEqual(await ratingOf(checked), await scannedRating(checked));
        }
        // Each run starts from no reviews.
        for (const id of written.values()) await db.delete(reviews).where(eq(reviews.id, id));
      }),
      { numRuns: 12 },
    );
  });
});

describe('a review after a booking completes (the clock moves)', () => {
  it('is refused while the booking is confirmed and accepted once the sweep completes it', async () => {
    const owner = await createUser(app, { role: 'owner' });
    const space = await createSpace(app, owner.token);
    const guest = await createUser(app);
    const start = new Date(clock.now().getTime() + 2 * 86_400_000);
    start.setUTCHours(9, 0, 0, 0);
    const booking = await createBooking(app, guest.token, {
      space_id: space.id,
      start_time: start.toISOString(),
      end_time: new Date(start.getTime() + 2 * 3_600_000).toISOString(),
    });
    assertError(await call(app, 'POST', `/api/spaces/${space.id}/reviews`, { token: guest.token, body: { rating: 5 } }), 403, 'forbidden');
    assert.equal((await call(app, 'PUT', `/api/bookings/${booking.id}/approve`, { token: owner.token })).status, 200);
    await insertCompletedPayment(app, booking.id);
    assertError(await call(app, 'POST', `/api/spaces/${space.id}/reviews`, { token: guest.token, body: { rating: 5 } }), 403, 'forbidden');

    clock.advance(3 * 86_400_000);
    await app.services.bookings.sweep();
    assert.equal((await storedBooking(app, booking.id))?.status, 'completed');
    const created = await review(guest, space.id, { rating: 5, comment: 'Worth it' });
    assert.equal(created.rating, 5);
    assert.deepEqual(await ratingOf(space.id), { average: 5, count: 1 });
  });
});
