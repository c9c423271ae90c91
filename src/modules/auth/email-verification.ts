import type { DbOrTx } from '../../db/client.ts';
import type { UserRow } from '../../db/schema/index.ts';
import { enqueueMail } from '../../infra/mail/outbox.ts';
import { randomToken, sha256 } from '../../shared/crypto.ts';
import { verificationMail } from './auth.mails.ts';
import { VERIFY_EMAIL_TTL_MS } from './auth.rules.ts';
import { insertUserToken, retireUserTokens } from './user-tokens.repository.ts';

/**
 * Issues a fresh verification link for the user's current address, inside the caller's
 * transaction; used by registration, resend and email changes.
 */
export async function issueEmailVerification(db: DbOrTx, user: Pick<UserRow, 'id' | 'email' | 'firstName'>, frontendUrl: string, now: Date) {
  const token = randomToken();
  await retireUserTokens(db, user.id, 'verify_email', now);
  await insertUserToken(db, {
    userId: user.id,
    purpose: 'verify_email',
    tokenHash: sha256(token),
    email: user.email,
    expiresAt: new Date(now.getTime() + VERIFY_EMAIL_TTL_MS),
    createdAt: now,
  });
  await enqueueMail(db, verificationMail(user.email, user.firstName, frontendUrl, token), now);
}
