import type { UserRow } from '../db/schema/index.ts';

/** Who is calling: the user as stored now (current role and state) and the session in use. */
export interface Principal {
  user: UserRow;
  sessionId: string;
}
