import { sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';

/** A non-empty list of the values a text column may hold, written once as an `as const` array. */
export type ValueList = readonly [string, ...string[]];

const quote = (value: string) => `'${value.replaceAll("'", "''")}'`;

/**
 * `column in ('a', 'b')` for CHECK constraints and predicates. The values are code constants, never
 * input, so they are inlined: DDL takes no parameters, and drizzle-kit compares the text with the
 * last snapshot, so it must read exactly as the migrations do.
 */
export const isOneOf = (column: AnyPgColumn, values: ValueList): SQL => sql`${column} in ${sql.raw(`(${values.map(quote).join(', ')})`)}`;
