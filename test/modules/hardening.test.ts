import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { createSigner } from 'fast-jwt';
import { bookings, idempotencyKeys, users } from '../../src/db/schema/index.ts';
import { buildTestApp, call, TEST_SECRETS } from '../helpers/app.ts';
import { assertError } from '../helpers/assertions.ts';
import { createUser } from '../helpers/factories.ts';
import { createSpace } from '../helpers/spaces.ts';

/** The classes of bad input an outside check found; each answered by one mechanism, never a 500. */

const app = await buildTestApp();
const db = app.services.database.db;
const admin = await createUser(app, { role: 'admin' });

describe('ids in paths and query strings', () => {
  it('refuses every non-canonical spelling with 400, and never acts on another row', async () => {
    const victim = await createUser(app);
    const hex = `0x${victim.id.toString(16)}`;
    for (const spelling of [
      hex,
      `+${victim.id}`,
      `0${victim.id}`,
      `%20${victim.id}`,
      `${victim.id}.0`,
      `${victim.id}e0`,
      '4e1',
      '1e3',
      '0',
      '-1',
      '2147483648',
    ]) {
      const response = await call(app, 'DELETE', `/api/users/${spelling}`, { token: admin.token });
      assertError(response, 400, 'validation_error');
      assert.equal(response.body.details[0].field, 'id');
    }
    const [row] = await db.select().from(users).where(eq(users.id, victim.id));
    assert.equal(row!.isActive, true, 'no spelling deactivated the user');
    assert.equal((await call(app, 'GET', `/api/users/${victim.id}`, { token: admin.token })).status, 200);
  });

  it('holds query-string ids to the same rule', async () => {
    assertError(await call(app, 'GET', '/api/bookings?space_id=0x10', { token: admin.token }), 400, 'validation_error');
    assertError(await call(app, 'GET', '/api/spaces?owner_id=01'), 400, 'validation_error');
    assert.equal((await call(app, 'GET', '/api/spaces?owner_id=1')).status, 200);
  });
});

describe('request times', () => {
  it('refuses a date that does not exist instead of rolling it over', async () => {
    const owner = await createUser(app, { role: 'owner' });
    const client = await createUser(app);
    const space = await createSpace(app, owner.token);
    const response = await call(app, 'POST', '/api/bookings', {
      token: client.token,
      body: { space_id: space.id, start_time: '2027-02-29T15:00:00Z', end_time: '2027-02-29T17:00:00Z' },
    });
    assertError(response, 400, 'validation_error');
    assert.deepEqual(response.body.details.map((detail: { field: string }) => detail.field).sort(), ['end_time', 'start_time']);
    assert.equal((await db.select().from(bookings).where(eq(bookings.spaceId, space.id))).length, 0);
    for (const query of [
      'available_from=2027-04-31T10:00:00Z&available_to=2027-05-01T12:00:00Z',
      'available_from=2027-06-01T24:00:00Z&available_to=2027-06-02T01:00:00Z',
    ]) {
      assertError(await call(app, 'GET', `/api/spaces?${query}`), 400, 'validation_error');
    }
  });

  it("refuses an instant outside PostgreSQL's range once the offset is applied (400, not 500)", async () => {
    const late = encodeURIComponent('9999-12-31T23:30:00-02:00');
    assertError(await call(app, 'GET', `/api/bookings/check-availability?space_id=1&start_time=${late}&end_time=${late}`), 400, 'validation_error');
    assertError(await call(app, 'GET', `/api/bookings?from=${late}`, { token: admin.token }), 400, 'validation_error');
    assertError(await call(app, 'GET', `/api/spaces/1/availability?from=0000-12-31T00:00:00Z&to=0001-01-02T00:00:00Z`), 400, 'validation_error');
  });

  it('still takes a real leap day and an offset', async () => {
    const response = await call(
      app,
      'GET',
      '/api/bookings/check-availability?space_id=2000000000&start_time=2028-02-29T15:00:00%2B03:00&end_time=2028-02-29T17:00:00%2B03:00',
    );
    assertError(response, 404, 'not_found');
  });
});

describe('malformed bodies', () => {
  const multipartRoutes = async () => {
    const owner = await createUser(app, { role: 'owner' });
    const space = await createSpace(app, owner.token);
    return { owner, urls: ['/api/spaces', `/api/spaces/${space.id}/images`, `/api/users/${owner.id}/avatar`] };
  };
  const part = '--x\r\nContent-Disposition: form-data; name="images"; filename="a.png"\r\nContent-Type: image/png\r\n\r\nabc';

  it('answers a multipart body without a boundary, with a wrong one, or cut short with a 4xx envelope', async () => {
    const { owner, urls } = await multipartRoutes();
    const bodies = [
      { 'content-type': 'multipart/form-data', payload: `${part}\r\n--x--\r\n` },
      { 'content-type': 'multipart/form-data; boundary=zzz', payload: `${part}\r\n--x--\r\n` },
      { 'content-type': 'multipart/form-data; boundary=x', payload: part },
    ];
    for (const url of urls) {
      for (const { payload, ...headers } of bodies) {
        const response = await call(app, 'POST', url, { token: owner.token, headers, body: payload });
        assert.ok(response.status >= 400 && response.status < 500, `${url} ${headers['content-type']}: ${response.status} ${response.raw}`);
        assert.equal(typeof response.body.code, 'string');
      }
    }
  });

  it('answers JSON sent to an upload route with 415 (or 400 for space creation, which takes JSON too)', async () => {
    const { owner, urls } = await multipartRoutes();
    for (const url of urls.slice(1)) assertError(await call(app, 'POST', url, { token: owner.token, body: { images: 1 } }), 415, 'unsupported_media_type');
  });

  it('refuses a deeply nested JSON body before any work, Idempotency-Key or not', async () => {
    const client = await createUser(app);
    const deep = `{"space_id":1,"start_time":"2030-01-01T10:00:00Z","end_time":"2030-01-01T12:00:00Z","extra":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    for (const headers of [{ 'content-type': 'application/json', 'idempotency-key': 'deep-1' }, { 'content-type': 'application/json' }] as Array<
      Record<string, string>
    >) {
      assertError(await call(app, 'POST', '/api/bookings', { token: client.token, headers, body: deep }), 400, 'validation_error');
    }
    assert.equal((await db.select().from(idempotencyKeys).where(eq(idempotencyKeys.userId, client.id))).length, 0);
  });
});

describe('errors raised before a route runs', () => {
  it('answers an over-long path segment with 414 in the envelope, with X-Request-Id', async () => {
    const response = await call(app, 'GET', `/api/spaces/${'1'.repeat(300)}`);
    assertError(response, 414, 'uri_too_long');
    assert.ok(response.headers['x-request-id']);
  });

  it('answers a bare OPTIONS (no preflight headers) with 204 and X-Request-Id, not a plain-text 400', async () => {
    const response = await app.inject({ method: 'OPTIONS', url: '/api/spaces' });
    assert.equal(response.statusCode, 204, response.body);
    assert.ok(response.headers['x-request-id']);
  });

  it('answers a malformed URL with 400 in the envelope, with X-Request-Id', async () => {
    const response = await call(app, 'GET', '/api/spaces/%');
    assertError(response, 400, 'validation_error');
    assert.ok(response.headers['x-request-id']);
  });
});

describe('tokens', () => {
  it('answers a correctly signed token whose session id is not a UUID with 401', async () => {
    const sign = createSigner({ key: TEST_SECRETS.JWT_SECRET_KEY, algorithm: 'HS256' });
    const now = Math.floor(Date.now() / 1000);
    const token = sign({ sub: String(admin.id), role: 'admin', type: 'access', jti: 'x', sid: "1' or '1'='1", iat: now, exp: now + 600 });
    assertError(await call(app, 'GET', '/api/auth/me', { token }), 401);
  });
});

describe('Cache-Control on personal answers', () => {
  it('sends no-store on token, account, booking, payment and stats answers, and not on public listings', async () => {
    const owner = await createUser(app, { role: 'owner' });
    const client = await createUser(app);
    const space = await createSpace(app, owner.token);
    const login = await call(app, 'POST', '/api/auth/login', { body: { email: client.email, password: client.password } });
    const personal = [
      login,
      await call(app, 'POST', '/api/auth/refresh', { body: { refresh_token: login.body.refresh_token } }),
      await call(app, 'GET', '/api/auth/me', { token: client.token }),
      await call(app, 'GET', `/api/users/${client.id}`, { token: client.token }),
      await call(app, 'GET', '/api/bookings', { token: client.token }),
      await call(app, 'GET', '/api/payments', { token: client.token }),
      await call(app, 'GET', '/api/spaces/stats', { token: owner.token }),
      await call(app, 'GET', `/api/spaces/${space.id}/calendar`, { token: owner.token }),
      await call(app, 'GET', '/api/bookings', {}),
    ];
    for (const response of personal) assert.equal(response.headers['cache-control'], 'no-store', `${response.status} ${response.raw.slice(0, 80)}`);
    assert.equal((await call(app, 'GET', '/api/spaces')).headers['cache-control'], undefined);
  });
});

describe('failed logins', () => {
  it('limit one client IP without locking the owner out from another, under a per-email ceiling', async () => {
    const target = await buildTestApp({ env: { RATE_LIMIT_LOGIN_PER_EMAIL: '3', RATE_LIMIT_LOGIN_PER_EMAIL_CEILING: '6' } });
    const user = await createUser(target);
    const login = (password: string, ip: string) =>
      target
        .inject({ method: 'POST', url: '/api/auth/login', remoteAddress: ip, payload: { email: user.email, password } })
        .then((response) => response.statusCode);
    for (let i = 0; i < 3; i++) assert.equal(await login('wrong-password-1', '203.0.113.7'), 401);
    assert.equal(await login(user.password, '203.0.113.7'), 429, "the attacker's IP is limited, even with the right password");
    assert.equal(await login(user.password, '198.51.100.20'), 200, 'the owner elsewhere still gets in');
    for (let i = 0; i < 3; i++) assert.equal(await login('wrong-password-2', `192.0.2.${i + 1}`), 401);
    assert.equal(await login(user.password, '192.0.2.200'), 429, 'past the per-email ceiling, from anywhere');
  });
});
