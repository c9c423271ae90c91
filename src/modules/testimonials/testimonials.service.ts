import type { Db } from '../../db/client.ts';
import type { Clock } from '../../shared/clock.ts';
import { forbidden, notFound, validationError } from '../../shared/errors.ts';
import { jsonPageOf, pageRequest } from '../../shared/pagination.ts';
import type { Principal } from '../../shared/principal.ts';
import { toTestimonialResponse } from './testimonials.mapper.ts';
import { canDeleteTestimonial, canEditTestimonial } from './testimonials.policy.ts';
import * as repo from './testimonials.repository.ts';
import { normalizeContent } from './testimonials.rules.ts';
import type { CreateTestimonialBody, TestimonialListQuery, UpdateTestimonialBody } from './testimonials.schemas.ts';

export interface TestimonialsServiceDeps {
  db: Db;
  clock: Clock;
}

export function createTestimonialsService(deps: TestimonialsServiceDeps) {
  const { db, clock } = deps;

  async function getById(id: number) {
    const record = await repo.findById(db, id);
    if (!record) throw notFound('Testimonial');
    return toTestimonialResponse(record);
  }

  /** The page as JSON text: the items come built by PostgreSQL, the envelope is written once here. */
  async function list(query: TestimonialListQuery): Promise<string> {
    const page = pageRequest(query);
    const filters: repo.TestimonialFilters = query.min_rating === undefined ? {} : { minRating: query.min_rating };
    const { items, total, average } = await repo.findManyJson(db, filters, { limit: page.perPage, offset: page.offset });
    const envelope = jsonPageOf('testimonials', items === '' ? [] : [items], total, page);
    return `${envelope.slice(0, -1)},"average_rating":${average === null ? 'null' : JSON.stringify(average)}}`;
  }

  /** Any member may write one; the name shown is always the account's, whatever the body says. */
  async function create(actor: Principal, input: CreateTestimonialBody) {
    const now = clock.now();
    const row = await repo.insert(db, {
      userId: actor.user.id,
      content: normalizeContent(input.content),
      rating: input.rating,
      createdAt: now,
      updatedAt: now,
    });
    return getById(row.id);
  }

  async function update(actor: Principal, id: number, input: UpdateTestimonialBody) {
    if (input.content === undefined && input.rating === undefined) throw validationError('content', 'give a content or a rating to change');
    const current = await repo.findById(db, id);
    if (!current) throw notFound('Testimonial');
    if (!canEditTestimonial(actor.user, current.testimonial)) throw forbidden('Only its author may edit a testimonial');
    const changes: repo.TestimonialChanges = {};
    if (input.content !== undefined) changes.content = normalizeContent(input.content);
    if (input.rating !== undefined) changes.rating = input.rating;
    if (!(await repo.updateByAuthor(db, id, actor.user.id, changes, clock.now()))) throw notFound('Testimonial');
    return getById(id);
  }

  async function remove(actor: Principal, id: number) {
    const current = await repo.findById(db, id);
    if (!current) throw notFound('Testimonial');
    if (!canDeleteTestimonial(actor.user, current.testimonial)) throw forbidden('Only its author or an admin may delete a testimonial');
    if (!(await repo.deleteById(db, id))) throw notFound('Testimonial');
  }

  return { list, getById, create, update, remove };
}

export type TestimonialsService = ReturnType<typeof createTestimonialsService>;
