import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, updatedAt } from './columns.ts';
import { isOneOf } from './value-lists.ts';

export const ROLES = ['admin', 'owner', 'client'] as const;
export type Role = (typeof ROLES)[number];

export const users = pgTable(
  'users',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    email: text('email').notNull(),
    passwordHash: text('password_hash').notNull(),
    firstName: text('first_name').notNull(),
    lastName: text('last_name').notNull(),
    role: text('role').$type<Role>().notNull().default('client'),
    phone: text('phone'),
    bio: text('bio'),
    avatarUrl: text('avatar_url'),
    /** Set when the avatar is a file we store (uploaded through the API), so it can be removed later. */
    avatarKey: text('avatar_key'),
    isVerified: boolean('is_verified').notNull().default(false),
    isActive: boolean('is_active').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`),
    check('users_role_check', isOneOf(t.role, ROLES)),
    index('users_role_idx').on(t.role),
    index('users_created_at_id_idx').on(t.createdAt, t.id),
  ],
);

export type UserRow = typeof users.$inferSelect;
