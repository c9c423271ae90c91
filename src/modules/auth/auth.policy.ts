import type { Role } from '../../db/schema/index.ts';

/** Who may become what through the public routes. */

/** Anyone may register as a client or an owner; admins are made by an admin (or the CLI). */
export const canSelfRegisterAs = (role: Role) => role !== 'admin';
