import { createHash } from 'node:crypto';
import { and, eq, isNull, lt, or } from 'drizzle-orm';
import type { DbOrTx, Tx } from '../db/client.ts';
import { idempotencyKeys } from '../db/schema/index.ts';
import { conflict } from '../shared/errors.ts';

/**
 * Idempotency-Key support for POSTs that create things (bookings, payments). Used inside the
 * operation's own transaction:
 *
 *   claim → (do the work) → remember → commit
 *
 * The claim inserts the key; a concurrent duplicate blocks on the primary key until the first
 * transaction ends, then finds the stored answer (or, if the first failed and rolled back, claims
 * the key itself). So exactly one of any number of identical requests does the work. Only
 * successful answers are kept; a failure leaves nothing, and a retry runs again.
 */

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface IdempotencyRequest {
  userId: number;
  /** The operation, e.g. "POST /api/bookings": one key may be used once per operation. */
  scope: string;
  key: string;
  body: unknown;
  /**
   * For a claim committed before its work ends (a payment waiting on its provider): how long it
   * may stay unanswered before it counts as left by a process that died, and is taken over.
   */
  abandonedAfterMs?: number;
}

export interface StoredAnswer {
  statusCode: number;
  body: string;
}

/** Key order does not change a JSON body's meaning, so it must not change its fingerprint. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const fingerprint = (body: unknown) => createHash('sha256').update(canonical(body)).digest('hex');

/**
 * Claims the key for this request, or returns the answer stored under it. A key reused with a
 * different body is a 409 idempotency_key_reused.
 */
export async function claimKey(tx: Tx, request: IdempotencyRequest, now: Date): Promise<StoredAnswer | undefined> {
  const requestHash = fingerprint(request.body);
  // An expired key, or a claim its process never answered, is taken over as if never used.
  const gone =
    request.abandonedAfterMs === undefined
      ? lt(idempotencyKeys.expiresAt, now)
      : or(
          lt(idempotencyKeys.expiresAt, now),
          and(isNull(idempotencyKeys.statusCode), lt(idempotencyKeys.createdAt, new Date(now.getTime() - request.abandonedAfterMs))),
        );
  await tx
    .delete(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, request.userId), eq(idempotencyKeys.scope, request.scope), eq(idempotencyKeys.key, request.key), gone));
  const claimed = await tx
    .insert(idempotencyKeys)
    .values({
      userId: request.userId,
      scope: request.scope,
      key: request.key,
      requestHash,
      createdAt: now,
      expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS),
    })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });
  if (claimed.length > 0) return undefined;

  const [stored] = await tx
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, request.userId), eq(idempotencyKeys.scope, request.scope), eq(idempotencyKeys.key, request.key)));
  if (!stored || stored.requestHash !== requestHash) {
    throw conflict('idempotency_key_reused', 'This Idempotency-Key was already used with a different request');
  }
  if (stored.statusCode === null || stored.responseBody === null) {
    // Claimed by a transaction that has not finished: only possible without row locking (never here).
    throw conflict('idempotency_key_reused', 'A request with this Idempotency-Key is still in progress');
  }
  return { statusCode: stored.statusCode, body: stored.responseBody };
}

/** Stores the answer under the claimed key (in the same transaction as the work, where there is one). */
export async function rememberAnswer(tx: DbOrTx, request: IdempotencyRequest, answer: StoredAnswer): Promise<void> {
  await tx
    .update(idempotencyKeys)
    .set({ statusCode: answer.statusCode, responseBody: answer.body })
    .where(and(eq(idempotencyKeys.userId, request.userId), eq(idempotencyKeys.scope, request.scope), eq(idempotencyKeys.key, request.key)));
}

/**
 * Gives back a key whose claim was committed before the work could finish (a payment whose
 * provider then refused): only successful answers are kept, so a retry with it runs again.
 */
export async function releaseKey(db: DbOrTx, request: Pick<IdempotencyRequest, 'userId' | 'scope' | 'key'>): Promise<void> {
  await db
    .delete(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.userId, request.userId),
        eq(idempotencyKeys.scope, request.scope),
        eq(idempotencyKeys.key, request.key),
        isNull(idempotencyKeys.statusCode),
      ),
    );
}

/** Removes keys past their 24 hours; run by the sweeper. */
export async function purgeExpiredKeys(tx: Tx, now: Date): Promise<number> {
  const removed = await tx.delete(idempotencyKeys).where(lt(idempotencyKeys.expiresAt, now)).returning({ key: idempotencyKeys.key });
  return removed.length;
}

/**
 * Removes claims of `scope` never answered since `before`: their process died between committing
 * the claim and answering (see `abandonedAfterMs`). Run by the sweep of the module that owns them.
 */
export async function purgeAbandonedClaims(db: DbOrTx, scope: string, before: Date): Promise<number> {
  const removed = await db
    .delete(idempotencyKeys)
    .where(and(eq(idempotencyKeys.scope, scope), isNull(idempotencyKeys.statusCode), lt(idempotencyKeys.createdAt, before)))
    .returning({ key: idempotencyKeys.key });
  return removed.length;
}
