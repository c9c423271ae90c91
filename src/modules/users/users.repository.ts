import { and, count, desc, eq, ilike, or, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.ts';
import { users, type Role, type UserRow } from '../../db/schema/index.ts';

export type NewUser = typeof users.$inferInsert;
export type UserChanges = Partial<Omit<NewUser, 'id' | 'createdAt'>>;

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

export async function findById(db: DbOrTx, id: number): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return row;
}

/** Reads and locks the row for the rest of the transaction. */
export async function lockById(db: DbOrTx, id: number): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id)).for('update');
  return row;
}

export async function findByEmail(db: DbOrTx, email: string): Promise<UserRow | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(sql`lower(${users.email}) = ${normalizeEmail(email)}`)
    .limit(1);
  return row;
}

export async function insert(db: DbOrTx, user: NewUser): Promise<UserRow> {
  const [row] = await db
    .insert(users)
    .values({ ...user, email: normalizeEmail(user.email) })
    .returning();
  return row!;
}

export async function updateById(db: DbOrTx, id: number, changes: UserChanges, now: Date): Promise<UserRow | undefined> {
  const values = changes.email === undefined ? changes : { ...changes, email: normalizeEmail(changes.email) };
  const [row] = await db
    .update(users)
    .set({ ...values, updatedAt: now })
    .where(eq(users.id, id))
    .returning();
  return row;
}

export interface UserFilters {
  role?: Role;
  q?: string;
  isActive?: boolean;
}

/** `%`, `_` and `\` in a user's search text are literals, not patterns. */
const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function filterClause(filters: UserFilters): SQL | undefined {
  const conditions: SQL[] = [];
  if (filters.role) conditions.push(eq(users.role, filters.role));
  if (filters.isActive !== undefined) conditions.push(eq(users.isActive, filters.isActive));
  if (filters.q) {
    const pattern = likePattern(filters.q);
    conditions.push(or(ilike(users.email, pattern), ilike(sql`${users.firstName} || ' ' || ${users.lastName}`, pattern))!);
  }
  return conditions.length > 0 ? and(...conditions) : undefined;
}

export async function findMany(db: DbOrTx, filters: UserFilters, page: { limit: number; offset: number }) {
  const where = filterClause(filters);
  const [rows, [total]] = await Promise.all([
    db.select().from(users).where(where).orderBy(desc(users.createdAt), desc(users.id)).limit(page.limit).offset(page.offset),
    db.select({ value: count() }).from(users).where(where),
  ]);
  return { rows, total: total?.value ?? 0 };
}

/**
 * Accounts per role (deactivated ones included: they are still accounts), as one JSON object
 * (`{"client": 12, …}`; a role with none is absent).
 */
export const countsByRoleJson = sql`(select coalesce(json_object_agg("by_role"."role", "by_role"."n"), '{}'::json)
  from (select ${users.role} as "role", count(*)::int as "n" from ${users} group by ${users.role}) as "by_role")`;
