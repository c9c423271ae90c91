import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../src/db/client.ts';

/**
 * How the fuzzer knows that a refused request wrote nothing, at a cost that does not grow with the
 * data: every table of the fuzz database gets triggers that log each row written into
 * `fuzz.writes`. The fuzzer empties the log before a request and reads it after a refusal; a
 * refusal that wrote anything, anywhere, leaves a line there.
 *
 * Why this and not the alternatives:
 * - A content hash of every table (what the fuzzer did before) is exact but reads every row after
 *   every refusal, so a long run slowed from 8 s to 40 s per 1,000 requests as the data grew.
 * - Hashing only rows whose xmin is newer than a watermark still scans every table (there is no
 *   index on xmin), misses deletes, and xids are compared modulo wraparound.
 * - `pg_stat_*` counters are flushed asynchronously, per backend, and PGlite keeps none reliably.
 * - A per-table counter row would be exact too, but two transactions writing the same tables in
 *   a different order would deadlock on it, a 5xx the app itself could never cause. An
 *   append-only log takes no row locks, and reading it costs what was written, not what is stored.
 *
 * It is exact in the sense the hash was: a row inserted, deleted or truncated away, or updated to
 * anything but its old content, is logged, in the transaction that wrote it, so a write rolled
 * back is (rightly) not. An update to identical values is not logged: it changes nothing, and the
 * hash did not see it either. It is stricter than the hash where the hash was blind: a row written
 * and written back, or a permutation that leaves the sum of row hashes equal, is caught.
 *
 * The triggers exist only in the fuzzer's own database (a scratch database, or an in-memory
 * PGlite), never in a migration.
 */

export const WRITE_LOG_SCHEMA = 'fuzz';

/** The tables the log watches: every ordinary table outside the system schemas and its own. */
const WATCHED = `
  select n.nspname as schema, c.relname as name
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema', '${WRITE_LOG_SCHEMA}') and n.nspname not like 'pg\\_%'`;

const INSTALL = [
  `create schema if not exists ${WRITE_LOG_SCHEMA}`,
  `create table if not exists ${WRITE_LOG_SCHEMA}.writes (table_name text not null, operation text not null)`,
  // Names in `public` stay bare, so they read like the tables the contract speaks of.
  `create or replace function ${WRITE_LOG_SCHEMA}.log_write() returns trigger language plpgsql as $$
   begin
     insert into ${WRITE_LOG_SCHEMA}.writes (table_name, operation)
     values (case when tg_table_schema = 'public' then tg_table_name else tg_table_schema || '.' || tg_table_name end, tg_op);
     return null;
   end $$`,
  // Old and new rows are compared as text, as the content hash did: row equality would fail on a
  // column type without an equality operator, and text tells apart what a client can tell apart.
  `do $$
   declare t record;
   begin
     for t in ${WATCHED} loop
       execute format('create or replace trigger fuzz_log_insert_delete after insert or delete on %I.%I for each row execute function ${WRITE_LOG_SCHEMA}.log_write()', t.schema, t.name);
       execute format('create or replace trigger fuzz_log_update after update on %I.%I for each row when (old::text is distinct from new::text) execute function ${WRITE_LOG_SCHEMA}.log_write()', t.schema, t.name);
       execute format('create or replace trigger fuzz_log_truncate after truncate on %I.%I for each statement execute function ${WRITE_LOG_SCHEMA}.log_write()', t.schema, t.name);
     end loop;
   end $$`,
];

export interface WriteLog {
  /** The tables watched (bare names in `public`, qualified elsewhere). */
  tables: string[];
  /** Forgets every write logged so far. */
  clear(): Promise<void>;
  /** The tables written since the last clear or take, and forgets them. */
  take(): Promise<string[]>;
  /**
   * Throws unless every table still carries its three triggers: a table the log does not watch
   * would pass every check unseen.
   */
  verify(): Promise<void>;
}

export async function installWriteLog(db: Db): Promise<WriteLog> {
  for (const statement of INSTALL) await db.execute(sql.raw(statement));
  const watched = async () => {
    const rows = await queryRows<{ schema: string; name: string; triggers: number }>(
      db,
      sql.raw(`
        select w.schema, w.name,
          (select count(*)::int from pg_trigger g
           where g.tgrelid = format('%I.%I', w.schema, w.name)::regclass
             and g.tgname in ('fuzz_log_insert_delete', 'fuzz_log_update', 'fuzz_log_truncate') and g.tgenabled <> 'D') as triggers
        from (${WATCHED}) w order by 1, 2`),
    );
    return rows;
  };
  const verify = async () => {
    const rows = await watched();
    const bare = rows.filter((row) => row.triggers !== 3).map((row) => `${row.schema}.${row.name}`);
    if (rows.length === 0) throw new Error('write log: no table to watch');
    if (bare.length > 0) throw new Error(`write log: not watching ${bare.join(', ')}`);
  };
  await verify();
  const tables = (await watched()).map((row) => (row.schema === 'public' ? row.name : `${row.schema}.${row.name}`));
  const take = async () => {
    const rows = await queryRows<{ table_name: string }>(
      db,
      sql.raw(`with taken as (delete from ${WRITE_LOG_SCHEMA}.writes returning table_name) select distinct table_name from taken order by 1`),
    );
    return rows.map((row) => row.table_name);
  };
  return {
    tables,
    clear: async () => {
      await db.execute(sql.raw(`delete from ${WRITE_LOG_SCHEMA}.writes`));
    },
    take,
    verify,
  };
}
