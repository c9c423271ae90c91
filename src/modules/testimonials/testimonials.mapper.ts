import type { TestimonialRecord } from './testimonials.repository.ts';
import type { TestimonialResponse } from './testimonials.schemas.ts';

export function toTestimonialResponse({ testimonial, userName }: TestimonialRecord): TestimonialResponse {
  return {
    id: testimonial.id,
    user_id: testimonial.userId,
    user_name: userName,
    content: testimonial.content,
    rating: testimonial.rating,
    created_at: testimonial.createdAt.toISOString(),
    updated_at: testimonial.updatedAt.toISOString(),
  };
}
