import type { SQL } from 'drizzle-orm';

/**
 * A condition one module's repository lends to another module's query (the bookings' "free for
 * this window" inside the spaces list): SQL written with `sql.placeholder(name)` for each of
 * `values`, and a key naming its shape, so statements of the same shape are prepared once.
 */
export interface SqlFragment {
  key: string;
  sql: SQL;
  values: Record<string, unknown>;
}

/**
 * One module's figure inside a statement that reads several modules' figures in one round trip
 * (the admin stats): a scalar SQL expression over the module's own tables, and how its value
 * (JSON, parsed by the driver) becomes the figure.
 */
export interface SqlFigure<T> {
  sql: SQL;
  read(value: unknown): T;
}
