import { and, eq, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.ts';
import { preparedSql, statementCache } from '../../db/prepared.ts';
import { reviews, spaces, users, type ReviewRow } from '../../db/schema/index.ts';

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

const p = (name: string) => sql.placeholder(name);

/**
 * A live space's page of reviews as JSON text (the Review representation, built by PostgreSQL as
 * the listings are, ADR 0008) and its total, in one statement; no row when the space is not live.
 * The total is the space's `rating_count`, which the triggers keep equal to its reviews in the
 * same transaction as each change (ADR 0012), so no count runs. `ReviewSchema` documents the
 * shape and the tests check every answer against it.
 */
const pageBySpaceSql = sql`
  select s."rating_count" as "total", (
    select coalesce(string_agg(page."json", ',' order by page."created_at" desc, page."id" desc), '')
    from (
      select json_build_object(
        'id', r."id",
        'space_id', r."space_id",
        'user_id', r."user_id",
        'user_name', trim(u."first_name" || ' ' || u."last_name"),
        'rating', r."rating",
        'comment', r."comment",
        'created_at', iso_utc(r."created_at"),
        'updated_at', iso_utc(r."updated_at")
      )::text as "json", r."created_at", r."id"
      from ${reviews} r join ${users} u on u."id" = r."user_id"
      where r."space_id" = s."id"
      order by r."created_at" desc, r."id" desc
      limit ${p('limit')}::int offset ${p('offset')}::int
    ) page
  ) as "items"
  from ${spaces} s
  where s."id" = ${p('spaceId')}::int and s."archived_at" is null`;

const pageBySpace = statementCache((db: Db) => preparedSql<{ total: number; items: string }>(db, 'reviews_page_by_space', pageBySpaceSql));

/** A live space's reviews, newest first (ties by id): comma-joined JSON texts and the total; undefined when the space is not live. */
export async function findPageBySpaceJson(db: Db, spaceId: number, page: { limit: number; offset: number }) {
  const [row] = await pageBySpace(db).execute({ spaceId, limit: page.limit, offset: page.offset });
  return row && { items: row.items, total: Number(row.total) };
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
