import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { ManualClock } from '../../src/shared/clock.ts';
import { buildTestApp, call, type CallResult } from '../helpers/app.ts';
import { createBooking } from '../helpers/bookings.ts';
import { createUser, uniqueEmail } from '../helpers/factories.ts';
import { uncheckedInject } from '../helpers/response-schemas.ts';
import { createSpace } from '../helpers/spaces.ts';

/**
 * The legacy web client profile (src/plugins/legacy-client.ts). Each route is asked twice: from
 * the listed origin, through `uncheckedInject` (the legacy shape is deliberately not the OpenAPI
 * document's, so this file asserts it itself), and from another origin or none, through `call`,
 * which holds the answer to the document: the contract unchanged.
 */

const NOW = '2030-01-06T08:00:00.000Z';
const LEGACY = 'http://127.0.0.1:5173';
// Allowed by CORS but not in the profile: a current client in a browser.
const OTHER = 'https://app.example';

const app = await buildTestApp({ clock: new ManualClock(NOW), env: { LEGACY_CLIENT_ORIGINS: LEGACY, CORS_ORIGINS: OTHER, ACCESS_TOKEN_TTL: '3650d' } });
const raw = uncheckedInject(app);

const owner = await createUser(app, { role: 'owner' });
const client = await createUser(app);

interface LegacyResult {
  status: number;
  headers: Record<string, unknown>;
  body: any;
}

/** A request as the legacy front end makes it: from its origin, with its Bearer token. */
async function legacy(method: InjectOptions['method'], url: string, options: { token?: string; body?: unknown } = {}): Promise<LegacyResult> {
  const headers: Record<string, string> = { origin: LEGACY };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await raw({ method, url, headers, ...(options.body !== undefined ? { payload: options.body as InjectOptions['payload'] } : {}) });
  return { status: response.statusCode, headers: response.headers, body: response.body === '' ? undefined : response.json() };
}

/** The same request from another origin, and with no Origin at all; both checked against the document. */
async function contract(method: InjectOptions['method'], url: string, options: { token?: string; body?: unknown } = {}): Promise<CallResult[]> {
  return [await call(app, method, url, { ...options, headers: { origin: OTHER } }), await call(app, method, url, options)];
}

const slot = (hour: number) => ({
  start_time: `2030-01-10T${String(hour).padStart(2, '0')}:00:00Z`,
  end_time: `2030-01-10T${String(hour + 2).padStart(2, '0')}:00:00Z`,
});

const LIST_HEADERS = ['x-total-count', 'x-total-pages', 'x-page', 'x-per-page', 'link'];

describe('legacy profile: GET /api/spaces', () => {
  it('answers the listed origin with a bare array of upper-case statuses and the pagination in headers', async () => {
    const lister = await createUser(app, { role: 'owner' });
    const spaces = [await createSpace(app, lister.token), await createSpace(app, lister.token, { is_available: false }), await createSpace(app, lister.token)];

    const response = await legacy('GET', `/api/spaces/?owner_id=${lister.id}&page=2&per_page=1`);

    assert.equal(response.status, 200);
    assert.ok(Array.isArray(response.body));
    assert.deepEqual(
      response.body.map((space: any) => space.id),
      [spaces[1].id],
    );
    assert.equal(response.body[0].status, 'UNAVAILABLE');
    assert.equal(response.headers['x-total-count'], '3');
    assert.equal(response.headers['x-total-pages'], '3');
    assert.equal(response.headers['x-page'], '2');
    assert.equal(response.headers['x-per-page'], '1');
    assert.equal(
      response.headers.link,
      `</api/spaces/?owner_id=${lister.id}&page=3&per_page=1>; rel="next", </api/spaces/?owner_id=${lister.id}&page=1&per_page=1>; rel="prev"`,
    );
    assert.match(String(response.headers.vary), /origin/i);
  });

  it('answers the front end’s own query with AVAILABLE spaces only, and no Link on a single page', async () => {
    const lister = await createUser(app, { role: 'owner' });
    await createSpace(app, lister.token);
    await createSpace(app, lister.token, { is_available: false });

    const response = await legacy('GET', `/api/spaces/?page=1&per_page=9&status=available&owner_id=${lister.id}`);

    assert.equal(response.status, 200);
    assert.deepEqual(
      response.body.map((space: any) => space.status),
      ['AVAILABLE'],
    );
    assert.equal(response.headers['x-total-pages'], '1');
    assert.equal(response.headers.link, undefined);
  });

  it('answers another origin, or none, with the contract’s envelope and lower-case statuses', async () => {
    const lister = await createUser(app, { role: 'owner' });
    await createSpace(app, lister.token);
    for (const response of await contract('GET', `/api/spaces/?owner_id=${lister.id}&per_page=1`)) {
      assert.equal(response.status, 200);
      assert.deepEqual(Object.keys(response.body).sort(), ['current_page', 'pages', 'per_page', 'spaces', 'total']);
      assert.equal(response.body.spaces[0].status, 'available');
      for (const header of LIST_HEADERS) assert.equal(response.headers[header], undefined, header);
    }
  });

  it('keeps the Error envelope for the listed origin', async () => {
    const response = await call(app, 'GET', '/api/spaces?per_page=500', { headers: { origin: LEGACY } });
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'validation_error');
  });
});

describe('legacy profile: GET /api/spaces/:id', () => {
  it('answers the listed origin with status AVAILABLE, the rest of the Space unchanged', async () => {
    const space = await createSpace(app, owner.token);
    const response = await legacy('GET', `/api/spaces/${space.id}`);
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { ...space, status: 'AVAILABLE' });
  });

  it('answers another origin, or none, with status available', async () => {
    const space = await createSpace(app, owner.token);
    for (const response of await contract('GET', `/api/spaces/${space.id}`)) {
      assert.equal(response.status, 200);
      assert.equal(response.body.status, 'available');
    }
  });

  it('keeps a 404 in the Error envelope for the listed origin', async () => {
    const response = await call(app, 'GET', '/api/spaces/2000000000', { headers: { origin: LEGACY } });
    assert.equal(response.status, 404);
    assert.equal(response.body.code, 'not_found');
  });
});

describe('legacy profile: POST /api/bookings', () => {
  it('answers the listed origin with total_cost and total_amount beside total_price', async () => {
    const space = await createSpace(app, owner.token);
    const response = await legacy('POST', '/api/bookings/', { token: client.token, body: { space_id: space.id, ...slot(9), phone: '+254700000001' } });
    assert.equal(response.status, 201);
    assert.equal(response.body.total_price, 2000);
    assert.equal(response.body.total_cost, 2000);
    assert.equal(response.body.total_amount, 2000);
    assert.equal(response.body.status, 'pending');
  });

  it('answers another origin, or none, with the Booking of the contract', async () => {
    const space = await createSpace(app, owner.token);
    const [fromOther, fromNone] = await contract('POST', '/api/bookings', { token: client.token, body: { space_id: space.id, ...slot(9) } });
    assert.equal(fromOther!.status, 201);
    // The second is refused: the first holds the slot. Its error is the contract's too.
    assert.equal(fromNone!.status, 409);
    assert.equal(fromOther!.body.total_cost, undefined);
    assert.equal(fromOther!.body.total_amount, undefined);
  });

  it('keeps a conflict in the Error envelope for the listed origin', async () => {
    const space = await createSpace(app, owner.token);
    await createBooking(app, client.token, { space_id: space.id, ...slot(9) });
    const response = await call(app, 'POST', '/api/bookings', { token: client.token, body: { space_id: space.id, ...slot(10) }, headers: { origin: LEGACY } });
    assert.equal(response.status, 409);
    assert.equal(response.body.code, 'booking_conflict');
  });
});

describe('legacy profile: GET /api/bookings', () => {
  it('answers the listed origin with a bare array of bookings with total_cost, the pagination in headers', async () => {
    const booker = await createUser(app);
    const space = await createSpace(app, owner.token);
    for (const hour of [6, 9, 12]) await createBooking(app, booker.token, { space_id: space.id, ...slot(hour) });

    const response = await legacy('GET', '/api/bookings/?page=1&per_page=2', { token: booker.token });

    assert.equal(response.status, 200);
    assert.ok(Array.isArray(response.body));
    assert.equal(response.body.length, 2);
    // What the dashboard does with it.
    assert.equal(
      response.body.reduce((sum: number, booking: any) => sum + booking.total_cost, 0),
      4000,
    );
    for (const booking of response.body) assert.equal(booking.total_amount, booking.total_price);
    assert.equal(response.headers['x-total-count'], '3');
    assert.equal(response.headers['x-total-pages'], '2');
    assert.equal(response.headers['x-page'], '1');
    assert.equal(response.headers['x-per-page'], '2');
    assert.equal(response.headers.link, '</api/bookings/?page=2&per_page=2>; rel="next"');
  });

  it('answers another origin, or none, with the contract’s envelope', async () => {
    const booker = await createUser(app);
    const space = await createSpace(app, owner.token);
    await createBooking(app, booker.token, { space_id: space.id, ...slot(9) });
    for (const response of await contract('GET', '/api/bookings?page=1&per_page=10', { token: booker.token })) {
      assert.equal(response.status, 200);
      assert.equal(response.body.total, 1);
      assert.equal(response.body.bookings[0].total_cost, undefined);
      for (const header of LIST_HEADERS) assert.equal(response.headers[header], undefined, header);
    }
  });

  it('keeps a 401 in the Error envelope for the listed origin', async () => {
    const response = await call(app, 'GET', '/api/bookings', { headers: { origin: LEGACY } });
    assert.equal(response.status, 401);
    assert.equal(response.body.code, 'unauthorized');
  });
});

describe('legacy profile: GET /api/bookings/:id', () => {
  it('adds total_cost and total_amount for the listed origin only', async () => {
    const space = await createSpace(app, owner.token);
    const booking = await createBooking(app, client.token, { space_id: space.id, ...slot(9) });

    const legacyAnswer = await legacy('GET', `/api/bookings/${booking.id}`, { token: client.token });
    assert.equal(legacyAnswer.status, 200);
    assert.deepEqual(legacyAnswer.body, { ...booking, total_cost: booking.total_price, total_amount: booking.total_price });

    for (const response of await contract('GET', `/api/bookings/${booking.id}`, { token: client.token })) assert.deepEqual(response.body, booking);
  });
});

describe('legacy profile: cancelling a booking', () => {
  for (const method of ['POST', 'PUT'] as const) {
    it(`${method} /api/bookings/:id/cancel adds total_cost and total_amount for the listed origin`, async () => {
      const space = await createSpace(app, owner.token);
      const booking = await createBooking(app, client.token, { space_id: space.id, ...slot(9) });
      const response = await legacy(method, `/api/bookings/${booking.id}/cancel`, { token: client.token });
      assert.equal(response.status, 200);
      assert.equal(response.body.status, 'cancelled');
      assert.equal(response.body.total_cost, booking.total_price);
      assert.equal(response.body.total_amount, booking.total_price);
    });

    it(`${method} /api/bookings/:id/cancel answers another origin, or none, with the contract`, async () => {
      const space = await createSpace(app, owner.token);
      const first = await createBooking(app, client.token, { space_id: space.id, ...slot(6) });
      const second = await createBooking(app, client.token, { space_id: space.id, ...slot(12) });
      const [fromOther] = await contract(method, `/api/bookings/${first.id}/cancel`, { token: client.token });
      assert.equal(fromOther!.status, 200);
      assert.equal(fromOther!.body.total_cost, undefined);
      const fromNone = await call(app, method, `/api/bookings/${second.id}/cancel`, { token: client.token });
      assert.equal(fromNone.status, 200);
      assert.equal(fromNone.body.total_cost, undefined);
    });
  }
});

describe('legacy profile: every other route', () => {
  it('answers the listed origin with the contract on a route outside the profile', async () => {
    const response = await call(app, 'GET', '/api/spaces/mine', { token: owner.token, headers: { origin: LEGACY } });
    assert.equal(response.status, 200);
    assert.ok(Array.isArray(response.body.spaces));
    for (const space of response.body.spaces) assert.match(space.status, /^(available|unavailable)$/);
  });

  it('is off by default: without LEGACY_CLIENT_ORIGINS that origin gets the contract', async () => {
    const plain = await buildTestApp({ env: { CORS_ORIGINS: LEGACY } });
    const response = await call(plain, 'GET', '/api/spaces?per_page=1', { headers: { origin: LEGACY } });
    assert.equal(response.status, 200);
    assert.ok(Array.isArray(response.body.spaces));
  });
});

describe('legacy profile: CORS', () => {
  it('answers a preflight from the listed origin (not in CORS_ORIGINS) for the front end’s booking request', async () => {
    const response = await raw({
      method: 'OPTIONS',
      url: '/api/bookings/',
      headers: { origin: LEGACY, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    assert.equal(response.statusCode, 204);
    assert.equal(response.headers['access-control-allow-origin'], LEGACY);
    assert.match(String(response.headers['access-control-allow-methods']), /POST/);
    assert.match(String(response.headers['access-control-allow-headers']), /authorization/i);
  });

  it('lets the page’s script read the pagination headers', async () => {
    const response = await legacy('GET', '/api/spaces?per_page=1');
    assert.equal(response.headers['access-control-allow-origin'], LEGACY);
    const exposed = String(response.headers['access-control-expose-headers'])
      .toLowerCase()
      .split(/\s*,\s*/);
    for (const header of LIST_HEADERS) assert.ok(exposed.includes(header), `${header} in ${exposed.join(', ')}`);
  });

  it('still refuses an origin in neither list', async () => {
    const response = await raw({ method: 'OPTIONS', url: '/api/spaces', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    assert.equal(response.headers['access-control-allow-origin'], undefined);
  });
});

describe('legacy profile: the front end’s journey', () => {
  it('registers a client and an owner with upper-case roles, logs in, lists and opens spaces, books one and reads its dashboard', async () => {
    const password = 'Passw0rd!';
    const ownerAccount = { email: uniqueEmail('legacy-owner'), password, first_name: 'Olive', last_name: 'Owner', role: 'SPACE_OWNER' };
    const registeredOwner = await legacy('POST', '/api/auth/register', { body: ownerAccount });
    assert.equal(registeredOwner.status, 201);
    assert.equal(registeredOwner.body.user.role, 'owner');
    const space = await createSpace(app, registeredOwner.body.access_token);

    const clientAccount = { email: uniqueEmail('legacy-client'), password, first_name: 'Carl', last_name: 'Client', role: 'CLIENT' };
    assert.equal((await legacy('POST', '/api/auth/register', { body: clientAccount })).status, 201);
    const login = await legacy('POST', '/api/auth/login', { body: { email: clientAccount.email, password } });
    assert.equal(login.status, 200);
    const token = login.body.access_token as string;

    const dashboardBefore = await legacy('GET', '/api/bookings/?page=1&per_page=10', { token });
    assert.deepEqual(dashboardBefore.body, []);

    const featured = await legacy('GET', '/api/spaces/?page=1&per_page=3&status=available');
    assert.ok(Array.isArray(featured.body) && featured.body.length > 0);
    assert.ok(featured.body.every((listing: any) => listing.status === 'AVAILABLE'));

    const opened = await legacy('GET', `/api/spaces/${space.id}`);
    assert.equal(opened.body.status, 'AVAILABLE');

    const booked = await legacy('POST', '/api/bookings/', { token, body: { space_id: space.id, ...slot(9), phone: '+254700000002' } });
    assert.equal(booked.status, 201);

    const dashboard = await legacy('GET', '/api/bookings/?page=1&per_page=10', { token });
    assert.equal(
      dashboard.body.reduce((sum: number, booking: any) => sum + booking.total_cost, 0),
      booked.body.total_price,
    );
  });
});
