import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildTestApp, call } from '../helpers/app.ts';
import { createUser, uniqueEmail } from '../helpers/factories.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function redisReachable(): Promise<boolean> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

const login = (app: FastifyInstance, email: string, password: string) => call(app, 'POST', '/api/auth/login', { body: { email, password } });

function assertLimited(result: { status: number; body: any; headers: Record<string, unknown> }) {
  assert.equal(result.status, 429, JSON.stringify(result.body));
  assert.equal(result.body.code, 'rate_limited');
  assert.equal(result.body.message, result.body.error);
  const retryAfter = Number(result.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After: ${String(result.headers['retry-after'])}`);
}

/** The same scenarios, in memory and in Redis (where two apps stand for two server processes). */
function limitScenarios(label: string, envFor: () => Record<string, string>) {
  describe(`rate limits (${label})`, () => {
    it('limits failed logins per email: refused with 429 even with the right password, other emails unaffected', async () => {
      const app = await buildTestApp({ env: { ...envFor(), RATE_LIMIT_LOGIN_PER_EMAIL: '3' } });
      const user = await createUser(app);
      const bystander = await createUser(app);
      for (let i = 0; i < 3; i++) assert.equal((await login(app, user.email, 'Wrong1234')).status, 401);
      assertLimited(await login(app, user.email, user.password));
      assertLimited(await login(app, user.email.toUpperCase(), 'Wrong1234'));
      assert.equal((await login(app, bystander.email, bystander.password)).status, 200);
    });

    it('counts an unknown email the same way (no enumeration through limits)', async () => {
      const app = await buildTestApp({ env: { ...envFor(), RATE_LIMIT_LOGIN_PER_EMAIL: '2' } });
      const ghost = uniqueEmail('ghost');
      for (let i = 0; i < 2; i++) assert.equal((await login(app, ghost, 'Wrong1234')).status, 401);
      assertLimited(await login(app, ghost, 'Wrong1234'));
    });

    it('forgets earlier failures after a successful login', async () => {
      const app = await buildTestApp({ env: { ...envFor(), RATE_LIMIT_LOGIN_PER_EMAIL: '3' } });
      const user = await createUser(app);
      for (let i = 0; i < 2; i++) await login(app, user.email, 'Wrong1234');
      assert.equal((await login(app, user.email, user.password)).status, 200);
      for (let i = 0; i < 2; i++) assert.equal((await login(app, user.email, 'Wrong1234')).status, 401);
      assert.equal((await login(app, user.email, user.password)).status, 200);
    });

    it('limits password-reset mails per email address', async () => {
      const app = await buildTestApp({ env: { ...envFor(), RATE_LIMIT_EMAIL_PER_HOUR: '2' } });
      const email = uniqueEmail('reset');
      for (let i = 0; i < 2; i++) assert.equal((await call(app, 'POST', '/api/auth/forgot-password', { body: { email } })).status, 202);
      assertLimited(await call(app, 'POST', '/api/auth/forgot-password', { body: { email } }));
      assert.equal((await call(app, 'POST', '/api/auth/forgot-password', { body: { email: uniqueEmail('other') } })).status, 202);
    });

    it('limits registrations per email address', async () => {
      const app = await buildTestApp({ env: { ...envFor(), RATE_LIMIT_EMAIL_PER_HOUR: '1' } });
      const body = { email: uniqueEmail('reg'), password: 'Secret123', first_name: 'A', last_name: 'B' };
      assert.equal((await call(app, 'POST', '/api/auth/register', { body })).status, 201);
      assertLimited(await call(app, 'POST', '/api/auth/register', { body }));
    });

    it('limits every /api/auth request per IP, and nothing outside it', async () => {
      const app = await buildTestApp({ env: { ...envFor(), RATE_LIMIT_AUTH_PER_IP: '5' } });
      for (let i = 0; i < 5; i++) {
        const result = await call(app, 'POST', '/api/auth/login', { body: { email: uniqueEmail(), password: 'Wrong1234' } });
        assert.equal(result.status, 401);
      }
      assertLimited(await call(app, 'POST', '/api/auth/forgot-password', { body: { email: uniqueEmail() } }));
      assert.equal((await call(app, 'GET', '/health')).status, 200);
    });
  });
}

limitScenarios('in memory', () => ({}));

const redisUp = await redisReachable();
// CI sets REQUIRE_REDIS=1: there a missing Redis must fail the run, not quietly skip this suite.
const redisRequired = process.env.REQUIRE_REDIS === '1';
describe('rate limits shared through Redis', { skip: redisUp || redisRequired ? false : `Redis is not reachable at ${REDIS_URL}` }, () => {
  before(() => assert.ok(redisUp, `Redis is not reachable at ${REDIS_URL} (REQUIRE_REDIS=1)`));

  const prefixes: string[] = [];
  const env = () => {
    const prefix = `spacer:test:${randomBytes(6).toString('hex')}:`;
    prefixes.push(prefix);
    return { REDIS_URL, RATE_LIMIT_PREFIX: prefix };
  };

  after(async () => {
    const redis = new Redis(REDIS_URL);
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
  });

  limitScenarios('Redis', env);

  it('shares failed-login counts between two server processes', async () => {
    const shared = env();
    const first = await buildTestApp({ env: { ...shared, RATE_LIMIT_LOGIN_PER_EMAIL: '3' } });
    const second = await buildTestApp({ env: { ...shared, RATE_LIMIT_LOGIN_PER_EMAIL: '3' } });
    const user = await createUser(first);
    await login(first, user.email, 'Wrong1234');
    await login(second, user.email, 'Wrong1234');
    await login(first, user.email, 'Wrong1234');
    assertLimited(await login(second, user.email, user.password));
  });

  it('shares the per-IP budget between two server processes', async () => {
    const shared = env();
    const first = await buildTestApp({ env: { ...shared, RATE_LIMIT_AUTH_PER_IP: '4' } });
    const second = await buildTestApp({ env: { ...shared, RATE_LIMIT_AUTH_PER_IP: '4' } });
    for (const app of [first, second, first, second]) {
      assert.equal((await call(app, 'POST', '/api/auth/forgot-password', { body: { email: uniqueEmail() } })).status, 202);
    }
    assertLimited(await call(first, 'POST', '/api/auth/forgot-password', { body: { email: uniqueEmail() } }));
  });

  it('keeps logins working (limited in memory) when Redis is unreachable', async () => {
    const app = await buildTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMIT_LOGIN_PER_EMAIL: '2' } });
    const user = await createUser(app);
    assert.equal((await login(app, user.email, user.password)).status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await login(app, user.email, 'Wrong1234')).status, 401);
    assertLimited(await login(app, user.email, user.password));
  });
});
