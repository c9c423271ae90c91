import { ERROR_CODES } from './error-codes.ts';
import { Type, type Static, type TLiteral, type TSchema, type TSchemaOptions, type TUnion, type TUnsafe } from 'typebox';

/** Shared TypeBox primitives; every route schema is built from these so the contract stays uniform. */

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

type Literals<Values extends readonly string[]> = { -readonly [K in keyof Values]: TLiteral<Values[K]> };

/**
 * One of the values of an `as const` list, as a union of literals: the list stays the single source
 * of the schema, the static type and (in src/db/schema) the CHECK constraint, and the OpenAPI
 * document keeps showing each value as its own literal.
 */
export const LiteralUnion = <const Values extends readonly [string, ...string[]]>(values: Values, options?: TSchemaOptions): TUnion<Literals<Values>> =>
  Type.Union<Literals<Values>>(values.map((value) => Type.Literal(value)) as [...Literals<Values>], options);

/** Marks an id, so the validator holds it to its canonical spelling where it arrives as text. */
export const CANONICAL_ID_MARK = 'x-canonical';
export const Id = Type.Integer({
  minimum: 1,
  maximum: 2_147_483_647,
  description: 'A positive integer id, written canonically (no sign, no leading zero, no exponent)',
  [CANONICAL_ID_MARK]: true,
});
export const IdParams = Type.Object({ id: Id });
export type IdParams = Static<typeof IdParams>;

export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254, description: 'Compared case-insensitively' });
/** 8–72 *bytes* (bcrypt's limit) is checked by the rules; the schema bounds the characters. */
export const Password = Type.String({ minLength: 8, maxLength: 72, description: '8–72 bytes with at least one letter and one digit' });
export const DateTime = Type.String({ format: 'date-time', description: 'ISO 8601 in UTC, e.g. 2026-12-01T09:00:00.000Z' });

const ErrorDetailSchema = Type.Object({ field: Type.String(), message: Type.String() });
export const ErrorSchema = Type.Object(
  {
    error: Type.String({ description: 'Human-readable message' }),
    message: Type.String({ description: 'The same text as error' }),
    // A string, not an enum, so a client built from this document keeps working when a code is added.
    code: Type.String({ description: `Stable snake_case code, one of the Error schema's x-error-codes: ${ERROR_CODES.join(', ')}` }),
    details: Type.Optional(Type.Array(ErrorDetailSchema)),
  },
  { $id: 'Error', title: 'Error', 'x-error-codes': [...ERROR_CODES] },
);
export type ErrorBody = Static<typeof ErrorSchema>;

export const MessageSchema = Type.Object({ message: Type.String() });

export const PageQuery = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1, description: 'Page number, from 1' })),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'Items per page, 1–100' })),
});
export type PageQuery = Static<typeof PageQuery>;

/** `{ <plural>: T[], total, pages, current_page, per_page }` */
export const Page = <K extends string, T extends TSchema>(plural: K, item: T) =>
  Type.Object({
    ...({ [plural]: Type.Array(item) } as { [P in K]: ReturnType<typeof Type.Array<T>> }),
    total: Type.Integer(),
    pages: Type.Integer(),
    current_page: Type.Integer(),
    per_page: Type.Integer(),
  });

const ref = Type.Ref('Error');
/** The error responses a route can give, all in the contract's envelope. */
export const errorResponses = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, ref])) as Record<number, typeof ref>;

/** For POSTs that create things (bookings, payments): a repeat with the same key and body is answered from the first. */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$', description: 'Repeat a POST safely for 24 hours' }),
  ),
});

/** A JSON Schema pattern for `words` in any letter case: patterns carry no flags, so each letter is a class. */
const anyCasePattern = (words: readonly string[]) =>
  `^(?:${words
    .map((word) =>
      [...word]
        .map((char) =>
          char.toLowerCase() === char.toUpperCase() ? char.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&') : `[${char.toLowerCase()}${char.toUpperCase()}]`,
        )
        .join(''),
    )
    .join('|')})$`;

export interface LenientLiteral<T extends string> {
  /** The input schema: a pattern over every accepted spelling, typed as the canonical values it stands for. */
  schema: TUnsafe<T>;
  /** The canonical value a spelling stands for, or undefined when it stands for none. */
  canonical: (value: string) => T | undefined;
  /** Every spelling accepted apart from letter case: the values and their aliases. */
  spellings: readonly string[];
}

/**
 * An input field that takes one of `values` in any letter case, or an alias of one. The schema
 * documents (and validates) the spellings; `canonicalize` in the validation plugin rewrites the
 * field before validation, so handlers and services only ever see the canonical values.
 */
export function lenientLiteral<const Values extends readonly [string, ...string[]]>(
  values: Values,
  options: { description: string; aliases?: Readonly<Record<string, Values[number]>> },
): LenientLiteral<Values[number]> {
  const aliases: Readonly<Record<string, Values[number]>> = options.aliases ?? {};
  const spellings = [...values, ...Object.keys(aliases)];
  const canonical = (value: string): Values[number] | undefined => {
    const lower = value.toLowerCase();
    if ((values as readonly string[]).includes(lower)) return lower;
    return Object.hasOwn(aliases, lower) ? aliases[lower] : undefined;
  };
  const schema = Type.Unsafe<Values[number]>(Type.String({ pattern: anyCasePattern(spellings), description: options.description, examples: [...values] }));
  return { schema, canonical, spellings };
}
