import { sql } from 'drizzle-orm';
import { check, index, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, updatedAt } from './columns.ts';
import { users } from './users.ts';

/** What a member says about Spacer itself; the author's name is read from the account, never stored. */
export const testimonials = pgTable(
  'testimonials',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    content: text('content').notNull(),
    rating: integer('rating').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check('testimonials_rating', sql`${t.rating} between 1 and 5`),
    check('testimonials_content_length', sql`char_length(${t.content}) between 10 and 2000`),
    index('testimonials_created_idx').on(t.createdAt, t.id),
    index('testimonials_rating_created_idx').on(t.rating, t.createdAt, t.id),
    index('testimonials_user_idx').on(t.userId),
  ],
);

export type TestimonialRow = typeof testimonials.$inferSelect;
