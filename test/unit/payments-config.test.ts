import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, mpesaConfigured } from '../../src/config.ts';
import { TEST_SECRETS, tempDir } from '../helpers/app.ts';

const PRODUCTION = {
  NODE_ENV: 'production',
  JWT_SECRET_KEY: 'production-access-secret-0123456789abcdefghijklmnop',
  JWT_REFRESH_SECRET_KEY: 'production-refresh-secret-0123456789abcdefghijklmno',
};
const MPESA = {
  MPESA_CONSUMER_KEY: 'consumer-key',
  MPESA_CONSUMER_SECRET: 'consumer-secret',
  MPESA_BUSINESS_SHORTCODE: '174379',
  MPESA_PASSKEY: 'the-passkey',
};
const TOKEN = 'callback_token_0123456789';

const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS, ...env }, { persistSecrets: false });

function configErrorFor(env: Record<string, string>, variable: string): string {
  let message = '';
  assert.throws(
    () => load(env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `a ConfigError, got ${String(error)}`);
      assert.equal(error.variable, variable);
      message = error.message;
      return true;
    },
  );
  return message;
}

describe('payment configuration defaults', () => {
  it('applies the documented defaults', () => {
    const config = load({});
    assert.equal(config.MPESA_ENV, 'sandbox');
    assert.equal(config.MPESA_BASE_URL, 'https://sandbox.safaricom.co.ke');
    assert.equal(config.MPESA_QUERY_AFTER_S, 60);
    assert.equal(config.STRIPE_API_BASE, 'https://api.stripe.com');
    assert.equal(config.SIMULATED_PAYMENT_DELAY_MS, 1000);
    assert.equal(config.PAYMENT_PROVIDER_TIMEOUT_MS, 10_000);
    assert.equal(config.STRIPE_SECRET_KEY, undefined);
    assert.equal(mpesaConfigured(config), false);
  });

  it('derives MPESA_BASE_URL from MPESA_ENV=production, and keeps a given one without its trailing slash', () => {
    assert.equal(load({ MPESA_ENV: 'production' }).MPESA_BASE_URL, 'https://api.safaricom.co.ke');
    assert.equal(load({ MPESA_ENV: 'production', MPESA_BASE_URL: 'http://127.0.0.1:9000/' }).MPESA_BASE_URL, 'http://127.0.0.1:9000');
  });

  it('reads the numbers', () => {
    const config = load({ MPESA_QUERY_AFTER_S: '90', SIMULATED_PAYMENT_DELAY_MS: '0', PAYMENT_PROVIDER_TIMEOUT_MS: '2500' });
    assert.equal(config.MPESA_QUERY_AFTER_S, 90);
    assert.equal(config.SIMULATED_PAYMENT_DELAY_MS, 0);
    assert.equal(config.PAYMENT_PROVIDER_TIMEOUT_MS, 2500);
  });

  it('sees M-Pesa as configured only with all four credentials', () => {
    assert.equal(mpesaConfigured(load(MPESA)), true);
  });
});

describe('MPESA_CALLBACK_TOKEN', () => {
  it('outside production is derived from the JWT secret: stable for the same secret, different for another, ≥16 URL-safe characters', () => {
    const first = load({}).MPESA_CALLBACK_TOKEN!;
    const again = load({}).MPESA_CALLBACK_TOKEN!;
    const other = load({ JWT_SECRET_KEY: 'another-access-secret-0123456789abcdefghijklmnop' }).MPESA_CALLBACK_TOKEN!;
    assert.match(first, /^[A-Za-z0-9_-]{16,}$/);
    assert.equal(again, first);
    assert.notEqual(other, first);
    assert.ok(!first.includes(TEST_SECRETS.JWT_SECRET_KEY));
  });

  it('outside production survives a restart along with the generated secrets, writing no other file', () => {
    const dir = tempDir();
    const first = loadConfig({ DATA_DIR: dir });
    const second = loadConfig({ DATA_DIR: dir });
    assert.equal(second.MPESA_CALLBACK_TOKEN, first.MPESA_CALLBACK_TOKEN);
    assert.deepEqual(readdirSync(dir), ['secrets.json']);
  });

  it('keeps a given token', () => {
    assert.equal(load({ MPESA_CALLBACK_TOKEN: TOKEN }).MPESA_CALLBACK_TOKEN, TOKEN);
  });

  it('is required in production when M-Pesa is configured', () => {
    const dir = tempDir();
    assert.throws(
      () => loadConfig({ ...PRODUCTION, ...MPESA, DATA_DIR: dir }),
      (error: unknown) => error instanceof ConfigError && error.variable === 'MPESA_CALLBACK_TOKEN',
    );
    assert.equal(existsSync(join(dir, 'secrets.json')), false);
    assert.equal(load({ ...PRODUCTION, ...MPESA, MPESA_CALLBACK_TOKEN: TOKEN }).MPESA_CALLBACK_TOKEN, TOKEN);
  });

  it('is not invented in production without M-Pesa', () => {
    assert.equal(load(PRODUCTION).MPESA_CALLBACK_TOKEN, undefined);
  });

  it('accepts 16 characters and refuses 15', () => {
    assert.equal(load({ MPESA_CALLBACK_TOKEN: 'sixteen-chars-xy' }).MPESA_CALLBACK_TOKEN, 'sixteen-chars-xy');
    assert.ok(!configErrorFor({ MPESA_CALLBACK_TOKEN: 'fifteen-chars-x' }, 'MPESA_CALLBACK_TOKEN').includes('fifteen-chars-x'));
  });

  it('refuses a token that is not safe in a URL path, without echoing it', () => {
    for (const token of ['with/slash/0123456789', 'with space 0123456789', 'percent%20encoded0123']) {
      assert.ok(!configErrorFor({ MPESA_CALLBACK_TOKEN: token }, 'MPESA_CALLBACK_TOKEN').includes(token));
    }
  });
});

describe('payment configuration rules', () => {
  for (const missing of Object.keys(MPESA)) {
    it(`refuses M-Pesa credentials without ${missing}, naming it`, () => {
      const { [missing as keyof typeof MPESA]: _left, ...rest } = MPESA;
      configErrorFor(rest, missing);
    });
  }

  it('refuses one reversal setting without the other', () => {
    configErrorFor({ ...MPESA, MPESA_INITIATOR_NAME: 'operator' }, 'MPESA_SECURITY_CREDENTIAL');
    configErrorFor({ ...MPESA, MPESA_SECURITY_CREDENTIAL: 'encrypted' }, 'MPESA_INITIATOR_NAME');
    const config = load({ ...MPESA, MPESA_INITIATOR_NAME: 'operator', MPESA_SECURITY_CREDENTIAL: 'encrypted' });
    assert.equal(config.MPESA_INITIATOR_NAME, 'operator');
  });

  it('requires STRIPE_WEBHOOK_SECRET when STRIPE_SECRET_KEY is set', () => {
    configErrorFor({ STRIPE_SECRET_KEY: 'sk_test_abc' }, 'STRIPE_WEBHOOK_SECRET');
    const config = load({ STRIPE_SECRET_KEY: 'sk_test_abc', STRIPE_WEBHOOK_SECRET: 'whsec_abc' });
    assert.equal(config.STRIPE_SECRET_KEY, 'sk_test_abc');
    assert.equal(config.STRIPE_WEBHOOK_SECRET, 'whsec_abc');
  });

  it('accepts secret and restricted Stripe keys, refusing others without echoing them', () => {
    for (const key of ['sk_live_abc', 'rk_test_abc']) assert.equal(load({ STRIPE_SECRET_KEY: key, STRIPE_WEBHOOK_SECRET: 'whsec_x' }).STRIPE_SECRET_KEY, key);
    for (const key of ['pk_test_publishable', 'whsec_swapped', 'sk_prod_abc123']) {
      assert.ok(!configErrorFor({ STRIPE_SECRET_KEY: key, STRIPE_WEBHOOK_SECRET: 'whsec_x' }, 'STRIPE_SECRET_KEY').includes(key));
    }
    assert.ok(
      !configErrorFor({ STRIPE_SECRET_KEY: 'sk_test_abc', STRIPE_WEBHOOK_SECRET: 'sk_test_swapped' }, 'STRIPE_WEBHOOK_SECRET').includes('sk_test_swapped'),
    );
  });

  it('wants https provider URLs in production', () => {
    configErrorFor({ ...PRODUCTION, MPESA_BASE_URL: 'http://daraja.internal' }, 'MPESA_BASE_URL');
    configErrorFor({ ...PRODUCTION, STRIPE_API_BASE: 'http://stripe.internal' }, 'STRIPE_API_BASE');
  });

  const cases: Array<[string, string]> = [
    ['MPESA_ENV', 'live'],
    ['MPESA_BASE_URL', 'not a url'],
    ['MPESA_BASE_URL', 'ftp://daraja.example'],
    ['STRIPE_API_BASE', 'stripe.com'],
    ['MPESA_BUSINESS_SHORTCODE', '1234'],
    ['MPESA_BUSINESS_SHORTCODE', '17437a'],
    ['MPESA_QUERY_AFTER_S', '0'],
    ['MPESA_QUERY_AFTER_S', 'soon'],
    ['SIMULATED_PAYMENT_DELAY_MS', '-1'],
    ['PAYMENT_PROVIDER_TIMEOUT_MS', '10'],
    ['PAYMENT_PROVIDER_TIMEOUT_MS', '1e4'],
  ];
  for (const [variable, value] of cases) {
    it(`rejects ${variable}=${JSON.stringify(value)}`, () => {
      const env = variable === 'MPESA_BUSINESS_SHORTCODE' ? { ...MPESA, [variable]: value } : { [variable]: value };
      configErrorFor(env, variable);
    });
  }
});
