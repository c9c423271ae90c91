import type { ReviewRecord } from './reviews.repository.ts';
import type { ReviewResponse } from './reviews.schemas.ts';

export function toReviewResponse({ review, userName }: ReviewRecord): ReviewResponse {
  return {
    id: review.id,
    space_id: review.spaceId,
    user_id: review.userId,
    user_name: userName,
    rating: review.rating,
    comment: review.comment,
    created_at: review.createdAt.toISOString(),
    updated_at: review.updatedAt.toISOString(),
  };
}
