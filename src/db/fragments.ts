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
