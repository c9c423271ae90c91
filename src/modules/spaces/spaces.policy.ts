import type { SpaceRow, UserRow } from '../../db/schema/index.ts';

/** Who may do what to a listing. */

export const canCreateSpaces = (actor: Pick<UserRow, 'role'>) => actor.role === 'owner' || actor.role === 'admin';

/** Its owner and any admin manage a listing (edit, images, archive, calendar). */
export const canManageSpace = (actor: Pick<UserRow, 'id' | 'role'>, space: Pick<SpaceRow, 'ownerId'>) =>
  actor.role === 'admin' || space.ownerId === actor.id;

/** Only an admin chooses (or changes) whose listing it is. */
export const canAssignOwner = (actor: Pick<UserRow, 'id' | 'role'>, ownerId: number) => actor.role === 'admin' || ownerId === actor.id;
