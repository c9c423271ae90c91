import type { UserRow } from '../../db/schema/index.ts';

/** Who may do what to an account; the service asks, never decides inline. */

export const isAdmin = (actor: Pick<UserRow, 'role'>) => actor.role === 'admin';

export const canReadUser = (actor: Pick<UserRow, 'id' | 'role'>, targetId: number) => actor.id === targetId || isAdmin(actor);

export const canUpdateUser = canReadUser;

/** Listing and deactivating accounts are an admin's. */
export const canListUsers = isAdmin;
export const canDeactivateUsers = isAdmin;

/** Fields only an admin may set, on anyone. */
export const ADMIN_ONLY_FIELDS = ['role', 'is_verified', 'is_active'] as const;
