import type { BookingRow, UserRow } from '../../db/schema/index.ts';
import type { BookingSpace } from './bookings.repository.ts';

/** Who may do what with a booking. */

type Actor = Pick<UserRow, 'id' | 'role'>;

export const canBook = (actor: Pick<UserRow, 'role'>) => actor.role === 'client' || actor.role === 'admin';

const isHost = (actor: Actor, space: Pick<BookingSpace, 'ownerId'>) => actor.role === 'admin' || space.ownerId === actor.id;

/** The booker, the space's owner and admins see a booking. */
export const canViewBooking = (actor: Actor, booking: Pick<BookingRow, 'userId'>, space: Pick<BookingSpace, 'ownerId'>) =>
  booking.userId === actor.id || isHost(actor, space);

/** Approving, rejecting and completing are the host's (owner's or an admin's). */
export const canDecideBooking = isHost;

/** The booker may cancel (before the start); the host may cancel any time. */
export const canCancelBooking = canViewBooking;

/** Who the record says cancelled: the host role wins when the actor is both. */
export const cancellerOf = (actor: Actor, space: Pick<BookingSpace, 'ownerId'>) =>
  actor.role === 'admin' ? ('admin' as const) : space.ownerId === actor.id ? ('owner' as const) : ('booker' as const);
