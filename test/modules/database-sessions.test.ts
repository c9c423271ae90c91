import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createPool } from '../../src/db/client.ts';
import { createScratchPostgres, usingPostgres } from '../helpers/database.ts';

const skip = usingPostgres() ? false : 'needs TEST_DATABASE_URL (session settings of a real PostgreSQL server; the embedded one has no JIT)';

describe("the pool's PostgreSQL sessions", { skip }, () => {
  it('run with the timeouts, the name and no JIT that src/db/client.ts asks for, on every connection', async () => {
    const scratch = await createScratchPostgres();
    after(scratch.drop);
    const pool = createPool(scratch.url, { poolMax: 2 });
    after(() => pool.end());
    const clients = [await pool.connect(), await pool.connect()];
    try {
      for (const client of clients) {
        const { rows } = await client.query<Record<string, string>>(
          `select current_setting('jit') as jit, current_setting('statement_timeout') as statement_timeout,
             current_setting('idle_in_transaction_session_timeout') as idle, current_setting('application_name') as name`,
        );
        assert.deepEqual(rows[0], { jit: 'off', statement_timeout: '30s', idle: '1min', name: 'spacer-api' });
      }
    } finally {
      for (const client of clients) client.release();
    }
  });

  it("keep a DATABASE_URL's own options and still run without JIT", async () => {
    const scratch = await createScratchPostgres();
    after(scratch.drop);
    const url = new URL(scratch.url);
    url.searchParams.set('options', '-c work_mem=7MB');
    const pool = createPool(url.toString(), { poolMax: 1 });
    after(() => pool.end());
    const { rows } = await pool.query<Record<string, string>>(`select current_setting('jit') as jit, current_setting('work_mem') as work_mem`);
    assert.deepEqual(rows[0], { jit: 'off', work_mem: '7MB' });
  });
});
