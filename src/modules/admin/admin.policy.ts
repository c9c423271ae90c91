import type { UserRow } from '../../db/schema/index.ts';

/** The platform's figures are an admin's alone. */
export const canSeePlatformStats = (actor: Pick<UserRow, 'role'>) => actor.role === 'admin';

export const ADMINS_ONLY = 'This action needs one of these roles: admin';
