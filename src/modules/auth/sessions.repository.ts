import { and, eq, gt, isNull, ne, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.ts';
import { statementCache } from '../../db/prepared.ts';
import { sessions, users, type UserRow } from '../../db/schema/index.ts';

export async function insert(db: DbOrTx, session: { id: string; userId: number; refreshJti: string; expiresAt: Date; createdAt: Date }) {
  await db.insert(sessions).values(session);
}

function buildLiveSessionUser(db: Db) {
  return db
    .select({ user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(
        eq(sessions.id, sql.placeholder('sessionId')),
        eq(sessions.userId, sql.placeholder('userId')),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, sql`${sql.placeholder('now')}::timestamptz`),
      ),
    )
    .limit(1)
    .prepare('auth_live_session_user');
}

// This runs on every authenticated request.
const liveSessionUserStatement = statementCache(buildLiveSessionUser);

/** The user behind a live session, in one round trip. */
export async function findLiveSessionUser(db: Db, sessionId: string, userId: number, now: Date): Promise<UserRow | undefined> {
  const statement = liveSessionUserStatement(db);
  const [row] = await statement.execute({ sessionId, userId, now: now.toISOString() });
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

export async function revokeById(db: DbOrTx, params: { sessionId: string; userId: number; reason: string; now: Date }) {
  await db
    .update(sessions)
    .set({ revokedAt: params.now, revokedReason: params.reason })
    .where(and(eq(sessions.id, params.sessionId), eq(sessions.userId, params.userId), isNull(sessions.revokedAt)));
}

/** Ends every session of a user, optionally sparing the one making the request. */
export async function revokeByUserId(db: DbOrTx, params: { userId: number; reason: string; now: Date; exceptSessionId?: string }) {
  const conditions = [eq(sessions.userId, params.userId), isNull(sessions.revokedAt)];
  if (params.exceptSessionId) conditions.push(ne(sessions.id, params.exceptSessionId));
  await db
    .update(sessions)
    .set({ revokedAt: params.now, revokedReason: params.reason })
    .where(and(...conditions));
}
