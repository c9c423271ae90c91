import type { BookingRow, Canceller, UserRow } from '../../db/schema/index.ts';
import type { BookingSpace, Visibility } from './bookings.repository.ts';

/** Who may do what with a booking, and who the record names. */

type Actor = Pick<UserRow, 'id' | 'role'>;

export const canBook = (actor: Pick<UserRow, 'role'>) => actor.role === 'client' || actor.role === 'admin';

const isHost = (actor: Actor, space: Pick<BookingSpace, 'ownerId'>) => actor.role === 'admin' || space.ownerId === actor.id;

/** The booker, the space's owner and admins see a booking. */
export const canViewBooking = (actor: Actor, booking: Pick<BookingRow, 'userId'>, space: Pick<BookingSpace, 'ownerId'>) =>
  booking.userId === actor.id || isHost(actor, space);

/** Approving, rejecting and completing are the host's (owner's or an admin's). */
export const canDecideBooking = isHost;

/** Whose bookings a list shows: all (admin), those of the caller's spaces (owner), or their own. */
export const listScope = (actor: Actor): Visibility =>
  actor.role === 'admin' ? { kind: 'all' } : actor.role === 'owner' ? { kind: 'owner', ownerId: actor.id } : { kind: 'booker', userId: actor.id };

/** Who the record says cancelled: the host role wins when the actor is both. */
export const cancellerOf = (actor: Actor, space: Pick<BookingSpace, 'ownerId'>): Exclude<Canceller, 'system'> =>
  actor.role === 'admin' ? 'admin' : space.ownerId === actor.id ? 'owner' : 'booker';

export type CancellationDecision = { allowed: true; by: Exclude<Canceller, 'system'> } | { allowed: false; why: 'not_theirs' | 'started' };

/** The booker may cancel before the start; the host (owner or admin) at any time. */
export function cancellation(
  actor: Actor,
  booking: Pick<BookingRow, 'userId' | 'startTime'>,
  space: Pick<BookingSpace, 'ownerId'>,
  now: Date,
): CancellationDecision {
  if (!canViewBooking(actor, booking, space)) return { allowed: false, why: 'not_theirs' };
  const by = cancellerOf(actor, space);
  if (by === 'booker' && booking.startTime <= now) return { allowed: false, why: 'started' };
  return { allowed: true, by };
}
