import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.ts';
import { preparedSql, statementCache } from '../../db/prepared.ts';
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

const p = (name: string) => sql.placeholder(name);

/**
 * One page as JSON text (the Testimonial representation, built by PostgreSQL as the listings are,
 * ADR 0008), with the total and the average over every match, in one statement. `TestimonialSchema`
 * documents the shape and the tests check every answer against it; toTestimonialResponse() is the
 * same representation for single testimonials.
 */
function listSql(filtered: boolean): SQL {
  const where = filtered ? sql`where "rating" >= ${p('minRating')}::int` : sql``;
  const pageWhere = filtered ? sql`where t."rating" >= ${p('minRating')}::int` : sql``;
  return sql`
    select count(*)::int as "total", round(avg("rating"), 2)::float8 as "average", (
      select coalesce(string_agg(page."json", ',' order by page."created_at" desc, page."id" desc), '')
      from (
        select json_build_object(
          'id', t."id",
          'user_id', t."user_id",
          'user_name', trim(u."first_name" || ' ' || u."last_name"),
          'content', t."content",
          'rating', t."rating",
          'created_at', iso_utc(t."created_at"),
          'updated_at', iso_utc(t."updated_at")
        )::text as "json", t."created_at", t."id"
        from ${testimonials} t join ${users} u on u."id" = t."user_id"
        ${pageWhere}
        order by t."created_at" desc, t."id" desc
        limit ${p('limit')}::int offset ${p('offset')}::int
      ) page
    ) as "items"
    from ${testimonials} ${where}`;
}

type ListRow = { total: number; average: number | null; items: string };

const listAll = statementCache((db: Db) => preparedSql<ListRow>(db, 'testimonials_list', listSql(false)));
const listByMinRating = statementCache((db: Db) => preparedSql<ListRow>(db, 'testimonials_list_min_rating', listSql(true)));

/**
 * One page, newest first (ties by id): the items as comma-joined JSON texts, the total and the
 * average over every match (2 decimals, null when none). One round trip, prepared per filter shape.
 */
export async function findManyJson(db: Db, filters: TestimonialFilters, page: { limit: number; offset: number }) {
  const [row] =
    filters.minRating === undefined
      ? await listAll(db).execute({ limit: page.limit, offset: page.offset })
      : await listByMinRating(db).execute({ minRating: filters.minRating, limit: page.limit, offset: page.offset });
  return { items: row?.items ?? '', total: Number(row?.total ?? 0), average: row?.average == null ? null : Number(row.average) };
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
