import type { UserRow } from '../../db/schema/index.ts';
import type { Visibility } from './payments.repository.ts';

/** Who may do what with a payment. */

type Actor = Pick<UserRow, 'id' | 'role'>;

/** Only the booker pays for a booking (not its host, not an admin on their behalf). */
export const canPay = (actor: Actor, booking: { userId: number }) => booking.userId === actor.id;

/** The payer, the space's owner and admins see a payment and its receipt. */
export const canViewPayment = (actor: Actor, payment: { userId: number }, space: { ownerId: number }) =>
  payment.userId === actor.id || space.ownerId === actor.id || actor.role === 'admin';

/** Cash is confirmed by whoever received it: the space's owner, or an admin. */
export const canConfirmCash = (actor: Actor, space: { ownerId: number }) => space.ownerId === actor.id || actor.role === 'admin';

/** A refund outside the cancellation rules is an admin's decision. */
export const canRefund = (actor: Pick<UserRow, 'role'>) => actor.role === 'admin';

/** Whose payments a list shows: all (admin), those for the caller's spaces (owner), or their own. */
export const listScope = (actor: Actor): Visibility =>
  actor.role === 'admin' ? { kind: 'all' } : actor.role === 'owner' ? { kind: 'owner', ownerId: actor.id } : { kind: 'payer', userId: actor.id };
