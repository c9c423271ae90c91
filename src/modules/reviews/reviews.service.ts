import type { Db } from '../../db/client.ts';
import type { Clock } from '../../shared/clock.ts';
import { forbidden, notFound, validationError } from '../../shared/errors.ts';
import { jsonPageOf, pageRequest } from '../../shared/pagination.ts';
import type { Principal } from '../../shared/principal.ts';
import type { SpacesService } from '../spaces/spaces.service.ts';
import { toReviewResponse } from './reviews.mapper.ts';
import { canDeleteReview, canEditReview, reviewing } from './reviews.policy.ts';
import * as repo from './reviews.repository.ts';
import { normalizeComment } from './reviews.rules.ts';
import type { CreateReviewBody, ReviewListQuery, UpdateReviewBody } from './reviews.schemas.ts';

export interface ReviewsServiceDeps {
  db: Db;
  clock: Clock;
  /** Which spaces exist (live) and whose they are is the spaces module's to say. */
  spaces: Pick<SpacesService, 'findLive'>;
  /** Whether a guest has used a space is the bookings module's to say. */
  hasCompletedBooking: (userId: number, spaceId: number) => Promise<boolean>;
}

export function createReviewsService(deps: ReviewsServiceDeps) {
  const { db, clock } = deps;

  async function present(id: number) {
    const record = await repo.findById(db, id);
    if (!record) throw notFound('Review');
    return toReviewResponse(record);
  }

  /** The page as JSON text: the items come built by PostgreSQL with the space's live check, the envelope is written here. */
  async function list(spaceId: number, query: ReviewListQuery): Promise<string> {
    const page = pageRequest(query);
    const found = await repo.findPageBySpaceJson(db, spaceId, { limit: page.perPage, offset: page.offset });
    if (!found) throw notFound('Space');
    return jsonPageOf('reviews', found.items === '' ? [] : [found.items], found.total, page);
  }

  /**
   * A completed booking never changes state again, so checking it before the insert cannot race;
   * a second review (even one sent at the same instant) is refused by the unique index (409).
   */
  async function create(actor: Principal, spaceId: number, input: CreateReviewBody) {
    const space = await deps.spaces.findLive(spaceId);
    const decision = reviewing(actor.user, space, await deps.hasCompletedBooking(actor.user.id, space.id));
    if (!decision.allowed) throw forbidden(decision.why);
    const now = clock.now();
    const review = await repo.insert(db, {
      spaceId: space.id,
      userId: actor.user.id,
      rating: input.rating,
      comment: normalizeComment(input.comment),
      createdAt: now,
      updatedAt: now,
    });
    return present(review.id);
  }

  async function update(actor: Principal, id: number, input: UpdateReviewBody) {
    if (input.rating === undefined && input.comment === undefined) throw validationError('rating', 'give a rating or a comment to change');
    const current = await repo.findById(db, id);
    if (!current) throw notFound('Review');
    if (!canEditReview(actor.user, current.review)) throw forbidden('Only its author may edit a review');
    const changes: repo.ReviewChanges = {};
    if (input.rating !== undefined) changes.rating = input.rating;
    if (input.comment !== undefined) changes.comment = normalizeComment(input.comment);
    if (!(await repo.updateByAuthor(db, id, actor.user.id, changes, clock.now()))) throw notFound('Review');
    return present(id);
  }

  async function remove(actor: Principal, id: number) {
    const current = await repo.findById(db, id);
    if (!current) throw notFound('Review');
    if (!canDeleteReview(actor.user, current.review)) throw forbidden('Only its author or an admin may delete a review');
    if (!(await repo.deleteById(db, id))) throw notFound('Review');
  }

  return { list, create, update, remove, getById: present };
}

export type ReviewsService = ReturnType<typeof createReviewsService>;
