import { badRequest, conflict, serviceUnavailable, type AppError } from './errors.ts';

/**
 * Turns what PostgreSQL refuses into the contract's errors. The database is the final judge of
 * uniqueness and overlaps, so these are expected outcomes, not bugs.
 */

interface PgError {
  code: string;
  constraint?: string;
}

/** Constraint names whose violation deserves a more specific answer than the SQLSTATE default. */
const CONSTRAINTS: Record<string, () => AppError> = {
  users_email_lower_key: () => conflict('email_taken', 'An account with this email already exists'),
  reviews_user_space_key: () => conflict('already_exists', 'You have already reviewed this space; edit that review instead'),
};

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08006',
]);

/** Drizzle wraps driver errors (and its message holds the SQL), so look through `cause`. */
function pgError(error: unknown): PgError | undefined {
  for (let current = error, depth = 0; current && depth < 4; current = (current as { cause?: unknown }).cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return current as PgError;
  }
  return undefined;
}

export function isConnectionError(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 4; current = (current as { cause?: unknown }).cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
    // pg's own wording, without a code: the last one is what drizzle's ROLLBACK gets on a
    // transaction whose connection died, and it replaces the error that broke the transaction.
    if (current instanceof Error && /Connection terminated|timeout exceeded when trying to connect|did not answer within|not queryable/.test(current.message))
      return true;
  }
  return false;
}

export function fromDatabaseError(error: unknown): AppError | undefined {
  if (isConnectionError(error)) return serviceUnavailable('The database is unavailable, please retry shortly', 5);
  const pg = pgError(error);
  if (!pg) return undefined;
  const specific = pg.constraint ? CONSTRAINTS[pg.constraint] : undefined;
  if (specific) return specific();
  switch (pg.code) {
    case '23505':
      return conflict('already_exists', 'This resource already exists');
    case '23P01':
      return conflict('booking_conflict', 'The space is already booked for an overlapping time');
    case '23503':
      return conflict('invalid_state', 'A referenced resource does not exist or is still in use');
    case '23514':
    case '22P02':
    case '22003':
    case '22007':
    case '22008':
    case '22001':
    case '22021':
      return badRequest('validation_error', 'A value is out of range or malformed');
    case '40001':
    case '40P01':
      return serviceUnavailable('A concurrent change interfered, please retry', 1);
    default:
      return undefined;
  }
}

/**
 * Runs a transaction again when PostgreSQL aborted it to break a deadlock or a serialization
 * conflict (40P01, 40001): such an abort says nothing about the request, and a second attempt
 * sees the other transaction's outcome.
 */
export async function retryTransient<T>(work: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const code = pgError(error)?.code;
      if (attempt >= attempts || (code !== '40P01' && code !== '40001')) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}
