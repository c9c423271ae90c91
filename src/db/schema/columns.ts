import { timestamp } from 'drizzle-orm/pg-core';

/** Every time is a timestamptz read as a Date, so responses are always UTC ISO strings. */
export const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const createdAt = () => timestamptz('created_at').notNull().defaultNow();
export const updatedAt = () => timestamptz('updated_at').notNull().defaultNow();
