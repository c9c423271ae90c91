import type { TestimonialRow, UserRow } from '../../db/schema/index.ts';

/** Who may change a testimonial: words stay their author's; an admin may only take them down. */

type Actor = Pick<UserRow, 'id' | 'role'>;

export const canEditTestimonial = (actor: Actor, testimonial: Pick<TestimonialRow, 'userId'>) => testimonial.userId === actor.id;

export const canDeleteTestimonial = (actor: Actor, testimonial: Pick<TestimonialRow, 'userId'>) => testimonial.userId === actor.id || actor.role === 'admin';
