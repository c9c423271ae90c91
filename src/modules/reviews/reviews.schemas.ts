import { Type, type Static } from 'typebox';
import { DateTime, Nullable, PageQuery } from '../../shared/schemas.ts';

export const Rating = Type.Integer({ minimum: 1, maximum: 5, description: 'Whole stars, 1–5' });
const Comment = Nullable(Type.String({ maxLength: 2000, description: 'Up to 2000 characters' }));

export const ReviewSchema = Type.Object(
  {
    id: Type.Integer(),
    space_id: Type.Integer(),
    user_id: Type.Integer(),
    user_name: Type.String({ description: "The author's name as their account has it now" }),
    rating: Type.Integer(),
    comment: Nullable(Type.String()),
    created_at: DateTime,
    updated_at: DateTime,
  },
  { $id: 'Review', title: 'Review' },
);
export type ReviewResponse = Static<typeof ReviewSchema>;

export const CreateReviewBody = Type.Object({ rating: Rating, comment: Type.Optional(Comment) });
export type CreateReviewBody = Static<typeof CreateReviewBody>;

export const UpdateReviewBody = Type.Object({ rating: Type.Optional(Rating), comment: Type.Optional(Comment) });
export type UpdateReviewBody = Static<typeof UpdateReviewBody>;

export const ReviewListQuery = Type.Object({ ...PageQuery.properties });
export type ReviewListQuery = Static<typeof ReviewListQuery>;
