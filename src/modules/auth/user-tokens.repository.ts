import { and, eq, gt, isNull } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.ts';
import { userTokens, type TokenPurpose } from '../../db/schema/index.ts';

export async function insert(db: DbOrTx, token: { userId: number; purpose: TokenPurpose; tokenHash: string; email: string; expiresAt: Date; createdAt: Date }) {
  await db.insert(userTokens).values(token);
}

/** Marks a user's unused tokens of one purpose as spent, so only the newest link works. */
export async function retireByUser(db: DbOrTx, userId: number, purpose: TokenPurpose, now: Date) {
  await db
    .update(userTokens)
    .set({ usedAt: now })
    .where(and(eq(userTokens.userId, userId), eq(userTokens.purpose, purpose), isNull(userTokens.usedAt)));
}

export async function findUsable(db: DbOrTx, tokenHash: string, purpose: TokenPurpose, now: Date) {
  const [row] = await db
    .select()
    .from(userTokens)
    .where(and(eq(userTokens.tokenHash, tokenHash), eq(userTokens.purpose, purpose), isNull(userTokens.usedAt), gt(userTokens.expiresAt, now)))
    .limit(1);
  return row;
}

/** Spends a token in one conditional statement, so it works exactly once even under races. */
export async function consume(db: DbOrTx, tokenHash: string, purpose: TokenPurpose, now: Date) {
  const [row] = await db
    .update(userTokens)
    .set({ usedAt: now })
    .where(and(eq(userTokens.tokenHash, tokenHash), eq(userTokens.purpose, purpose), isNull(userTokens.usedAt), gt(userTokens.expiresAt, now)))
    .returning({ userId: userTokens.userId, email: userTokens.email });
  return row;
}
