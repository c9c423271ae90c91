import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import type { Static, TSchema } from 'typebox';
import { queryRows, type Db } from '../../src/db/client.ts';
import {
  BOOKING_STATUSES,
  CANCELLATION_POLICIES,
  CANCELLERS,
  LIVE_BOOKING_STATUSES,
  MAIL_STATUSES,
  PAYMENT_METHODS,
  PAYMENT_PROVIDERS,
  PAYMENT_STATES,
  PAYMENT_STATUSES,
  REFUND_STATES,
  STORED_METHOD_TYPES,
  ROLES,
  TOKEN_PURPOSES,
  WEEKDAYS,
  type BookingStatus,
  type CancellationPolicy,
  type Canceller,
  type PaymentStatus,
  type Role,
} from '../../src/db/schema/index.ts';
import { RegisterBody } from '../../src/modules/auth/auth.schemas.ts';
import { isLive, LIVE_STATUSES } from '../../src/modules/bookings/bookings.rules.ts';
import { BookingListQuery, BookingSchema, QuoteResponse } from '../../src/modules/bookings/bookings.schemas.ts';
import { CreatePaymentBody, PaymentListQuery, PaymentSchema, ReceiptSchema, StoredPaymentMethodSchema } from '../../src/modules/payments/payments.schemas.ts';
import { CreateSpaceBody, SpaceSchema, UpdateSpaceBody, type SpaceStatsSchema } from '../../src/modules/spaces/spaces.schemas.ts';
import { RoleInput, UpdateUserBody, UserListQuery, UserSchema } from '../../src/modules/users/users.schemas.ts';
import type { LenientLiteral } from '../../src/shared/schemas.ts';
import { testDatabase } from '../helpers/database.ts';

interface ValueList {
  table: string;
  column: string;
  values: readonly string[];
  /** Every request or response field that carries the column's values. */
  schemas: TSchema[];
  /**
   * Input fields that deliberately accept more spellings (any letter case, aliases) and are
   * rewritten to the canonical value before validation; they must stand for exactly the list.
   */
  lenient?: { schemas: TSchema[]; literal: LenientLiteral<string> };
}

const valueLists: ValueList[] = [
  {
    table: 'users',
    column: 'role',
    values: ROLES,
    schemas: [UserSchema.properties.role, UserListQuery.properties.role],
    // The original web front end registers with CLIENT / SPACE_OWNER (docs/migrating-from-flask.md).
    lenient: { schemas: [UpdateUserBody.properties.role, RegisterBody.properties.role], literal: RoleInput },
  },
  { table: 'user_tokens', column: 'purpose', values: TOKEN_PURPOSES, schemas: [] },
  { table: 'mail_outbox', column: 'status', values: MAIL_STATUSES, schemas: [] },
  {
    table: 'spaces',
    column: 'cancellation_policy',
    values: CANCELLATION_POLICIES,
    schemas: [
      SpaceSchema.properties.cancellation_policy,
      CreateSpaceBody.properties.cancellation_policy,
      UpdateSpaceBody.properties.cancellation_policy,
      QuoteResponse.properties.policy,
    ],
  },
  { table: 'bookings', column: 'status', values: BOOKING_STATUSES, schemas: [BookingSchema.properties.status, BookingListQuery.properties.status] },
  { table: 'bookings', column: 'payment_status', values: PAYMENT_STATUSES, schemas: [BookingSchema.properties.payment_status] },
  { table: 'bookings', column: 'cancelled_by', values: CANCELLERS, schemas: [BookingSchema.properties.cancelled_by] },
  {
    table: 'payments',
    column: 'payment_method',
    values: PAYMENT_METHODS,
    schemas: [PaymentSchema.properties.payment_method, CreatePaymentBody.properties.payment_method, ReceiptSchema.properties.payment_method],
  },
  { table: 'payments', column: 'status', values: PAYMENT_STATES, schemas: [PaymentSchema.properties.status, PaymentListQuery.properties.status] },
  { table: 'payments', column: 'provider', values: PAYMENT_PROVIDERS, schemas: [] },
  { table: 'payments', column: 'refund_state', values: REFUND_STATES, schemas: [] },
  { table: 'payment_methods', column: 'type', values: STORED_METHOD_TYPES, schemas: [StoredPaymentMethodSchema.properties.type] },
];

/** The string literals of a definition as PostgreSQL prints it, e.g. `(ARRAY['a'::text, 'b'::text])`. */
const literalsIn = (definition: string) => [...definition.matchAll(/'((?:[^']|'')*)'/g)].map((match) => match[1]!.replaceAll("''", "'"));

/** The values a schema allows, through Nullable and Optional wrappers; null itself is left out. */
function literalsOf(schema: TSchema): string[] {
  const node = schema as { anyOf?: TSchema[]; const?: unknown; type?: unknown };
  if (node.anyOf) return node.anyOf.flatMap(literalsOf);
  if (node.type === 'null') return [];
  assert.equal(typeof node.const, 'string', `expected a string literal, got ${JSON.stringify(schema)}`);
  return [node.const as string];
}

/** The literals a predicate compares one column with (`col = 'a'` or `col = ANY (ARRAY['a', 'b'])`). */
function literalsOfColumn(predicate: string, column: string): string[] {
  const pattern = new RegExp(`(?<![\\w"])"?${column}"?\\s*=\\s*(?:ANY\\s*\\((\\(?ARRAY\\[[^\\]]*\\])|('(?:[^']|'')*'))`, 'g');
  return [...predicate.matchAll(pattern)].flatMap((match) => literalsIn(match[1] ?? match[2] ?? ''));
}

const sorted = (values: Iterable<string>) => [...values].sort();

// Checked by the typecheck: the schemas' static types are the lists' own unions, not string.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Holds<T extends true> = T;
type _StaticTypesAreTheLists = [
  Holds<Equal<Static<typeof UserSchema.properties.role>, Role>>,
  Holds<Equal<Static<typeof BookingSchema.properties.status>, BookingStatus>>,
  Holds<Equal<Static<typeof BookingSchema.properties.payment_status>, PaymentStatus>>,
  Holds<Equal<Static<typeof BookingSchema.properties.cancelled_by>, Canceller | null>>,
  Holds<Equal<Static<typeof SpaceSchema.properties.cancellation_policy>, CancellationPolicy>>,
  Holds<Equal<keyof Static<typeof SpaceStatsSchema.properties.bookings_by_status>, BookingStatus>>,
];

describe('value lists', () => {
  let db: Db;
  before(async () => {
    ({ db } = await testDatabase());
  });

  it('has no list with a repeated value', () => {
    for (const { table, column, values } of valueLists) assert.equal(new Set(values).size, values.length, `${table}.${column}`);
  });

  for (const { table, column, values, schemas, lenient } of valueLists) {
    if (lenient) {
      it(`${table}.${column}: every lenient input field stands for exactly the list`, () => {
        const { literal } = lenient;
        assert.deepEqual(sorted(new Set(literal.spellings.map((spelling) => literal.canonical(spelling)!))), sorted(values));
        for (const value of values) assert.equal(literal.canonical(value.toUpperCase()), value);
        for (const schema of lenient.schemas) {
          const { pattern } = schema as { pattern?: string };
          assert.ok(pattern, JSON.stringify(schema));
          const accepts = (text: string) => new RegExp(pattern, 'u').test(text);
          for (const spelling of literal.spellings) assert.ok(accepts(spelling) && accepts(spelling.toUpperCase()), `${spelling}: ${pattern}`);
          for (const wrong of ['', 'superuser', `${values[0]}x`, ` ${values[0]}`]) assert.ok(!accepts(wrong), `${JSON.stringify(wrong)}: ${pattern}`);
        }
      });
    }

    it(`${table}.${column}: the migrated CHECK constraint allows exactly the list`, async () => {
      const rows = await queryRows<{ name: string; definition: string }>(
        db,
        sql`select c.conname as name, pg_get_constraintdef(c.oid) as definition
              from pg_constraint c
              join pg_attribute a on a.attrelid = c.conrelid and a.attnum = any (c.conkey)
             where c.conrelid = ${table}::regclass and c.contype = 'c' and cardinality(c.conkey) = 1 and a.attname = ${column}`,
      );
      assert.equal(rows.length, 1, `one CHECK constraint on ${table}.${column}, found ${JSON.stringify(rows)}`);
      const { name, definition } = rows[0]!;
      assert.deepEqual(sorted(literalsIn(definition)), sorted(values), `${name}: ${definition} (a change to the list needs a migration: npm run db:generate)`);
    });

    if (schemas.length > 0) {
      it(`${table}.${column}: every API field allows exactly the list`, () => {
        for (const schema of schemas) assert.deepEqual(sorted(literalsOf(schema)), sorted(values), JSON.stringify(schema));
      });
    }
  }

  it('space_open_during reads the weekdays in the order of WEEKDAYS (ISO, Monday first)', async () => {
    const [row] = await queryRows<{ definition: string }>(db, sql`select pg_get_functiondef('space_open_during'::regproc) as definition`);
    const array = /ARRAY\[([^\]]*)\]/.exec(row!.definition);
    assert.ok(array, row!.definition);
    assert.deepEqual(literalsIn(array[1]!), [...WEEKDAYS]);
  });
});

describe('the live booking condition', () => {
  let db: Db;
  before(async () => {
    ({ db } = await testDatabase());
  });

  it('is LIVE_BOOKING_STATUSES, a part of BOOKING_STATUSES, in the rules too', () => {
    for (const status of LIVE_BOOKING_STATUSES) assert.ok((BOOKING_STATUSES as readonly string[]).includes(status), status);
    assert.deepEqual(LIVE_STATUSES, LIVE_BOOKING_STATUSES);
    assert.deepEqual(
      BOOKING_STATUSES.filter((status) => isLive(status)),
      [...LIVE_BOOKING_STATUSES],
    );
  });

  it('the exclusion constraint on bookings holds exactly the live statuses', async () => {
    const rows = await queryRows<{ name: string; definition: string }>(
      db,
      sql`select conname as name, pg_get_constraintdef(oid) as definition from pg_constraint where conrelid = 'bookings'::regclass and contype = 'x'`,
    );
    assert.ok(rows.length >= 1, 'bookings has an exclusion constraint');
    for (const { name, definition } of rows) {
      const where = /\sWHERE\s+(.*)$/s.exec(definition);
      assert.ok(where, `${name} is partial: ${definition}`);
      assert.deepEqual(sorted(literalsIn(where[1]!)), sorted(LIVE_BOOKING_STATUSES), `${name}: ${definition}`);
    }
  });

  it('every partial index on bookings names known statuses, and one naming several names exactly the live ones', async () => {
    const rows = await queryRows<{ name: string; predicate: string }>(
      db,
      sql`select i.relname as name, pg_get_expr(x.indpred, x.indrelid) as predicate
            from pg_index x join pg_class i on i.oid = x.indexrelid
           where x.indrelid = 'bookings'::regclass and x.indpred is not null`,
    );
    assert.ok(rows.length >= 1);
    for (const { name, predicate } of rows) {
      const statuses = literalsOfColumn(predicate, 'status');
      for (const status of statuses) assert.ok((BOOKING_STATUSES as readonly string[]).includes(status), `${name}: ${predicate}`);
      if (statuses.length > 1) assert.deepEqual(sorted(statuses), sorted(LIVE_BOOKING_STATUSES), `${name}: ${predicate}`);
      for (const status of literalsOfColumn(predicate, 'payment_status'))
        assert.ok((PAYMENT_STATUSES as readonly string[]).includes(status), `${name}: ${predicate}`);
      assert.ok(
        statuses.length > 0 || /payment_status/.test(predicate) || !/'/.test(predicate),
        `${name} names values of a column this test does not know: ${predicate}`,
      );
    }
  });
});
