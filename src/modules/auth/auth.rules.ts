/** Pure rules of accounts; no I/O here. */

export const VERIFY_EMAIL_TTL_MS = 24 * 60 * 60 * 1000;
export const RESET_PASSWORD_TTL_MS = 60 * 60 * 1000;

/** bcrypt reads at most 72 bytes, so longer passwords would be silently truncated. */
export function passwordProblem(password: string): string | undefined {
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes < 8) return 'must be at least 8 bytes long';
  if (bytes > 72) return 'must be at most 72 bytes long (UTF-8)';
  if (!/\p{L}/u.test(password)) return 'must contain a letter';
  if (!/\p{Nd}/u.test(password)) return 'must contain a digit';
  return undefined;
}

/** Both token kinds travel as `Authorization: Bearer <token>`. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(header);
  return match?.[1];
}
