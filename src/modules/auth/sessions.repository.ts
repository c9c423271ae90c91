import { and, eq, gt, isNull, ne } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.ts';
import { sessions, users, type UserRow } from '../../db/schema/index.ts';

export async function insertSession(db: DbOrTx, session: { id: string; userId: number; refreshJti: string; expiresAt: Date; createdAt: Date }) {
  await db.insert(sessions).values(session);
}

/** The user behind a live session, in one round trip: this runs on every authenticated request. */
export async function findLiveSessionUser(db: DbOrTx, sessionId: string, userId: number, now: Date): Promise<UserRow | undefined> {
  const [row] = await db
    .select({ user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)))
    .limit(1);
  return row?.user;
}

/** Spends a refresh token: succeeds only for the family's current token of a live session. */
export async function rotateRefresh(db: DbOrTx, params: { sessionId: string; userId: number; spentJti: string; nextJti: string; expiresAt: Date; now: Date }) {
  const [row] = await db
    .update(sessions)
    .set({ refreshJti: params.nextJti, expiresAt: params.expiresAt })
    .where(
      and(
        eq(sessions.id, params.sessionId),
        eq(sessions.userId, params.userId),
        eq(sessions.refreshJti, params.spentJti),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, params.now),
      ),
    )
    .returning({ id: sessions.id });
  return row !== undefined;
}

export async function revokeSession(db: DbOrTx, params: { sessionId: string; userId: number; reason: string; now: Date }) {
  await db
    .update(sessions)
    .set({ revokedAt: params.now, revokedReason: params.reason })
    .where(and(eq(sessions.id, params.sessionId), eq(sessions.userId, params.userId), isNull(sessions.revokedAt)));
}

/** Ends every session of a user, optionally sparing the one making the request. */
export async function revokeUserSessions(db: DbOrTx, params: { userId: number; reason: string; now: Date; exceptSessionId?: string }) {
  const conditions = [eq(sessions.userId, params.userId), isNull(sessions.revokedAt)];
  if (params.exceptSessionId) conditions.push(ne(sessions.id, params.exceptSessionId));
  await db
    .update(sessions)
    .set({ revokedAt: params.now, revokedReason: params.reason })
    .where(and(...conditions));
}
