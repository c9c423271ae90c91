import { and, count, desc, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.ts';
import { reviews, users, type ReviewRow } from '../../db/schema/index.ts';

export type NewReview = typeof reviews.$inferInsert;
export type ReviewChanges = Partial<Pick<NewReview, 'rating' | 'comment'>>;

/** A review with its author's current name, as the answers show it. */
export interface ReviewRecord {
  review: ReviewRow;
  userName: string;
}

const recordFields = {
  review: reviews,
  userName: sql<string>`trim(${users.firstName} || ' ' || ${users.lastName})`,
};

export async function insert(db: DbOrTx, values: NewReview): Promise<ReviewRow> {
  const [row] = await db.insert(reviews).values(values).returning();
  return row!;
}

export async function findById(db: DbOrTx, id: number): Promise<ReviewRecord | undefined> {
  const [row] = await db.select(recordFields).from(reviews).innerJoin(users, eq(users.id, reviews.userId)).where(eq(reviews.id, id)).limit(1);
  return row;
}

/** A space's reviews, newest first (ties by id), with the total. */
export async function findManyBySpace(db: DbOrTx, spaceId: number, page: { limit: number; offset: number }) {
  const rows = await db
    .select(recordFields)
    .from(reviews)
    .innerJoin(users, eq(users.id, reviews.userId))
    .where(eq(reviews.spaceId, spaceId))
    .orderBy(desc(reviews.createdAt), desc(reviews.id))
    .limit(page.limit)
    .offset(page.offset);
  const [total] = await db.select({ value: count() }).from(reviews).where(eq(reviews.spaceId, spaceId));
  return { rows, total: total?.value ?? 0 };
}

/** Changes a review only while it is still its author's (the WHERE holds the ownership). */
export async function updateByAuthor(db: DbOrTx, id: number, userId: number, changes: ReviewChanges, now: Date): Promise<ReviewRow | undefined> {
  const [row] = await db
    .update(reviews)
    .set({ ...changes, updatedAt: now })
    .where(and(eq(reviews.id, id), eq(reviews.userId, userId)))
    .returning();
  return row;
}

export async function deleteById(db: DbOrTx, id: number): Promise<ReviewRow | undefined> {
  const [row] = await db.delete(reviews).where(eq(reviews.id, id)).returning();
  return row;
}
