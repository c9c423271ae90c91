import { Type, type Static } from 'typebox';
import { DateTime, Nullable, Page, PageQuery } from '../../shared/schemas.ts';

export const TESTIMONIAL_MIN_LENGTH = 10;
export const TESTIMONIAL_MAX_LENGTH = 2000;

const Rating = Type.Integer({ minimum: 1, maximum: 5, description: 'Whole stars, 1–5' });
const Content = Type.String({
  minLength: TESTIMONIAL_MIN_LENGTH,
  maxLength: TESTIMONIAL_MAX_LENGTH,
  description: '10–2000 characters (leading and trailing spaces do not count)',
});

export const TestimonialSchema = Type.Object(
  {
    id: Type.Integer(),
    user_id: Type.Integer(),
    user_name: Type.String({ description: "The author's name as their account has it now" }),
    content: Type.String(),
    rating: Type.Integer(),
    created_at: DateTime,
    updated_at: DateTime,
  },
  { $id: 'Testimonial', title: 'Testimonial' },
);
export type TestimonialResponse = Static<typeof TestimonialSchema>;

export const CreateTestimonialBody = Type.Object({ content: Content, rating: Rating });
export type CreateTestimonialBody = Static<typeof CreateTestimonialBody>;

export const UpdateTestimonialBody = Type.Object({ content: Type.Optional(Content), rating: Type.Optional(Rating) });
export type UpdateTestimonialBody = Static<typeof UpdateTestimonialBody>;

export const TestimonialListQuery = Type.Object({
  ...PageQuery.properties,
  min_rating: Type.Optional(Type.Integer({ minimum: 1, maximum: 5, description: 'Only testimonials rated at least this' })),
});
export type TestimonialListQuery = Static<typeof TestimonialListQuery>;

export const TestimonialPageSchema = Type.Object({
  ...Page('testimonials', Type.Ref('Testimonial')).properties,
  average_rating: Nullable(Type.Number({ description: 'Over every testimonial the filter matches (not only this page), 2 decimals; null when none' })),
});
