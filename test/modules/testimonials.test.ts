import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { testimonials } from '../../src/db/schema/index.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { buildTestApp, call } from '../helpers/app.ts';
import { assertError, assertInvalidField } from '../helpers/assertions.ts';
import { createUser, type TestUser } from '../helpers/factories.ts';

const clock = new ManualClock('2030-03-01T09:00:00.000Z');
const app = await buildTestApp({ clock });
const db = app.services.database.db;
const admin = await createUser(app, { role: 'admin' });
const MISSING_ID = 2_000_000_000;
const KEYS = ['content', 'created_at', 'id', 'rating', 'updated_at', 'user_id', 'user_name'];

const text = (label = 'Spacer found me a room in minutes') => `${label}.`;

async function post(user: TestUser, body: Record<string, unknown>) {
  const response = await call(app, 'POST', '/api/testimonials', { token: user.token, body });
  assert.equal(response.status, 201, response.raw);
  return response.body;
}

const storedRow = async (id: number) => (await db.select().from(testimonials).where(eq(testimonials.id, id)))[0];

/** Moves the clock so each testimonial gets its own created_at (and some share one). */
const tick = (ms = 1000) => clock.advance(ms);

describe('POST /api/testimonials', () => {
  it('creates one with user_name from the account, whatever the body says', async () => {
    const user = await createUser(app, { first_name: 'Wanjiru', last_name: 'Kamau' });
    const response = await call(app, 'POST', '/api/testimonials', {
      token: user.token,
      body: { content: '  Great spaces, easy booking!  ', rating: 5, user_name: 'Someone Else', user_id: admin.id },
    });
    assert.equal(response.status, 201, response.raw);
    assert.deepEqual(Object.keys(response.body).sort(), KEYS);
    assert.equal(response.body.user_name, 'Wanjiru Kamau');
    assert.equal(response.body.user_id, user.id);
    assert.equal(response.body.content, 'Great spaces, easy booking!');
    assert.equal(response.body.rating, 5);
    assert.equal(response.body.created_at, clock.now().toISOString());
    const row = await storedRow(response.body.id);
    assert.equal(row?.userId, user.id);
  });

  it('lets any role write one (owner, admin)', async () => {
    for (const role of ['owner', 'admin'] as const) {
      const user = role === 'admin' ? admin : await createUser(app, { role });
      assert.equal((await post(user, { content: text(`Written by an ${role}`), rating: 4 })).user_id, user.id);
    }
  });

  it('accepts exactly 10 and 2000 characters (counted as characters, not bytes)', async () => {
    const user = await createUser(app);
    assert.equal((await post(user, { content: 'ñ'.repeat(10), rating: 3 })).content, 'ñ'.repeat(10));
    assert.equal((await post(user, { content: '😀'.repeat(2000), rating: 3 })).content.length, 4000);
  });

  for (const [label, body, field] of [
    ['content of 9 characters', { content: '123456789', rating: 3 }, 'content'],
    ['content that is 10 characters only with its spaces', { content: '   abcd   ', rating: 3 }, 'content'],
    ['content of 2001 characters', { content: 'a'.repeat(2001), rating: 3 }, 'content'],
    ['no content', { rating: 3 }, 'content'],
    ['a rating of 0', { content: text(), rating: 0 }, 'rating'],
    ['a rating of 6', { content: text(), rating: 6 }, 'rating'],
    ['a rating of 4.5', { content: text(), rating: 4.5 }, 'rating'],
    ['a rating as text', { content: text(), rating: 'five' }, 'rating'],
    ['no rating', { content: text() }, 'rating'],
  ] as const) {
    it(`returns 400 for ${label}`, async () => {
      const user = await createUser(app);
      assertInvalidField(await call(app, 'POST', '/api/testimonials', { token: user.token, body }), field);
    });
  }

  it('returns 401 without a token, and with a malformed one', async () => {
    assertError(await call(app, 'POST', '/api/testimonials', { body: { content: text(), rating: 5 } }), 401, 'unauthorized');
    assertError(await call(app, 'POST', '/api/testimonials', { token: 'not-a-jwt', body: { content: text(), rating: 5 } }), 401);
  });
});

describe('GET /api/testimonials', () => {
  it('lists newest first, ties broken by id, with pagination, min_rating and average_rating over the filtered set', async () => {
    // A clean slate: this describe owns the whole table.
    await db.delete(testimonials);
    const user = await createUser(app);
    const created = [];
    for (const [index, rating] of [5, 3, 4, 1, 5, 2].entries()) {
      if (index % 2 === 0) tick();
      created.push(await post(user, { content: text(`Testimonial number ${index}`), rating }));
    }
    const newestFirst = [...created].sort((a, b) => (a.created_at === b.created_at ? b.id - a.id : b.created_at.localeCompare(a.created_at)));

    const all = await call(app, 'GET', '/api/testimonials', { query: { per_page: '4' } });
    assert.equal(all.status, 200, all.raw);
    assert.deepEqual(
      all.body.testimonials.map((t: { id: number }) => t.id),
      newestFirst.slice(0, 4).map((t) => t.id),
    );
    assert.deepEqual([all.body.total, all.body.pages, all.body.current_page, all.body.per_page], [6, 2, 1, 4]);
    assert.equal(all.body.average_rating, 3.33);
    const second = await call(app, 'GET', '/api/testimonials', { query: { per_page: '4', page: '2' } });
    assert.deepEqual(
      second.body.testimonials.map((t: { id: number }) => t.id),
      newestFirst.slice(4).map((t) => t.id),
    );
    assert.equal(second.body.average_rating, 3.33, 'the average covers every match, not the page');

    const good = await call(app, 'GET', '/api/testimonials', { query: { min_rating: '4' } });
    assert.deepEqual(
      good.body.testimonials.map((t: { id: number }) => t.id),
      newestFirst.filter((t) => t.rating >= 4).map((t) => t.id),
    );
    assert.equal(good.body.total, 3);
    assert.equal(good.body.average_rating, 4.67);

    const past = await call(app, 'GET', '/api/testimonials', { query: { page: '9' } });
    assert.deepEqual(past.body.testimonials, []);
    assert.equal(past.body.total, 6);
  });

  it('lists each testimonial exactly as GET /api/testimonials/:id shows it: same keys in the same order, same text, names and timestamps', async () => {
    // The list is built by PostgreSQL, the single one by the JavaScript mapper: they must not drift.
    await db.delete(testimonials);
    const user = await createUser(app, { first_name: 'Zoë "Z"', last_name: "O'Brien \\ 東京" });
    tick(1234);
    const tricky = await post(user, { content: '  Line one\nline "two"\ttab </script> \u2028 emoji 🎉 ok  ', rating: 5 });
    tick(7);
    const plain = await post(user, { content: text(), rating: 2 });
    const response = await call(app, 'GET', '/api/testimonials');
    assert.equal(response.status, 200, response.raw);
    assert.match(String(response.headers['content-type']), /^application\/json; charset=utf-8/);
    for (const [index, id] of [plain.id, tricky.id].entries()) {
      const single = await call(app, 'GET', `/api/testimonials/${id}`);
      assert.equal(JSON.stringify(response.body.testimonials[index]), JSON.stringify(single.body));
    }
    assert.deepEqual(Object.keys(response.body), ['testimonials', 'total', 'pages', 'current_page', 'per_page', 'average_rating']);
    assert.equal(response.body.average_rating, 3.5);
    const exact = await call(app, 'GET', '/api/testimonials', { query: { min_rating: '5' } });
    assert.equal(exact.body.average_rating, 5);
    assert.deepEqual([exact.body.total, exact.body.testimonials[0].content], [1, tricky.content]);
  });

  it('answers average_rating null when nothing matches', async () => {
    await db.delete(testimonials);
    const response = await call(app, 'GET', '/api/testimonials', { query: { min_rating: '5' } });
    assert.equal(response.status, 200, response.raw);
    assert.deepEqual(response.body, { testimonials: [], total: 0, pages: 0, current_page: 1, per_page: 10, average_rating: null });
  });

  it("shows the author's current name, and keeps a deactivated author's testimonials", async () => {
    const user = await createUser(app, { first_name: 'Old', last_name: 'Name' });
    const created = await post(user, { content: text(), rating: 4 });
    assert.equal((await call(app, 'PUT', `/api/users/${user.id}`, { token: user.token, body: { first_name: 'New' } })).status, 200);
    assert.equal((await call(app, 'GET', `/api/testimonials/${created.id}`)).body.user_name, 'New Name');
    assert.equal((await call(app, 'DELETE', `/api/users/${user.id}`, { token: admin.token })).status, 200);
    assert.equal((await call(app, 'GET', `/api/testimonials/${created.id}`)).status, 200);
  });

  for (const [label, query, field] of [
    ['min_rating 0', { min_rating: '0' }, 'min_rating'],
    ['min_rating 6', { min_rating: '6' }, 'min_rating'],
    ['page 0', { page: '0' }, 'page'],
    ['per_page 101', { per_page: '101' }, 'per_page'],
  ] as const) {
    it(`returns 400 for ${label}`, async () => {
      assertInvalidField(await call(app, 'GET', '/api/testimonials', { query }), field);
    });
  }

  it('treats a bad token as anonymous', async () => {
    assert.equal((await call(app, 'GET', '/api/testimonials', { token: 'garbage' })).status, 200);
  });
});

describe('GET /api/testimonials/:id', () => {
  it('returns one to anyone', async () => {
    const created = await post(await createUser(app), { content: text(), rating: 2 });
    const response = await call(app, 'GET', `/api/testimonials/${created.id}`);
    assert.equal(response.status, 200, response.raw);
    assert.deepEqual(response.body, created);
  });

  it('returns 404 for a missing one, and never another row for a non-canonical id', async () => {
    assertError(await call(app, 'GET', `/api/testimonials/${MISSING_ID}`), 404, 'not_found');
    for (const id of ['07', '7.0', '0x7', 'abc']) {
      const response = await call(app, 'GET', `/api/testimonials/${id}`);
      assert.ok([400, 404].includes(response.status), `${id}: ${response.raw}`);
    }
  });
});

describe('PUT /api/testimonials/:id', () => {
  it('lets the author change content and rating; updated_at moves', async () => {
    const author = await createUser(app);
    const created = await post(author, { content: text(), rating: 2 });
    tick(60_000);
    const response = await call(app, 'PUT', `/api/testimonials/${created.id}`, {
      token: author.token,
      body: { content: 'Changed my mind: superb.', rating: 5, user_name: 'Spoof' },
    });
    assert.equal(response.status, 200, response.raw);
    assert.equal(response.body.content, 'Changed my mind: superb.');
    assert.equal(response.body.rating, 5);
    assert.equal(response.body.user_name, created.user_name);
    assert.equal(response.body.created_at, created.created_at);
    assert.equal(response.body.updated_at, clock.now().toISOString());
    assert.equal((await storedRow(created.id))?.rating, 5);
  });

  it('returns 403 to everyone else: another client, an owner, an admin', async () => {
    const author = await createUser(app);
    const created = await post(author, { content: text(), rating: 3 });
    for (const other of [await createUser(app), await createUser(app, { role: 'owner' }), admin]) {
      assertError(await call(app, 'PUT', `/api/testimonials/${created.id}`, { token: other.token, body: { rating: 1 } }), 403, 'forbidden');
    }
    assert.equal((await storedRow(created.id))?.rating, 3);
  });

  it('returns 400 for an empty change or a short content, 401 without a token, 404 for a missing one', async () => {
    const author = await createUser(app);
    const created = await post(author, { content: text(), rating: 3 });
    assertError(await call(app, 'PUT', `/api/testimonials/${created.id}`, { token: author.token, body: {} }), 400, 'validation_error');
    assertInvalidField(await call(app, 'PUT', `/api/testimonials/${created.id}`, { token: author.token, body: { content: 'short' } }), 'content');
    assertError(await call(app, 'PUT', `/api/testimonials/${created.id}`, { body: { rating: 1 } }), 401, 'unauthorized');
    assertError(await call(app, 'PUT', `/api/testimonials/${MISSING_ID}`, { token: author.token, body: { rating: 1 } }), 404, 'not_found');
  });
});

describe('DELETE /api/testimonials/:id', () => {
  it('lets the author delete it', async () => {
    const author = await createUser(app);
    const created = await post(author, { content: text(), rating: 3 });
    const response = await call(app, 'DELETE', `/api/testimonials/${created.id}`, { token: author.token });
    assert.equal(response.status, 200, response.raw);
    assert.equal(typeof response.body.message, 'string');
    assert.equal(await storedRow(created.id), undefined);
    assertError(await call(app, 'GET', `/api/testimonials/${created.id}`), 404, 'not_found');
  });

  it("lets an admin delete anyone's", async () => {
    const created = await post(await createUser(app), { content: text(), rating: 3 });
    assert.equal((await call(app, 'DELETE', `/api/testimonials/${created.id}`, { token: admin.token })).status, 200);
    assert.equal(await storedRow(created.id), undefined);
  });

  it('returns 403 to another client and to an owner, 401 without a token, 404 for a missing one', async () => {
    const created = await post(await createUser(app), { content: text(), rating: 3 });
    for (const other of [await createUser(app), await createUser(app, { role: 'owner' })]) {
      assertError(await call(app, 'DELETE', `/api/testimonials/${created.id}`, { token: other.token }), 403, 'forbidden');
    }
    assertError(await call(app, 'DELETE', `/api/testimonials/${created.id}`), 401, 'unauthorized');
    assert.ok(await storedRow(created.id));
    assertError(await call(app, 'DELETE', `/api/testimonials/${MISSING_ID}`, { token: admin.token }), 404, 'not_found');
  });
});
