import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Db, DbOrTx } from './client.ts';
import type { SqlFigure } from './fragments.ts';

/**
 * Named statements for hot paths: built once per database handle, they spare drizzle's query
 * building and PostgreSQL's parse and plan on every call (node-postgres parses a name once per
 * connection). A transaction's handle gets its own, dropped with it.
 */
export function statementCache<T, Handle extends DbOrTx = Db>(build: (db: Handle) => T): (db: Handle) => T {
  const statements = new WeakMap<Handle, T>();
  return (db: Handle) => {
    let statement = statements.get(db);
    if (!statement) statements.set(db, (statement = build(db)));
    return statement;
  };
}

const dialect = new PgDialect();

/**
 * A named statement of hand-written SQL with `sql.placeholder`s, for what the query builder cannot
 * say (data-modifying CTEs). Rows come as the driver gives them, with the SQL's column names.
 */
export function preparedSql<Row>(db: DbOrTx, name: string, query: SQL) {
  const prepared = db._.session.prepareQuery(dialect.sqlToQuery(query), undefined, name, false);
  return {
    async execute(values: Record<string, unknown>): Promise<Row[]> {
      const result = (await prepared.execute(values)) as { rows: Row[] };
      return result.rows;
    },
  };
}

type FiguresOf<F extends Record<string, SqlFigure<unknown>>> = { [K in keyof F]: F[K] extends SqlFigure<infer T> ? T : never };

/**
 * Figures owned by several modules read by one named statement, a scalar subquery each: one round
 * trip and one pooled connection per read, where a statement per figure would take as many.
 */
export function figuresStatement<F extends Record<string, SqlFigure<unknown>>>(name: string, figures: F) {
  const names = Object.keys(figures) as (keyof F & string)[];
  const statement = statementCache((db: Db) =>
    db
      .select(Object.fromEntries(names.map((key) => [key, figures[key]!.sql])) as Record<string, SQL>)
      .from(sql`(select) as "figures"`)
      .prepare(name),
  );
  return async (db: Db): Promise<FiguresOf<F>> => {
    const [row] = await statement(db).execute();
    return Object.fromEntries(names.map((key) => [key, figures[key]!.read(row?.[key])])) as FiguresOf<F>;
  };
}
