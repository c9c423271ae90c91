import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { TEST_SECRETS, tempDir } from '../helpers/app.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const DEV_ORIGINS = ['http://localhost:3000', 'http://localhost:5173', 'http://127.0.0.1:5173'];
const PRODUCTION_SECRETS = {
  JWT_SECRET_KEY: 'production-access-secret-0123456789abcdefghijklmnop',
  JWT_REFRESH_SECRET_KEY: 'production-refresh-secret-0123456789abcdefghijklmno',
};

/** Asserts that loading fails with a ConfigError about `variable`, and returns its message. */
function configErrorFor(env: Record<string, string>, variable: string): string {
  let message = '';
  assert.throws(
    () => loadConfig(env, { persistSecrets: false }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `a ConfigError, got ${String(error)}`);
      assert.equal(error.variable, variable);
      assert.match(error.message, new RegExp(`\\b${variable}\\b`));
      message = error.message;
      return true;
    },
  );
  return message;
}

describe('loadConfig defaults', () => {
  it('applies the documented defaults when only DATA_DIR is set', () => {
    const dir = tempDir();
    const config = loadConfig({ DATA_DIR: dir });
    assert.equal(config.NODE_ENV, 'development');
    assert.equal(config.PORT, 5000);
    assert.equal(config.HOST, '127.0.0.1');
    assert.equal(config.BCRYPT_ROUNDS, 12);
    assert.equal(config.ACCESS_TOKEN_TTL, 900);
    assert.equal(config.REFRESH_TOKEN_TTL, 2_592_000);
    assert.deepEqual(config.CORS_ORIGINS, DEV_ORIGINS);
    assert.equal(config.PUBLIC_URL, 'http://localhost:5000');
    assert.equal(config.LOG_LEVEL, 'info');
    assert.equal(config.BACKGROUND_JOBS, true);
    assert.equal(config.DATA_DIR, resolve(dir));
    assert.equal(config.DATABASE_URL, undefined, 'no URL means the embedded database');
    assert.equal(config.REDIS_URL, undefined);
    assert.equal(config.SMTP_URL, undefined);
  });

  it('generates two different secrets of at least 32 bytes and keeps them in DATA_DIR/secrets.json, readable by the owner only', () => {
    const dir = tempDir();
    const config = loadConfig({ DATA_DIR: dir });
    assert.ok(Buffer.byteLength(config.JWT_SECRET_KEY) >= 32);
    assert.ok(Buffer.byteLength(config.JWT_REFRESH_SECRET_KEY) >= 32);
    assert.notEqual(config.JWT_SECRET_KEY, config.JWT_REFRESH_SECRET_KEY);

    const file = join(dir, 'secrets.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(stored, { access: config.JWT_SECRET_KEY, refresh: config.JWT_REFRESH_SECRET_KEY });
  });

  it('returns the same secrets on a second load, so tokens survive a restart', () => {
    const dir = tempDir();
    const first = loadConfig({ DATA_DIR: dir });
    const second = loadConfig({ DATA_DIR: dir });
    assert.equal(second.JWT_SECRET_KEY, first.JWT_SECRET_KEY);
    assert.equal(second.JWT_REFRESH_SECRET_KEY, first.JWT_REFRESH_SECRET_KEY);
  });

  it('generates different secrets for different data folders', () => {
    const one = loadConfig({ DATA_DIR: tempDir() });
    const other = loadConfig({ DATA_DIR: tempDir() });
    assert.notEqual(one.JWT_SECRET_KEY, other.JWT_SECRET_KEY);
  });

  it('uses secrets from the environment and writes nothing when both are given', () => {
    const dir = tempDir();
    const config = loadConfig({ DATA_DIR: dir, ...TEST_SECRETS });
    assert.equal(config.JWT_SECRET_KEY, TEST_SECRETS.JWT_SECRET_KEY);
    assert.equal(config.JWT_REFRESH_SECRET_KEY, TEST_SECRETS.JWT_REFRESH_SECRET_KEY);
    assert.equal(existsSync(join(dir, 'secrets.json')), false);
  });

  it('requires the secrets when told not to persist any', () => {
    const dir = tempDir();
    configErrorFor({ DATA_DIR: dir }, 'JWT_SECRET_KEY');
    configErrorFor({ DATA_DIR: dir, JWT_SECRET_KEY: TEST_SECRETS.JWT_SECRET_KEY }, 'JWT_REFRESH_SECRET_KEY');
    assert.deepEqual(readdirSync(dir), []);
  });

  it('treats an empty variable as unset', () => {
    const config = loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS, BCRYPT_ROUNDS: '', LOG_LEVEL: '', DATABASE_URL: '' });
    assert.equal(config.BCRYPT_ROUNDS, 12);
    assert.equal(config.LOG_LEVEL, 'info');
    assert.equal(config.DATABASE_URL, undefined);
  });

  it('derives PUBLIC_URL from the default port when PORT is empty', () => {
    const config = loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS, PORT: '' });
    assert.equal(config.PORT, 5000);
    assert.equal(config.PUBLIC_URL, 'http://localhost:5000');
  });

  it('derives PUBLIC_URL from PORT and drops a trailing slash from a given one', () => {
    assert.equal(loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS, PORT: '8080' }).PUBLIC_URL, 'http://localhost:8080');
    assert.equal(loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS, PUBLIC_URL: 'https://api.example/' }).PUBLIC_URL, 'https://api.example');
  });

  it('reads CORS_ORIGINS as a trimmed comma list', () => {
    const config = loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS, CORS_ORIGINS: ' https://a.example , https://b.example ,' });
    assert.deepEqual(config.CORS_ORIGINS, ['https://a.example', 'https://b.example']);
  });

  it('reads LEGACY_CLIENT_ORIGINS as a list of origins, empty by default', () => {
    assert.deepEqual(loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS }).LEGACY_CLIENT_ORIGINS, []);
    const config = loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS, LEGACY_CLIENT_ORIGINS: ' http://127.0.0.1:5173 , https://spacer.example ' });
    assert.deepEqual(config.LEGACY_CLIENT_ORIGINS, ['http://127.0.0.1:5173', 'https://spacer.example']);
  });

  it('refuses a LEGACY_CLIENT_ORIGINS entry that is not an origin (a path, a trailing slash, not a URL)', () => {
    for (const value of ['http://127.0.0.1:5173/', 'https://spacer.example/app', '127.0.0.1:5173', 'file:///tmp']) {
      assert.throws(
        () => loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS, LEGACY_CLIENT_ORIGINS: value }),
        (error: unknown) => error instanceof ConfigError && error.variable === 'LEGACY_CLIENT_ORIGINS',
        value,
      );
    }
  });

  it('returns a frozen object', () => {
    const config = loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS });
    assert.ok(Object.isFrozen(config));
    assert.throws(() => {
      (config as { PORT: number }).PORT = 1;
    }, TypeError);
    assert.equal(config.PORT, 5000);
  });
});

describe('loadConfig in production', () => {
  it('refuses to start without JWT_SECRET_KEY', () => {
    const dir = tempDir();
    configErrorFor({ NODE_ENV: 'production', DATA_DIR: dir, JWT_REFRESH_SECRET_KEY: PRODUCTION_SECRETS.JWT_REFRESH_SECRET_KEY }, 'JWT_SECRET_KEY');
    assert.equal(existsSync(join(dir, 'secrets.json')), false, 'never generates secrets in production');
  });

  it('refuses to start without JWT_SECRET_KEY even when secrets may be persisted', () => {
    const dir = tempDir();
    assert.throws(
      () => loadConfig({ NODE_ENV: 'production', DATA_DIR: dir }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /JWT_SECRET_KEY/);
        return true;
      },
    );
    assert.equal(existsSync(join(dir, 'secrets.json')), false);
  });

  it('refuses to start without JWT_REFRESH_SECRET_KEY', () => {
    configErrorFor({ NODE_ENV: 'production', DATA_DIR: tempDir(), JWT_SECRET_KEY: PRODUCTION_SECRETS.JWT_SECRET_KEY }, 'JWT_REFRESH_SECRET_KEY');
  });

  it('refuses a 10-byte secret, naming the variable but not the secret', () => {
    const weak = 'hunter2!!x';
    assert.equal(Buffer.byteLength(weak), 10);
    const message = configErrorFor({ ...PRODUCTION_SECRETS, NODE_ENV: 'production', DATA_DIR: tempDir(), JWT_SECRET_KEY: weak }, 'JWT_SECRET_KEY');
    assert.ok(!message.includes(weak), 'the secret is not echoed');
    assert.match(message, /32 bytes/);
  });

  it('refuses a short refresh secret without echoing it', () => {
    const weak = 'short-refresh';
    const message = configErrorFor(
      { ...PRODUCTION_SECRETS, NODE_ENV: 'production', DATA_DIR: tempDir(), JWT_REFRESH_SECRET_KEY: weak },
      'JWT_REFRESH_SECRET_KEY',
    );
    assert.ok(!message.includes(weak));
  });

  it('refuses equal access and refresh secrets, naming JWT_REFRESH_SECRET_KEY', () => {
    const same = PRODUCTION_SECRETS.JWT_SECRET_KEY;
    const message = configErrorFor(
      { NODE_ENV: 'production', DATA_DIR: tempDir(), JWT_SECRET_KEY: same, JWT_REFRESH_SECRET_KEY: same },
      'JWT_REFRESH_SECRET_KEY',
    );
    assert.ok(!message.includes(same));
  });

  it('refuses equal secrets outside production too', () => {
    const same = TEST_SECRETS.JWT_SECRET_KEY;
    configErrorFor({ DATA_DIR: tempDir(), JWT_SECRET_KEY: same, JWT_REFRESH_SECRET_KEY: same }, 'JWT_REFRESH_SECRET_KEY');
  });

  it('listens on all interfaces and allows no CORS origin by default', () => {
    const config = loadConfig({ ...PRODUCTION_SECRETS, NODE_ENV: 'production', DATA_DIR: tempDir() });
    assert.equal(config.NODE_ENV, 'production');
    assert.equal(config.HOST, '0.0.0.0');
    assert.deepEqual(config.CORS_ORIGINS, []);
    assert.equal(config.JWT_SECRET_KEY, PRODUCTION_SECRETS.JWT_SECRET_KEY);
  });

  it('keeps an explicitly configured HOST and CORS_ORIGINS', () => {
    const config = loadConfig({ ...PRODUCTION_SECRETS, NODE_ENV: 'production', DATA_DIR: tempDir(), HOST: '10.0.0.5', CORS_ORIGINS: 'https://app.example' });
    assert.equal(config.HOST, '10.0.0.5');
    assert.deepEqual(config.CORS_ORIGINS, ['https://app.example']);
  });
});

describe('loadConfig rejects bad values, naming the variable', () => {
  const cases: [string, string][] = [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['BCRYPT_ROUNDS', '3'],
    ['BCRYPT_ROUNDS', '16'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['DATABASE_URL', 'mysql://x'],
    ['DATABASE_URL', 'not a url'],
    ['PUBLIC_URL', 'ftp://files.example'],
    ['ACCESS_TOKEN_TTL', 'soon'],
    ['ACCESS_TOKEN_TTL', '0'],
    ['ACCESS_TOKEN_TTL', '1.5h'],
    ['REFRESH_TOKEN_TTL', '-30d'],
    ['BACKGROUND_JOBS', 'maybe'],
    ['REDIS_URL', 'http://cache.example'],
    ['SMTP_URL', 'mailto:someone@example.test'],
    ['TRUST_PROXY', '11'],
  ];
  for (const [variable, value] of cases) {
    it(`rejects ${variable}=${JSON.stringify(value)}`, () => {
      configErrorFor({ DATA_DIR: tempDir(), ...TEST_SECRETS, [variable]: value }, variable);
    });
  }

  it('accepts the boolean spellings of BACKGROUND_JOBS', () => {
    for (const [raw, expected] of [
      ['true', true],
      ['1', true],
      ['YES', true],
      ['on', true],
      ['false', false],
      ['0', false],
      ['no', false],
      ['Off', false],
    ] as const) {
      assert.equal(loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS, BACKGROUND_JOBS: raw }).BACKGROUND_JOBS, expected, raw);
    }
  });

  it('accepts postgres and postgresql URLs', () => {
    for (const url of ['postgres://u@127.0.0.1:5432/db', 'postgresql://u:p@db.example/spacer']) {
      assert.equal(loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS, DATABASE_URL: url }).DATABASE_URL, url);
    }
  });
});

describe('loadConfig durations', () => {
  for (const [raw, seconds] of [
    ['15m', 900],
    ['12h', 43_200],
    ['30d', 2_592_000],
    ['600', 600],
    ['45s', 45],
    [' 2h ', 7200],
  ] as const) {
    it(`reads ${JSON.stringify(raw)} as ${seconds} seconds`, () => {
      const config = loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS, ACCESS_TOKEN_TTL: raw, REFRESH_TOKEN_TTL: raw });
      assert.equal(config.ACCESS_TOKEN_TTL, seconds);
      assert.equal(config.REFRESH_TOKEN_TTL, seconds);
    });
  }
});

describe('server start-up with bad configuration', () => {
  it('exits non-zero within seconds with one line on stderr naming PORT and no stack trace', async () => {
    const dataDir = tempDir();
    const started = Date.now();
    const child = spawn(process.execPath, ['src/server.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', PORT: 'abc', DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) =>
      child.on('close', (exitCode, exitSignal) => done([exitCode, exitSignal])),
    );
    clearTimeout(killer);

    assert.equal(signal, null, 'it exited by itself');
    assert.ok(code !== null && code !== 0, `non-zero exit, got ${code}`);
    assert.ok(Date.now() - started < 10_000, 'it gave up quickly');
    const lines = stderr.split('\n').filter((line) => line.trim() !== '');
    assert.equal(lines.length, 1, `exactly one line, got: ${stderr}`);
    assert.match(lines[0]!, /\bPORT\b/);
    assert.doesNotMatch(stderr, /^\s*at /m, 'no stack frames');
    assert.equal(stdout, '');
    assert.deepEqual(readdirSync(dataDir), [], 'nothing was created before the configuration was valid');
  });
});
