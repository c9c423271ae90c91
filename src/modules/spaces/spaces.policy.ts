import type { SpaceRow, UserRow } from '../../db/schema/index.ts';

/** Who may do what to a listing. */

export const canCreateSpaces = (actor: Pick<UserRow, 'role'>) => actor.role === 'owner' || actor.role === 'admin';

/** Its owner and any admin manage a listing (edit, images, archive, calendar). */
export const canManageSpace = (actor: Pick<UserRow, 'id' | 'role'>, space: Pick<SpaceRow, 'ownerId'>) => actor.role === 'admin' || space.ownerId === actor.id;

/** Only an admin chooses (or changes) whose listing it is. */
export const canAssignOwner = (actor: Pick<UserRow, 'id' | 'role'>, ownerId: number) => actor.role === 'admin' || ownerId === actor.id;

/** A listing belongs to an active owner account. */
export const canOwnSpaces = (account: Pick<UserRow, 'role' | 'isActive'>) => account.role === 'owner' && account.isActive;

/** Only an admin may give a listing to another owner, or force the removal of one with upcoming bookings. */
export const canChangeOwner = (actor: Pick<UserRow, 'role'>) => actor.role === 'admin';
export const canForceRemoval = canChangeOwner;

/** Whose listings the stats cover: all of them for an admin, else the caller's own. */
export const statsOwnerScope = (actor: Pick<UserRow, 'id' | 'role'>): number | undefined => (actor.role === 'admin' ? undefined : actor.id);

export const OWNERS_ONLY = 'This action needs one of these roles: owner, admin';
