import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { buildTestApp, call, testConfig, type CallOptions, type CallResult } from '../helpers/app.ts';
import { createPgliteDatabase, testDatabase } from '../helpers/database.ts';
import { createUser } from '../helpers/factories.ts';

/**
 * The cross-cutting contract every route shares: service endpoints, request ids, the error
 * envelope, leniency, security headers, CORS and the OpenAPI document.
 */

const app = await buildTestApp();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ERROR_REF = '#/components/schemas/Error';
const DEV_ORIGIN = 'http://localhost:5173';

/** What must never reach a client: stack frames, source paths, SQL. */
const LEAKS = [/stack/i, /\/work\//, /node_modules/, /\.ts:\d+/, /\bat \S+ \(/, /\bselect\b.+\bfrom\b/i, /\binsert into\b/i, /\/etc\/passwd/];

function assertErrorEnvelope(response: CallResult, status: number, code: string) {
  assert.equal(response.status, status, `expected ${status} ${code}, got ${response.status}: ${response.raw}`);
  assert.match(String(response.headers['content-type']), /^application\/json; charset=utf-8$/);
  assert.equal(response.body.code, code);
  assert.equal(typeof response.body.error, 'string');
  assert.ok(response.body.error.length > 0, 'error message is not empty');
  assert.equal(response.body.message, response.body.error, 'message repeats error');
  for (const key of Object.keys(response.body)) assert.ok(['error', 'message', 'code', 'details'].includes(key), `unexpected key ${key}`);
  for (const leak of LEAKS) assert.doesNotMatch(response.raw, leak);
  assert.equal(typeof response.headers['x-request-id'], 'string', 'error responses carry a request id');
}

/** A request with a body sent exactly as given (no serialisation by the helper). */
const rawPost = (target: FastifyInstance, url: string, payload: string, contentType: string, options: CallOptions = {}) =>
  call(target, 'POST', url, { ...options, body: payload, headers: { 'content-type': contentType, ...options.headers } });

describe('GET /health', () => {
  it('returns 200 {status: "ok"} as JSON', async () => {
    const response = await call(app, 'GET', '/health');
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { status: 'ok' });
    assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
  });
});

describe('GET /ready', () => {
  it('returns 200 {status: "ready", database: "ok"} when the database answers', async () => {
    const response = await call(app, 'GET', '/ready');
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { status: 'ready', database: 'ok' });
  });

  it('returns 503 service_unavailable with Retry-After when the database is gone', async (t) => {
    const database = await createPgliteDatabase();
    const isolated = await buildApp(testConfig(), { database });
    t.after(() => isolated.close());
    await isolated.ready();
    await database.close();

    const response = await call(isolated, 'GET', '/ready');
    assertErrorEnvelope(response, 503, 'service_unavailable');
    assert.equal(response.headers['retry-after'], '5');
  });
});

describe('GET /api', () => {
  it('returns 200 with the name, version and links to the docs and sections', async () => {
    const response = await call(app, 'GET', '/api');
    assert.equal(response.status, 200);
    assert.equal(response.body.name, 'Spacer API');
    assert.match(response.body.version, /^\d+\.\d+\.\d+/);
    assert.equal(response.body.docs, '/api/docs');
    assert.equal(response.body.openapi, '/api/openapi.json');
    assert.deepEqual(response.body.sections, {
      auth: '/api/auth',
      users: '/api/users',
      spaces: '/api/spaces',
      bookings: '/api/bookings',
      payments: '/api/payments',
      testimonials: '/api/testimonials',
      reviews: '/api/reviews',
      admin: '/api/admin',
      docs: '/api/docs',
      openapi: '/api/openapi.json',
      health: '/health',
      ready: '/ready',
    });
  });

  it('links only to pages that exist, and every section to operations of its own tag', async () => {
    const { body } = await call(app, 'GET', '/api');
    for (const link of [body.docs, body.openapi, body.sections.docs, body.sections.openapi, body.sections.health, body.sections.ready]) {
      assert.equal((await call(app, 'GET', link)).status, 200, link);
    }
    const document = (await call(app, 'GET', '/api/openapi.json')).body as { paths: Record<string, Record<string, { tags?: string[] }>> };
    for (const section of ['auth', 'users', 'spaces', 'bookings', 'payments', 'testimonials', 'reviews', 'admin']) {
      const base: string = body.sections[section];
      const tagged = Object.entries(document.paths).filter(
        ([path, operations]) => path.startsWith(base) && Object.values(operations).some((operation) => operation.tags?.includes(section)),
      );
      assert.ok(tagged.length > 0, `${section}: some ${section} operation lives under ${base}`);
    }
  });
});

describe('X-Request-Id', () => {
  it('is a generated UUID when the request sent none', async () => {
    const response = await call(app, 'GET', '/health');
    assert.match(String(response.headers['x-request-id']), UUID);
  });

  it('differs from one request to the next', async () => {
    const first = await call(app, 'GET', '/health');
    const second = await call(app, 'GET', '/health');
    assert.notEqual(first.headers['x-request-id'], second.headers['x-request-id']);
  });

  it('echoes a valid incoming id', async () => {
    const response = await call(app, 'GET', '/health', { headers: { 'x-request-id': 'abc-123' } });
    assert.equal(response.status, 200);
    assert.equal(response.headers['x-request-id'], 'abc-123');
  });

  for (const [label, incoming] of [
    ['200 characters long', 'a'.repeat(200)],
    ['containing spaces', 'abc 123'],
    ['containing quotes', 'abc"123\''],
    ['containing markup', '<script>alert(1)</script>'],
  ] as const) {
    it(`replaces an incoming id ${label} with a generated UUID`, async () => {
      const response = await call(app, 'GET', '/health', { headers: { 'x-request-id': incoming } });
      assert.equal(response.status, 200);
      assert.match(String(response.headers['x-request-id']), UUID);
    });
  }

  it('is present on 404 responses, echoing a valid incoming id', async () => {
    const generated = await call(app, 'GET', '/no-such-route');
    assert.equal(generated.status, 404);
    assert.match(String(generated.headers['x-request-id']), UUID);

    const echoed = await call(app, 'GET', '/no-such-route', { headers: { 'x-request-id': 'trace.404:x' } });
    assert.equal(echoed.status, 404);
    assert.equal(echoed.headers['x-request-id'], 'trace.404:x');
  });

  it('is present on 400 responses, echoing a valid incoming id', async () => {
    const invalid = await rawPost(app, '/api/auth/login', '{"email":', 'application/json', { headers: { 'x-request-id': 'req-400' } });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.headers['x-request-id'], 'req-400');

    const validation = await call(app, 'POST', '/api/auth/login', { body: {} });
    assert.equal(validation.status, 400);
    assert.match(String(validation.headers['x-request-id']), UUID);
  });
});

describe('error envelope', () => {
  it('answers an unknown route with 404 not_found naming the route', async () => {
    const response = await call(app, 'GET', '/no-such-route?token=secret');
    assertErrorEnvelope(response, 404, 'not_found');
    assert.match(response.body.error, /GET \/no-such-route/);
    assert.doesNotMatch(response.raw, /secret/, 'the query string is not echoed');
  });

  it('answers an unknown route under /api with 404 not_found', async () => {
    assertErrorEnvelope(await call(app, 'DELETE', '/api/nothing-here'), 404, 'not_found');
  });

  it("answers malformed JSON with 400 invalid_json without the parser's own words", async () => {
    const response = await rawPost(app, '/api/auth/login', '{"email": "a@example.test", ', 'application/json');
    assertErrorEnvelope(response, 400, 'invalid_json');
    assert.doesNotMatch(response.raw, /Unexpected|position/);
  });

  it('answers a JSON body over 1 MB with 413 payload_too_large', async () => {
    const payload = JSON.stringify({ email: 'big@example.test', password: 'x'.repeat(1024 * 1024) });
    const response = await rawPost(app, '/api/auth/login', payload, 'application/json');
    assertErrorEnvelope(response, 413, 'payload_too_large');
  });

  it('accepts a JSON body just under 1 MB (the limit is not lower than documented)', async () => {
    const payload = JSON.stringify({ email: 'not-an-email', password: 'x'.repeat(1000 * 1000) });
    const response = await rawPost(app, '/api/auth/login', payload, 'application/json');
    // Parsed and then judged by the schema: the body was not refused for its size.
    assertErrorEnvelope(response, 400, 'validation_error');
  });

  it('answers a body of an unsupported media type with 415 unsupported_media_type', async () => {
    const response = await rawPost(app, '/api/auth/login', 'email=a@example.test&password=x', 'application/x-www-form-urlencoded');
    assertErrorEnvelope(response, 415, 'unsupported_media_type');
  });

  it('answers a text/plain body to a JSON route with 415 unsupported_media_type', async () => {
    const response = await rawPost(app, '/api/auth/login', '{"email":"a@example.test","password":"x"}', 'text/plain');
    assertErrorEnvelope(response, 415, 'unsupported_media_type');
  });

  it('answers schema violations with 400 validation_error naming every missing field', async () => {
    const response = await call(app, 'POST', '/api/auth/login', { body: {} });
    assertErrorEnvelope(response, 400, 'validation_error');
    assert.ok(Array.isArray(response.body.details));
    const fields = response.body.details.map((detail: { field: string }) => detail.field).sort();
    assert.deepEqual(fields, ['email', 'password']);
    for (const detail of response.body.details) {
      assert.deepEqual(Object.keys(detail).sort(), ['field', 'message']);
      assert.equal(typeof detail.message, 'string');
      assert.ok(detail.message.length > 0);
    }
  });

  it('names a field of the wrong format or type in the details', async () => {
    const response = await call(app, 'POST', '/api/auth/login', { body: { email: 'not-an-email', password: 12345678 } });
    assertErrorEnvelope(response, 400, 'validation_error');
    const fields = response.body.details.map((detail: { field: string }) => detail.field).sort();
    assert.deepEqual(fields, ['email', 'password']);
  });

  it('names an invalid path parameter in the details', async () => {
    const user = await createUser(app);
    const response = await call(app, 'GET', '/api/users/abc', { token: user.token });
    assertErrorEnvelope(response, 400, 'validation_error');
    assert.deepEqual(
      response.body.details.map((detail: { field: string }) => detail.field),
      ['id'],
    );
  });

  it('answers an unexpected error with 500 internal_error and a generic message', async (t) => {
    const boom = await buildApp(testConfig(), { database: await testDatabase() });
    t.after(() => boom.close());
    boom.get('/boom', async () => {
      throw new Error('secret detail /etc/passwd');
    });
    await boom.ready();

    const response = await call(boom, 'GET', '/boom', { headers: { 'x-request-id': 'boom-1' } });
    assertErrorEnvelope(response, 500, 'internal_error');
    assert.equal(response.body.details, undefined);
    assert.doesNotMatch(response.raw, /secret detail/);
    assert.equal(response.headers['x-request-id'], 'boom-1', 'the id lets support find the logged error');
  });
});

describe('leniency', () => {
  it('ignores a trailing slash', async () => {
    const index = await call(app, 'GET', '/api/');
    assert.equal(index.status, 200);
    assert.equal(index.body.name, 'Spacer API');

    const health = await call(app, 'GET', '/health/');
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });
  });

  it('treats an empty JSON body as no body (refresh without any token is 401, not 400)', async () => {
    const response = await rawPost(app, '/api/auth/refresh', '', 'application/json');
    assertErrorEnvelope(response, 401, 'unauthorized');
  });

  it('lets a body whose fields are all optional be left out (logout with no body)', async () => {
    const user = await createUser(app);
    const response = await call(app, 'POST', '/api/auth/logout', { token: user.token });
    assert.equal(response.status, 200, response.raw);
    assert.deepEqual(response.body, { message: 'Logged out' });
  });

  it('still rejects malformed JSON that is not empty', async () => {
    assertErrorEnvelope(await rawPost(app, '/api/auth/refresh', '  {  ', 'application/json'), 400, 'invalid_json');
  });

  it('logs in despite a garbage Authorization header (public route = anonymous)', async () => {
    const user = await createUser(app);
    const response = await call(app, 'POST', '/api/auth/login', {
      body: { email: user.email, password: user.password },
      headers: { authorization: 'Bearer garbage' },
    });
    assert.equal(response.status, 200, response.raw);
    assert.equal(response.body.user.email, user.email);
    assert.equal(typeof response.body.access_token, 'string');
  });

  for (const authorization of ['Basic xyz', 'Bearer', 'Bearer a b c', 'Bearer garbage', '"quoted"']) {
    it(`serves GET /health with Authorization: ${authorization}`, async () => {
      const response = await call(app, 'GET', '/health', { headers: { authorization } });
      assert.equal(response.status, 200);
      assert.deepEqual(response.body, { status: 'ok' });
    });
  }

  for (const authorization of ['Basic xyz', 'Bearer', 'Bearer a b c', 'Bearer garbage', 'Token abc']) {
    it(`refuses GET /api/auth/me with 401 unauthorized for Authorization: ${authorization}`, async () => {
      assertErrorEnvelope(await call(app, 'GET', '/api/auth/me', { headers: { authorization } }), 401, 'unauthorized');
    });
  }

  it('refuses a route that needs a user without an Authorization header (401 unauthorized)', async () => {
    assertErrorEnvelope(await call(app, 'GET', '/api/auth/me'), 401, 'unauthorized');
  });

  describe('with an expired access token', () => {
    it('logs in anonymously on a public route but answers 401 token_expired where a user is needed', async () => {
      const clock = new ManualClock();
      const timed = await buildTestApp({ clock });
      const user = await createUser(timed);
      clock.advance(16 * 60 * 1000);

      const me = await call(timed, 'GET', '/api/auth/me', { token: user.token });
      assertErrorEnvelope(me, 401, 'token_expired');

      const login = await call(timed, 'POST', '/api/auth/login', { token: user.token, body: { email: user.email, password: user.password } });
      assert.equal(login.status, 200, login.raw);
      assert.equal(login.body.user.id, user.id);

      const health = await call(timed, 'GET', '/health', { token: user.token });
      assert.equal(health.status, 200);
    });
  });
});

const HELMET_HEADERS = {
  'content-security-policy':
    "default-src 'none';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'none';img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'cross-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};

describe('security headers', () => {
  for (const [label, method, url] of [
    ['a JSON success', 'GET', '/health'],
    ['a 404', 'GET', '/no-such-route'],
    ['a 401', 'GET', '/api/auth/me'],
  ] as const) {
    it(`are set by helmet on ${label}`, async () => {
      const response = await call(app, method, url);
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
      assert.equal(response.headers['x-frame-options'], 'SAMEORIGIN');
      assert.equal(response.headers['referrer-policy'], 'no-referrer');
      assert.match(String(response.headers['strict-transport-security']), /max-age=\d+/);
      assert.match(String(response.headers['content-security-policy']), /default-src 'none'/);
      assert.match(String(response.headers['content-security-policy']), /frame-ancestors 'none'/);
      assert.equal(response.headers['x-powered-by'], undefined);
      // Every header helmet sets with these options, exactly as @fastify/helmet sent them (ADR 0018).
      const helmetHeaders = Object.fromEntries(Object.keys(HELMET_HEADERS).map((name) => [name, response.headers[name]]));
      assert.deepEqual(helmetHeaders, HELMET_HEADERS);
    });
  }

  it("leave Swagger UI's page its own Content-Security-Policy, with the other headers still set", async () => {
    const page = await call(app, 'GET', '/api/docs/');
    assert.equal(page.status, 200);
    const policy = String(page.headers['content-security-policy']);
    assert.match(policy, /default-src 'self'/);
    assert.doesNotMatch(policy, /default-src 'none'/);
    assert.doesNotMatch(policy, /upgrade-insecure-requests/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
  });
});

describe('CORS', () => {
  it('echoes an allowed default dev origin and exposes X-Request-Id', async () => {
    const response = await call(app, 'GET', '/health', { headers: { origin: DEV_ORIGIN } });
    assert.equal(response.status, 200);
    assert.equal(response.headers['access-control-allow-origin'], DEV_ORIGIN);
    assert.match(String(response.headers.vary), /Origin/);
    assert.match(String(response.headers['access-control-expose-headers']), /X-Request-Id/);
    assert.equal(response.headers['access-control-allow-credentials'], undefined, 'tokens travel in headers, not cookies');
  });

  for (const origin of ['http://localhost:3000', 'http://127.0.0.1:5173']) {
    it(`allows the default dev origin ${origin}`, async () => {
      const response = await call(app, 'GET', '/health', { headers: { origin } });
      assert.equal(response.headers['access-control-allow-origin'], origin);
    });
  }

  it('gives a foreign origin no Access-Control-Allow-Origin', async () => {
    const response = await call(app, 'GET', '/health', { headers: { origin: 'https://evil.example' } });
    assert.equal(response.status, 200);
    assert.equal(response.headers['access-control-allow-origin'], undefined);
  });

  it('answers a preflight from an allowed origin with 204 and the allowed methods', async () => {
    const response = await call(app, 'OPTIONS', '/api/auth/login', {
      headers: { origin: DEV_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
    assert.equal(response.status, 204);
    assert.equal(response.headers['access-control-allow-origin'], DEV_ORIGIN);
    const methods = String(response.headers['access-control-allow-methods']).split(/,\s*/);
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) assert.ok(methods.includes(method), `allows ${method}`);
    assert.match(String(response.headers['x-request-id']), UUID);
  });

  it('answers a preflight from a foreign origin without Access-Control-Allow-Origin', async () => {
    const response = await call(app, 'OPTIONS', '/api/auth/login', {
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(response.headers['access-control-allow-origin'], undefined);
  });

  describe('with CORS_ORIGINS=https://app.example', () => {
    it('allows the configured origin and no longer the default ones', async () => {
      const configured = await buildTestApp({ env: { CORS_ORIGINS: 'https://app.example' } });

      const allowed = await call(configured, 'GET', '/health', { headers: { origin: 'https://app.example' } });
      assert.equal(allowed.status, 200);
      assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example');

      const preflight = await call(configured, 'OPTIONS', '/api/auth/login', {
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers['access-control-allow-origin'], 'https://app.example');

      for (const origin of [DEV_ORIGIN, 'http://localhost:3000', 'http://127.0.0.1:5173']) {
        const refused = await call(configured, 'GET', '/health', { headers: { origin } });
        assert.equal(refused.headers['access-control-allow-origin'], undefined, origin);
      }
    });
  });
});

describe('OpenAPI document', async () => {
  const response = await call(app, 'GET', '/api/openapi.json');
  const document = response.body;

  type Operation = {
    operationId?: string;
    tags?: string[];
    security?: Record<string, unknown>[];
    responses?: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
  };
  const operations: { method: string; path: string; operation: Operation }[] = [];
  for (const [path, item] of Object.entries<Record<string, Operation>>(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(item)) operations.push({ method: method.toUpperCase(), path, operation });
  }
  const operationAt = (method: string, path: string) => operations.find((entry) => entry.method === method && entry.path === path)?.operation;
  const referencesError = (reply: { content?: Record<string, { schema?: { $ref?: string } }> }) =>
    Object.values(reply.content ?? {}).some((media) => media.schema?.$ref === ERROR_REF);

  const EXPECTED: [string, string][] = [
    ['GET', '/health'],
    ['GET', '/ready'],
    ['GET', '/api'],
    ['POST', '/api/auth/register'],
    ['POST', '/api/auth/login'],
    ['POST', '/api/auth/refresh'],
    ['POST', '/api/auth/logout'],
    ['GET', '/api/auth/me'],
    ['POST', '/api/auth/verify-email'],
    ['POST', '/api/auth/resend-verification'],
    ['POST', '/api/auth/forgot-password'],
    ['POST', '/api/auth/reset-password'],
    ['PUT', '/api/auth/password'],
    ['GET', '/api/users'],
    ['GET', '/api/users/{id}'],
    ['PUT', '/api/users/{id}'],
    ['DELETE', '/api/users/{id}'],
  ];
  const NEEDS_TOKEN: [string, string][] = [
    ['POST', '/api/auth/logout'],
    ['GET', '/api/auth/me'],
    ['POST', '/api/auth/resend-verification'],
    ['PUT', '/api/auth/password'],
    ['GET', '/api/users'],
    ['GET', '/api/users/{id}'],
    ['PUT', '/api/users/{id}'],
    ['DELETE', '/api/users/{id}'],
  ];
  const PUBLIC: [string, string][] = [
    ['GET', '/health'],
    ['GET', '/ready'],
    ['GET', '/api'],
    ['POST', '/api/auth/register'],
    ['POST', '/api/auth/login'],
    ['POST', '/api/auth/verify-email'],
    ['POST', '/api/auth/forgot-password'],
    ['POST', '/api/auth/reset-password'],
  ];
  /** Service probes take no input and no token, so no 4xx is theirs to declare. */
  const SERVICE_PATHS = new Set(['/health', '/ready', '/api']);

  it('is served as JSON in OpenAPI 3.1', () => {
    assert.equal(response.status, 200);
    assert.match(String(response.headers['content-type']), /^application\/json/);
    assert.match(document.openapi, /^3\.1\.\d+$/);
    assert.equal(document.info.title, 'Spacer API');
    assert.equal(typeof document.info.version, 'string');
  });

  for (const [method, path] of EXPECTED) {
    it(`documents ${method} ${path}, a route the app really serves`, () => {
      assert.ok(operationAt(method, path), `${method} ${path} is in paths`);
      assert.ok(app.hasRoute({ method, url: path.replace(/\{(\w+)\}/g, ':$1') }), `${method} ${path} is registered`);
    });
  }

  it('documents no route that the app does not serve', () => {
    for (const { method, path } of operations) {
      assert.ok(app.hasRoute({ method, url: path.replace(/\{(\w+)\}/g, ':$1') }), `${method} ${path}`);
    }
  });

  it('gives every operation a unique operationId and at least one tag', () => {
    const ids = operations.map(({ operation }) => operation.operationId);
    for (const [index, id] of ids.entries())
      assert.ok(typeof id === 'string' && id.length > 0, `${operations[index]!.method} ${operations[index]!.path} has an operationId`);
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
    for (const { method, path, operation } of operations) {
      assert.ok(Array.isArray(operation.tags) && operation.tags.length > 0, `${method} ${path} has tags`);
    }
  });

  it('declares at least one 4xx Error response on every /api operation that takes input or a token', () => {
    for (const { method, path, operation } of operations) {
      if (SERVICE_PATHS.has(path)) continue;
      const clientErrors = Object.entries(operation.responses ?? {}).filter(([status]) => /^4\d\d$/.test(status));
      assert.ok(clientErrors.length > 0, `${method} ${path} declares a 4xx`);
      for (const [status, reply] of clientErrors) assert.ok(referencesError(reply), `${method} ${path} ${status} uses Error`);
    }
  });

  it('uses the Error schema for every error response it declares, including 503 on /ready', () => {
    for (const { method, path, operation } of operations) {
      for (const [status, reply] of Object.entries(operation.responses ?? {})) {
        if (/^[45]\d\d$/.test(status)) assert.ok(referencesError(reply), `${method} ${path} ${status} uses Error`);
      }
    }
    assert.ok(referencesError(operationAt('GET', '/ready')!.responses!['503']!));
  });

  it('declares bearerAuth on every operation that needs a token', () => {
    for (const [method, path] of NEEDS_TOKEN) {
      const security = operationAt(method, path)?.security ?? [];
      assert.ok(
        security.some((requirement) => 'bearerAuth' in requirement),
        `${method} ${path} declares bearerAuth`,
      );
    }
    assert.deepEqual(document.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  });

  it('declares no token on operations anyone may call', () => {
    for (const [method, path] of PUBLIC) {
      assert.equal(operationAt(method, path)?.security, undefined, `${method} ${path}`);
    }
  });

  it('has User and Error schemas, and User exposes nothing about passwords', () => {
    const { User, Error: ErrorSchema } = document.components.schemas;
    assert.ok(User, 'User schema');
    assert.ok(ErrorSchema, 'Error schema');
    assert.deepEqual([...ErrorSchema.required].sort(), ['code', 'error', 'message']);
    assert.ok(ErrorSchema.properties.details, 'Error has details');
    for (const property of Object.keys(User.properties)) assert.doesNotMatch(property, /password/i);
    for (const field of ['id', 'email', 'first_name', 'last_name', 'name', 'role', 'is_verified', 'is_active', 'created_at', 'updated_at']) {
      assert.ok(User.properties[field], `User has ${field}`);
    }
  });

  it('is not itself listed among the operations, nor are the docs pages', () => {
    assert.equal(document.paths['/api/openapi.json'], undefined);
    for (const path of Object.keys(document.paths)) assert.doesNotMatch(path, /^\/api\/docs/);
  });
});

describe('GET /api/docs', () => {
  it('serves Swagger UI whose scripts and styles are all served by the service itself', async () => {
    const page = await call(app, 'GET', '/api/docs');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.raw, /swagger-ui/i);

    const assets = [...page.raw.matchAll(/<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    const scripts = assets.filter((asset) => asset.endsWith('.js'));
    const styles = assets.filter((asset) => asset.endsWith('.css'));
    assert.ok(scripts.length > 0, 'the page loads scripts');
    assert.ok(styles.length > 0, 'the page loads styles');
    for (const asset of assets) {
      assert.doesNotMatch(asset, /^(?:https?:)?\/\//, `${asset} is not fetched from another host`);
      assert.match(asset, /^\/api\/docs\/static\//, `${asset} is under /api/docs/static/`);
    }

    for (const script of scripts) {
      const response = await call(app, 'GET', script);
      assert.equal(response.status, 200, script);
      assert.match(String(response.headers['content-type']), /javascript/, script);
      assert.ok(response.raw.length > 0, `${script} is not empty`);
    }
    for (const style of styles) {
      const response = await call(app, 'GET', style);
      assert.equal(response.status, 200, style);
      assert.match(String(response.headers['content-type']), /^text\/css/, style);
    }
  });

  it('loads the API description the UI asks for', async () => {
    const initializer = await call(app, 'GET', '/api/docs/static/swagger-initializer.js');
    assert.equal(initializer.status, 200);
    assert.match(initializer.raw, /resolveUrl\('\.\/json'\)/);

    const spec = await call(app, 'GET', '/api/docs/json');
    assert.equal(spec.status, 200);
    assert.match(spec.body.openapi, /^3\.1\./);
    assert.ok(spec.body.paths['/api/auth/login']);
  });

  it('works with a trailing slash too', async () => {
    const page = await call(app, 'GET', '/api/docs/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
  });
});
