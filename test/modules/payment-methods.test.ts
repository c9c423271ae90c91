import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { paymentMethods } from '../../src/db/schema/index.ts';
import { call } from '../helpers/app.ts';
import { assertError, assertInvalidField } from '../helpers/assertions.ts';
import { createUser, type TestUser } from '../helpers/factories.ts';
import { paymentsApp } from '../helpers/payments.ts';

/** /api/users/me/payment-methods: saved M-Pesa numbers and card tokens, never card numbers. */

const { app, logs, db } = await paymentsApp({ fakes: false });
const PATH = '/api/users/me/payment-methods';

const add = (user: TestUser, body: unknown) => call(app, 'POST', PATH, { token: user.token, body });
const list = async (user: TestUser) => (await call(app, 'GET', PATH, { token: user.token })).body.payment_methods as Array<Record<string, unknown>>;
const storedOf = (user: TestUser) => db.select().from(paymentMethods).where(eq(paymentMethods.userId, user.id));

describe('GET /api/users/me/payment-methods', () => {
  it("lists the caller's own methods only, the default first", async () => {
    const user = await createUser(app);
    const other = await createUser(app);
    const empty = await call(app, 'GET', PATH, { token: user.token });
    assert.equal(empty.status, 200, empty.raw);
    assert.deepEqual(empty.body, { payment_methods: [] });
    assert.equal(empty.headers['cache-control'], 'no-store');
    await add(other, { type: 'mpesa', phone_number: '0799000111' });
    const first = await add(user, { type: 'mpesa', phone_number: '0711000222' });
    const second = await add(user, { type: 'card', provider_token: 'pm_card_mastercard', brand: 'Mastercard', last4: '4444', is_default: true });
    assert.deepEqual(
      (await list(user)).map((method) => [method.id, method.is_default]),
      [
        [second.body.id, true],
        [first.body.id, false],
      ],
    );
  });

  it('answers 401 anonymous', async () => {
    assertError(await call(app, 'GET', PATH), 401);
  });
});

describe('POST /api/users/me/payment-methods', () => {
  it('saves an M-Pesa number normalised, the first method being the default', async () => {
    const user = await createUser(app);
    const saved = await add(user, { type: 'mpesa', phone_number: '+254 712-345-678' });
    assert.equal(saved.status, 201, saved.raw);
    assert.equal(saved.body.type, 'mpesa');
    assert.equal(saved.body.phone_number, '254712345678');
    assert.equal(saved.body.is_default, true);
    assert.equal(typeof saved.body.label, 'string');
    assert.ok(saved.body.created_at);
    const next = await add(user, { type: 'mpesa', phone_number: '0110 000 333', label: 'Work phone' });
    assert.equal(next.body.phone_number, '254110000333');
    assert.equal(next.body.is_default, false);
    assert.equal(next.body.label, 'Work phone');
    const rows = await storedOf(user);
    assert.deepEqual(rows.map((row) => row.phoneNumber).sort(), ['254110000333', '254712345678']);
  });

  it('saves a card as its provider token, brand and last 4 only; the token is never shown back', async () => {
    const user = await createUser(app);
    const saved = await add(user, { type: 'card', provider_token: 'pm_1Q2w3E4r5T6y', brand: 'Visa', last4: '4242' });
    assert.equal(saved.status, 201, saved.raw);
    assert.deepEqual(Object.keys(saved.body).sort(), ['brand', 'created_at', 'id', 'is_default', 'label', 'last4', 'type']);
    assert.equal(saved.body.brand, 'Visa');
    assert.equal(saved.body.last4, '4242');
    assert.equal(saved.body.label, 'Visa ending 4242');
    const [row] = await storedOf(user);
    assert.equal(row!.providerToken, 'pm_1Q2w3E4r5T6y');
  });

  it('answers 400 for a phone that is not Kenyan, a card without a token, or an unknown type', async () => {
    const user = await createUser(app);
    for (const phone of ['0812345678', '+255712345678', '12345']) assertError(await add(user, { type: 'mpesa', phone_number: phone }), 400);
    assertError(await add(user, { type: 'card', brand: 'Visa', last4: '4242' }), 400);
    assertError(await add(user, { type: 'card', provider_token: 'pm_x1', brand: 'Visa', last4: '42' }), 400);
    assertError(await add(user, { type: 'paypal', email: 'a@b.c' }), 400);
    assertInvalidField(await add(user, { type: 'mpesa', phone_number: '0812345678' }), 'phone_number', 'body', 'body/phone_number');
    assert.equal((await storedOf(user)).length, 0);
  });

  const cardBodies: Array<[string, unknown, string[]]> = [
    ['a raw number field', { type: 'card', provider_token: 'pm_ok', brand: 'Visa', last4: '1111', card_number: '4111111111111111' }, ['4111111111111111']],
    ['spaces in a label', { type: 'mpesa', phone_number: '0712345678', label: 'my card 4111 1111 1111 1111' }, ['4111 1111 1111 1111', '4111111111111111']],
    [
      'dashes, nested deep',
      { type: 'card', provider_token: 'pm_ok', brand: 'Visa', last4: '1111', meta: { notes: [{ text: 'use 4111-1111-1111-1111 exp 09/28' }] } },
      ['4111-1111-1111-1111', '4111111111111111'],
    ],
    ['as the provider token', { type: 'card', provider_token: '4111111111111111', brand: 'Visa', last4: '1111' }, ['4111111111111111']],
    ['13 digits', { type: 'mpesa', phone_number: '0712345678', label: 'card 4222222222222' }, ['4222222222222']],
    ['19 digits', { type: 'mpesa', phone_number: '0712345678', label: 'x 4111111111111111110 y' }, ['4111111111111111110']],
    ['a bare JSON number', { type: 'card', provider_token: 'pm_ok', brand: 'Visa', last4: '1111', pan: 4111111111111111 }, ['4111111111111111']],
  ];
  for (const [what, body, digits] of cardBodies) {
    it(`refuses a card number (${what}) with 400 card_number_refused: never stored, never logged`, async () => {
      const user = await createUser(app);
      const mark = logs.lines.length;
      const response = await add(user, body);
      assertError(response, 400, 'card_number_refused');
      for (const number of digits) assert.ok(!response.raw.includes(number), 'not echoed');
      assert.equal((await storedOf(user)).length, 0);
      const logged = logs.since(mark);
      assert.ok(logged.length > 0, 'the request was logged at all');
      for (const number of digits) assert.ok(!logged.includes(number), `the log holds ${number}: ${logged}`);
    });
  }

  it('never logs a card number from a body that is not even valid JSON', async () => {
    const user = await createUser(app);
    const mark = logs.lines.length;
    const response = await app.inject({
      method: 'POST',
      url: PATH,
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      payload: '{"type":"card","label":"4111 1111 1111 1111",',
    });
    assert.equal(response.statusCode, 400);
    assert.ok(!response.body.includes('4111'), response.body);
    assert.ok(!logs.since(mark).includes('4111'), logs.since(mark));
    assert.equal((await storedOf(user)).length, 0);
  });

  it('accepts a 16-digit run that fails the Luhn check (not a card)', async () => {
    const user = await createUser(app);
    const saved = await add(user, { type: 'mpesa', phone_number: '0712345678', label: 'ref 4111 1111 1111 1112' });
    assert.equal(saved.status, 201, saved.raw);
  });

  it('answers 401 anonymous', async () => {
    assertError(await call(app, 'POST', PATH, { body: { type: 'mpesa', phone_number: '0712345678' } }), 401);
  });
});

describe('DELETE /api/users/me/payment-methods/:id', () => {
  it("removes the caller's method, and the next one becomes the default", async () => {
    const user = await createUser(app);
    const first = await add(user, { type: 'mpesa', phone_number: '0712000001' });
    const second = await add(user, { type: 'mpesa', phone_number: '0712000002' });
    const removed = await call(app, 'DELETE', `${PATH}/${first.body.id}`, { token: user.token });
    assert.equal(removed.status, 200, removed.raw);
    assert.equal(typeof removed.body.message, 'string');
    assert.deepEqual(
      (await list(user)).map((method) => [method.id, method.is_default]),
      [[second.body.id, true]],
    );
    assert.equal((await storedOf(user)).length, 1);
    assertError(await call(app, 'DELETE', `${PATH}/${first.body.id}`, { token: user.token }), 404, 'not_found');
  });

  it("answers 404 for another user's method and leaves it", async () => {
    const owner = await createUser(app);
    const intruder = await createUser(app);
    const saved = await add(owner, { type: 'mpesa', phone_number: '0712000003' });
    assertError(await call(app, 'DELETE', `${PATH}/${saved.body.id}`, { token: intruder.token }), 404, 'not_found');
    assert.equal((await storedOf(owner)).length, 1);
  });

  it('answers 401 anonymous and 400 for an id that is not one', async () => {
    const user = await createUser(app);
    assertError(await call(app, 'DELETE', `${PATH}/1`), 401);
    assertError(await call(app, 'DELETE', `${PATH}/abc`, { token: user.token }), 400);
  });
});
