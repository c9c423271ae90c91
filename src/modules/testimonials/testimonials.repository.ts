import { and, count, desc, eq, gte, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.ts';
import { testimonials, users, type TestimonialRow } from '../../db/schema/index.ts';

export type NewTestimonial = typeof testimonials.$inferInsert;
export type TestimonialChanges = Partial<Pick<NewTestimonial, 'content' | 'rating'>>;

/** A testimonial with its author's current name. */
export interface TestimonialRecord {
  testimonial: TestimonialRow;
  userName: string;
}

const recordFields = {
  testimonial: testimonials,
  userName: sql<string>`trim(${users.firstName} || ' ' || ${users.lastName})`,
};

export async function insert(db: DbOrTx, values: NewTestimonial): Promise<TestimonialRow> {
  const [row] = await db.insert(testimonials).values(values).returning();
  return row!;
}

export async function findById(db: DbOrTx, id: number): Promise<TestimonialRecord | undefined> {
  const [row] = await db.select(recordFields).from(testimonials).innerJoin(users, eq(users.id, testimonials.userId)).where(eq(testimonials.id, id)).limit(1);
  return row;
}

export interface TestimonialFilters {
  minRating?: number;
}

/** One page, newest first (ties by id), with the total and the average over every match. */
export async function findMany(db: DbOrTx, filters: TestimonialFilters, page: { limit: number; offset: number }) {
  const where = filters.minRating === undefined ? undefined : gte(testimonials.rating, filters.minRating);
  const rows = await db
    .select(recordFields)
    .from(testimonials)
    .innerJoin(users, eq(users.id, testimonials.userId))
    .where(where)
    .orderBy(desc(testimonials.createdAt), desc(testimonials.id))
    .limit(page.limit)
    .offset(page.offset);
  const [summary] = await db
    .select({ total: count(), average: sql<string | null>`round(avg(${testimonials.rating}), 2)` })
    .from(testimonials)
    .where(where);
  return { rows, total: summary?.total ?? 0, average: summary?.average == null ? null : Number(summary.average) };
}

export async function updateByAuthor(db: DbOrTx, id: number, userId: number, changes: TestimonialChanges, now: Date): Promise<TestimonialRow | undefined> {
  const [row] = await db
    .update(testimonials)
    .set({ ...changes, updatedAt: now })
    .where(and(eq(testimonials.id, id), eq(testimonials.userId, userId)))
    .returning();
  return row;
}

export async function deleteById(db: DbOrTx, id: number): Promise<TestimonialRow | undefined> {
  const [row] = await db.delete(testimonials).where(eq(testimonials.id, id)).returning();
  return row;
}
