import type { ReviewRow, UserRow } from '../../db/schema/index.ts';

/** Who may review a space, and who may change a review. */

type Actor = Pick<UserRow, 'id' | 'role'>;

export type ReviewDecision = { allowed: true } | { allowed: false; why: string };

/**
 * A guest who used the space (a completed booking of it) may review it; its owner never may,
 * whatever their bookings, so a host cannot rate their own listing up.
 */
export function reviewing(actor: Actor, space: { ownerId: number }, hasCompletedBooking: boolean): ReviewDecision {
  if (space.ownerId === actor.id) return { allowed: false, why: 'You cannot review your own space' };
  if (!hasCompletedBooking) return { allowed: false, why: 'Only a guest with a completed booking of this space may review it' };
  return { allowed: true };
}

/** Only its author edits a review: an admin may remove it, not put words in the guest's mouth. */
export const canEditReview = (actor: Actor, review: Pick<ReviewRow, 'userId'>) => review.userId === actor.id;

export const canDeleteReview = (actor: Actor, review: Pick<ReviewRow, 'userId'>) => review.userId === actor.id || actor.role === 'admin';
