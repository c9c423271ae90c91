import { sql } from 'drizzle-orm';
import { check, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, updatedAt } from './columns.ts';
import { spaces } from './spaces.ts';
import { users } from './users.ts';

/**
 * A guest's rating of a space they used. Triggers (migration 0010) keep `spaces.rating_sum` and
 * `spaces.rating_count` equal to the sum and count of these rows in the same transaction as each
 * change (ADR 0012), so listings read the average without scanning reviews.
 */
export const reviews = pgTable(
  'reviews',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    spaceId: integer('space_id')
      .notNull()
      .references(() => spaces.id, { onDelete: 'restrict' }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    rating: integer('rating').notNull(),
    comment: text('comment'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check('reviews_rating', sql`${t.rating} between 1 and 5`),
    check('reviews_comment_length', sql`${t.comment} is null or char_length(${t.comment}) <= 2000`),
    // One review per guest per space, whatever the concurrency.
    uniqueIndex('reviews_user_space_key').on(t.userId, t.spaceId),
    index('reviews_space_created_idx').on(t.spaceId, t.createdAt, t.id),
  ],
);

export type ReviewRow = typeof reviews.$inferSelect;
