import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/client.ts';
import type { Role, UserRow } from '../../db/schema/index.ts';
import { enqueueMail } from '../../infra/mail/outbox.ts';
import type { CounterFactory } from '../../infra/rate-limit.ts';
import type { Clock } from '../../shared/clock.ts';
import { randomToken, sha256 } from '../../shared/crypto.ts';
import { AppError, badRequest, forbidden, invalidCredentials, unauthorized, validationError } from '../../shared/errors.ts';
import * as usersRepo from '../users/users.repository.ts';
import { passwordResetMail } from './auth.mails.ts';
import { passwordProblem, RESET_PASSWORD_TTL_MS } from './auth.rules.ts';
import { issueEmailVerification } from './email-verification.ts';
import type { PasswordHasher } from './passwords.ts';
import * as sessionsRepo from './sessions.repository.ts';
import type { TokenService } from './tokens.ts';
import * as tokensRepo from './user-tokens.repository.ts';

/** Who is calling: the user as stored now (current role and state) and the session in use. */
export interface Principal {
  user: UserRow;
  sessionId: string;
}

export interface AuthLimits {
  loginFailuresPerEmail: number;
  emailActionsPerHour: number;
}

export interface AuthServiceDeps {
  db: Db;
  clock: Clock;
  passwords: PasswordHasher;
  tokens: TokenService;
  counters: CounterFactory;
  limits: AuthLimits;
  frontendUrl: string;
  /** Called after a commit that queued mail, so it goes out without waiting for the next poll. */
  mailQueued: () => void;
}

export interface RegisterInput {
  email: string;
  password: string;
  first_name: string;
  last_name: string;
  role?: Role;
  phone?: string | null;
}

const emailKey = (email: string) => sha256(usersRepo.normalizeEmail(email)).slice(0, 32);

function assertPassword(field: string, password: string) {
  const problem = passwordProblem(password);
  if (problem) throw validationError(field, problem);
}

const invalidToken = () => badRequest('invalid_token', 'This link is invalid, expired or already used');

export function createAuthService(deps: AuthServiceDeps) {
  const { db, clock, passwords, tokens } = deps;
  const loginFailures = deps.counters('login-fail', deps.limits.loginFailuresPerEmail, 15 * 60);
  const emailActions = deps.counters('email-action', deps.limits.emailActionsPerHour, 60 * 60);
  void passwords.warmUp();

  /** A new session (refresh-token family) and its first pair of tokens. */
  function newSession(user: Pick<UserRow, 'id' | 'role'>) {
    const sessionId = randomUUID();
    const subject = { userId: user.id, role: user.role, sessionId };
    const access = tokens.signAccess(subject);
    const refresh = tokens.signRefresh(subject);
    return {
      row: { id: sessionId, userId: user.id, refreshJti: refresh.jti, expiresAt: refresh.expiresAt, createdAt: clock.now() },
      pair: { access_token: access.token, refresh_token: refresh.token, token_type: 'Bearer' as const, expires_in: access.expiresIn },
    };
  }

  async function register(input: RegisterInput) {
    const role = input.role ?? 'client';
    if (role === 'admin') throw forbidden('Admin accounts cannot be self-registered', 'role_not_allowed');
    assertPassword('password', input.password);
    await emailActions.hit(emailKey(input.email));
    const passwordHash = await passwords.hash(input.password);
    const now = clock.now();

    const result = await db.transaction(async (tx) => {
      const user = await usersRepo.insert(tx, {
        email: input.email,
        passwordHash,
        firstName: input.first_name.trim(),
        lastName: input.last_name.trim(),
        role,
        phone: input.phone ?? null,
        createdAt: now,
        updatedAt: now,
      });
      const session = newSession(user);
      await sessionsRepo.insertSession(tx, session.row);
      await issueEmailVerification(tx, user, deps.frontendUrl, now);
      return { user, tokens: session.pair };
    });
    deps.mailQueued();
    return result;
  }

  async function login(email: string, password: string) {
    const key = emailKey(email);
    await loginFailures.check(key);
    const user = await usersRepo.findByEmail(db, email);
    const matches = user ? await passwords.verify(password, user.passwordHash) : await passwords.verifyNothing(password);
    if (!user || !matches) {
      await loginFailures.penalize(key);
      throw invalidCredentials();
    }
    if (!user.isActive) throw forbidden('This account has been disabled', 'account_disabled');
    await loginFailures.reset(key);

    const session = newSession(user);
    await db.transaction(async (tx) => {
      await sessionsRepo.insertSession(tx, session.row);
      // A cost raised since this password was set takes effect at the next successful login.
      if (passwords.needsRehash(user.passwordHash)) {
        await usersRepo.updateById(tx, user.id, { passwordHash: await passwords.hash(password) }, clock.now());
      }
    });
    return { user, tokens: session.pair };
  }

  /** Verifies an access token and loads its user; any failure is a 401. */
  async function authenticate(token: string): Promise<Principal> {
    const claims = tokens.verifyAccess(token);
    const user = await sessionsRepo.findLiveSessionUser(db, claims.sid, Number(claims.sub), clock.now());
    if (!user) throw unauthorized('Session has ended, please log in again');
    if (!user.isActive) throw forbidden('This account has been disabled', 'account_disabled');
    return { user, sessionId: claims.sid };
  }

  async function refresh(refreshToken: string) {
    const claims = tokens.verifyRefresh(refreshToken);
    const userId = Number(claims.sub);
    const user = await usersRepo.findById(db, userId);
    if (!user || !user.isActive) throw unauthorized('Session has ended, please log in again');

    const subject = { userId, role: user.role, sessionId: claims.sid };
    const next = tokens.signRefresh(subject);
    const now = clock.now();
    const rotated = await sessionsRepo.rotateRefresh(db, { sessionId: claims.sid, userId, spentJti: claims.jti, nextJti: next.jti, expiresAt: next.expiresAt, now });
    if (!rotated) {
      // A spent (or foreign) token: whoever holds it may have stolen it, so the whole family ends.
      await sessionsRepo.revokeSession(db, { sessionId: claims.sid, userId, reason: 'refresh_token_reuse', now });
      throw unauthorized('Refresh token is no longer valid, please log in again');
    }
    const access = tokens.signAccess(subject);
    return { access_token: access.token, refresh_token: next.token, token_type: 'Bearer' as const, expires_in: access.expiresIn };
  }

  async function logout(principal: Principal, refreshToken?: string) {
    const now = clock.now();
    await sessionsRepo.revokeSession(db, { sessionId: principal.sessionId, userId: principal.user.id, reason: 'logout', now });
    if (refreshToken) {
      let other: ReturnType<TokenService['verifyRefresh']> | undefined;
      try {
        other = tokens.verifyRefresh(refreshToken);
      } catch {
        // An unusable refresh token has nothing left to revoke.
      }
      if (other && Number(other.sub) === principal.user.id) {
        await sessionsRepo.revokeSession(db, { sessionId: other.sid, userId: principal.user.id, reason: 'logout', now });
      }
    }
  }

  async function verifyEmail(token: string) {
    const now = clock.now();
    return db.transaction(async (tx) => {
      const spent = await tokensRepo.consumeUserToken(tx, sha256(token), 'verify_email', now);
      if (!spent) throw invalidToken();
      const user = await usersRepo.findById(tx, spent.userId);
      // The link proves control of the address it was sent to, not of a newer one.
      if (!user || user.email !== spent.email) throw invalidToken();
      return usersRepo.updateById(tx, user.id, { isVerified: true }, now);
    });
  }

  async function resendVerification(principal: Principal): Promise<{ sent: boolean }> {
    if (principal.user.isVerified) return { sent: false };
    await emailActions.hit(emailKey(principal.user.email));
    await db.transaction((tx) => issueEmailVerification(tx, principal.user, deps.frontendUrl, clock.now()));
    deps.mailQueued();
    return { sent: true };
  }

  /** Answers the same whether or not the address exists; only an existing, active account gets mail. */
  async function forgotPassword(email: string) {
    await emailActions.hit(emailKey(email));
    const user = await usersRepo.findByEmail(db, email);
    if (!user || !user.isActive) return;
    const token = randomToken();
    const now = clock.now();
    await db.transaction(async (tx) => {
      await tokensRepo.retireUserTokens(tx, user.id, 'reset_password', now);
      await tokensRepo.insertUserToken(tx, {
        userId: user.id,
        purpose: 'reset_password',
        tokenHash: sha256(token),
        email: user.email,
        expiresAt: new Date(now.getTime() + RESET_PASSWORD_TTL_MS),
        createdAt: now,
      });
      await enqueueMail(tx, passwordResetMail(user.email, user.firstName, deps.frontendUrl, token), now);
    });
    deps.mailQueued();
  }

  async function resetPassword(token: string, password: string) {
    assertPassword('password', password);
    const tokenHash = sha256(token);
    // Look before hashing so that bad tokens cost no bcrypt work.
    if (!(await tokensRepo.findUsableToken(db, tokenHash, 'reset_password', clock.now()))) throw invalidToken();
    const passwordHash = await passwords.hash(password);
    const now = clock.now();
    await db.transaction(async (tx) => {
      const spent = await tokensRepo.consumeUserToken(tx, tokenHash, 'reset_password', now);
      if (!spent) throw invalidToken();
      await usersRepo.updateById(tx, spent.userId, { passwordHash }, now);
      await sessionsRepo.revokeUserSessions(tx, { userId: spent.userId, reason: 'password_reset', now });
    });
  }

  async function changePassword(principal: Principal, currentPassword: string, newPassword: string) {
    if (!(await passwords.verify(currentPassword, principal.user.passwordHash))) {
      throw new AppError(400, 'invalid_password', 'The current password is wrong', { details: [{ field: 'current_password', message: 'is wrong' }] });
    }
    assertPassword('new_password', newPassword);
    const passwordHash = await passwords.hash(newPassword);
    const now = clock.now();
    await db.transaction(async (tx) => {
      await usersRepo.updateById(tx, principal.user.id, { passwordHash }, now);
      await sessionsRepo.revokeUserSessions(tx, { userId: principal.user.id, reason: 'password_changed', now, exceptSessionId: principal.sessionId });
    });
  }

  return { register, login, authenticate, refresh, logout, verifyEmail, resendVerification, forgotPassword, resetPassword, changePassword };
}

export type AuthService = ReturnType<typeof createAuthService>;
