import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { TEST_SECRETS, tempDir } from '../helpers/app.ts';

const POSTGRES = 'postgres://spacer@db.example:5432/spacer';

const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS, ...env }, { persistSecrets: false });

function refused(env: Record<string, string>): string {
  let message = '';
  assert.throws(
    () => load(env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `a ConfigError, got ${String(error)}`);
      assert.equal(error.variable, 'WEB_CONCURRENCY');
      message = error.message;
      return true;
    },
  );
  return message;
}

describe('WEB_CONCURRENCY', () => {
  it('defaults to 1 (a single process), on either database', () => {
    assert.equal(load({}).WEB_CONCURRENCY, 1);
    assert.equal(load({ WEB_CONCURRENCY: '' }).WEB_CONCURRENCY, 1);
    assert.equal(load({ WEB_CONCURRENCY: '1' }).WEB_CONCURRENCY, 1, '1 is allowed with the embedded database');
    assert.equal(load({ DATABASE_URL: POSTGRES }).WEB_CONCURRENCY, 1);
  });

  it('takes an integer from 1 to 64 with DATABASE_URL', () => {
    assert.equal(load({ DATABASE_URL: POSTGRES, WEB_CONCURRENCY: '2' }).WEB_CONCURRENCY, 2);
    assert.equal(load({ DATABASE_URL: POSTGRES, WEB_CONCURRENCY: ' 64 ' }).WEB_CONCURRENCY, 64);
  });

  it('refuses anything else, naming the variable and the range', () => {
    for (const raw of ['0', '65', '-1', '1.5', '2x', 'two', 'max', '1e1']) {
      const message = refused({ DATABASE_URL: POSTGRES, WEB_CONCURRENCY: raw });
      assert.equal(message, `Invalid configuration: WEB_CONCURRENCY must be an integer from 1 to 64 (got "${raw}")`);
    }
  });

  it('refuses more than one process on the embedded database, saying to set DATABASE_URL', () => {
    const message = refused({ WEB_CONCURRENCY: '2' });
    assert.match(message, /WEB_CONCURRENCY must be 1 with the embedded database/);
    assert.match(message, /set DATABASE_URL to run 2 workers/);
  });
});
