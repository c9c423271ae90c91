import { randomUUID } from 'node:crypto';
import type { Db, DbOrTx, Tx } from '../../db/client.ts';
import type { Role, TokenPurpose, UserRow } from '../../db/schema/index.ts';
import { enqueueMail, type MailMessage } from '../../infra/mail/outbox.ts';
import type { BackgroundTasks } from '../../infra/background.ts';
import type { CounterFactory } from '../../infra/rate-limit.ts';
import type { Clock } from '../../shared/clock.ts';
import { randomToken, sha256 } from '../../shared/crypto.ts';
import { AppError, badRequest, forbidden, invalidCredentials, unauthorized, validationError } from '../../shared/errors.ts';
import type { Principal } from '../../shared/principal.ts';
import type { UserAccounts } from '../users/users.service.ts';
import { passwordResetMail, verificationMail } from './auth.mails.ts';
import { canSelfRegisterAs } from './auth.policy.ts';
import { passwordProblem, RESET_PASSWORD_TTL_MS, VERIFY_EMAIL_TTL_MS } from './auth.rules.ts';
import type { PasswordHasher } from '../../infra/passwords.ts';
import * as sessionsRepo from './sessions.repository.ts';
import type { TokenService } from './tokens.service.ts';
import * as tokensRepo from './user-tokens.repository.ts';

export interface AuthLimits {
  /** Per address and client IP. */
  loginFailuresPerEmail: number;
  /** Per address, from anywhere. */
  loginFailuresPerEmailCeiling: number;
  emailActionsPerHour: number;
}

export interface AuthServiceDeps {
  db: Db;
  clock: Clock;
  passwords: PasswordHasher;
  tokens: TokenService;
  /** The users module's account rows. */
  accounts: UserAccounts;
  counters: CounterFactory;
  limits: AuthLimits;
  frontendUrl: string;
  /** Called after a commit that queued mail, so it goes out without waiting for the next poll. */
  mailQueued: () => void;
  /** Work finished after the answer (the password-reset lookup and mail). */
  background: BackgroundTasks;
}

export interface RegisterInput {
  email: string;
  password: string;
  first_name: string;
  last_name: string;
  role?: Role;
  phone?: string | null;
}

function assertPassword(field: string, password: string) {
  const problem = passwordProblem(password);
  if (problem) throw validationError(field, problem);
}

const invalidToken = () => badRequest('invalid_token', 'This link is invalid, expired or already used');

export function createAuthService(deps: AuthServiceDeps) {
  const { db, clock, passwords, tokens, accounts } = deps;
  const emailKey = (email: string) => sha256(accounts.normalizeEmail(email)).slice(0, 32);
  const loginFailures = deps.counters('login-fail', deps.limits.loginFailuresPerEmail, 15 * 60);
  const loginCeiling = deps.counters('login-fail-all', deps.limits.loginFailuresPerEmailCeiling, 15 * 60);
  const emailActions = deps.counters('email-action', deps.limits.emailActionsPerHour, 60 * 60);
  void passwords.warmUp();

  /**
   * A fresh verification link for the user's current address, inside the caller's transaction:
   * registration, resend and email changes.
   */
  async function issueEmailVerification(handle: DbOrTx, user: Pick<UserRow, 'id' | 'email' | 'firstName'>, now: Date) {
    await issueLink(handle, user, 'verify_email', VERIFY_EMAIL_TTL_MS, verificationMail, now);
  }

  /** A single-use emailed link: earlier links of its purpose retired, the new one stored as a digest, its mail queued. */
  async function issueLink(
    handle: DbOrTx,
    user: Pick<UserRow, 'id' | 'email' | 'firstName'>,
    purpose: TokenPurpose,
    ttlMs: number,
    mail: (to: string, firstName: string, frontendUrl: string, token: string) => MailMessage,
    now: Date,
  ) {
    const token = randomToken();
    await tokensRepo.retireByUser(handle, user.id, purpose, now);
    await tokensRepo.insert(handle, {
      userId: user.id,
      purpose,
      tokenHash: sha256(token),
      email: user.email,
      expiresAt: new Date(now.getTime() + ttlMs),
      createdAt: now,
    });
    await enqueueMail(handle, mail(user.email, user.firstName, deps.frontendUrl, token), now);
  }

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
    if (!canSelfRegisterAs(role)) throw forbidden('Admin accounts cannot be self-registered', 'role_not_allowed');
    assertPassword('password', input.password);
    await emailActions.hit(emailKey(input.email));
    const passwordHash = await passwords.hash(input.password);
    const now = clock.now();

    const result = await db.transaction(async (tx) => {
      const user = await accounts.insert(tx, {
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
      await sessionsRepo.insert(tx, session.row);
      await issueEmailVerification(tx, user, now);
      return { user, tokens: session.pair };
    });
    deps.mailQueued();
    return result;
  }

  /**
   * Failed logins count per address and client IP (the short limit), and per address across all
   * IPs (a much higher ceiling): one attacker cannot lock the owner out of their own account, and
   * a spread-out guess still meets a wall.
   */
  async function login(email: string, password: string, clientIp: string) {
    const key = emailKey(email);
    const fromHere = `${key}:${sha256(clientIp).slice(0, 16)}`;
    await loginFailures.check(fromHere);
    await loginCeiling.check(key);
    const user = await accounts.findByEmail(db, email);
    const matches = user ? await passwords.verify(password, user.passwordHash) : await passwords.verifyNothing(password);
    if (!user || !matches) {
      await loginFailures.penalize(fromHere);
      await loginCeiling.penalize(key);
      throw invalidCredentials();
    }
    if (!user.isActive) throw forbidden('This account has been disabled', 'account_disabled');
    await loginFailures.reset(fromHere);

    const session = newSession(user);
    await db.transaction(async (tx) => {
      await sessionsRepo.insert(tx, session.row);
      // A cost raised since this password was set takes effect at the next successful login.
      if (passwords.needsRehash(user.passwordHash)) {
        await accounts.updateById(tx, user.id, { passwordHash: await passwords.hash(password) }, clock.now());
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
    const user = await accounts.findById(db, userId);
    if (!user || !user.isActive) throw unauthorized('Session has ended, please log in again');

    const subject = { userId, role: user.role, sessionId: claims.sid };
    const next = tokens.signRefresh(subject);
    const now = clock.now();
    const rotated = await sessionsRepo.rotateRefresh(db, {
      sessionId: claims.sid,
      userId,
      spentJti: claims.jti,
      nextJti: next.jti,
      expiresAt: next.expiresAt,
      now,
    });
    if (!rotated) {
      // A spent (or foreign) token: whoever holds it may have stolen it, so the whole family ends.
      await sessionsRepo.revokeById(db, { sessionId: claims.sid, userId, reason: 'refresh_token_reuse', now });
      throw unauthorized('Refresh token is no longer valid, please log in again');
    }
    const access = tokens.signAccess(subject);
    return { access_token: access.token, refresh_token: next.token, token_type: 'Bearer' as const, expires_in: access.expiresIn };
  }

  async function logout(principal: Principal, refreshToken?: string) {
    const now = clock.now();
    await sessionsRepo.revokeById(db, { sessionId: principal.sessionId, userId: principal.user.id, reason: 'logout', now });
    if (refreshToken) {
      let other: ReturnType<TokenService['verifyRefresh']> | undefined;
      try {
        other = tokens.verifyRefresh(refreshToken);
      } catch {
        // An unusable refresh token has nothing left to revoke.
      }
      if (other && Number(other.sub) === principal.user.id) {
        await sessionsRepo.revokeById(db, { sessionId: other.sid, userId: principal.user.id, reason: 'logout', now });
      }
    }
  }

  async function verifyEmail(token: string) {
    const now = clock.now();
    return db.transaction(async (tx) => {
      const spent = await tokensRepo.consume(tx, sha256(token), 'verify_email', now);
      if (!spent) throw invalidToken();
      const user = await accounts.findById(tx, spent.userId);
      // The link proves control of the address it was sent to, not of a newer one.
      if (!user || user.email !== spent.email) throw invalidToken();
      return accounts.updateById(tx, user.id, { isVerified: true }, now);
    });
  }

  async function resendVerification(principal: Principal): Promise<{ sent: boolean }> {
    if (principal.user.isVerified) return { sent: false };
    await emailActions.hit(emailKey(principal.user.email));
    await db.transaction((tx) => issueEmailVerification(tx, principal.user, clock.now()));
    deps.mailQueued();
    return { sent: true };
  }

  /**
   * Answers at once, the same whether or not the address has an account: the lookup and the mail
   * happen after the answer has gone, so neither the answer nor its timing tells them apart. Only
   * an existing, active account gets mail.
   */
  async function forgotPassword(email: string) {
    await emailActions.hit(emailKey(email));
    deps.background.run('password-reset-mail', () => sendResetLink(email));
  }

  async function sendResetLink(email: string) {
    const user = await accounts.findByEmail(db, email);
    if (!user || !user.isActive) return;
    const now = clock.now();
    await db.transaction((tx) => issueLink(tx, user, 'reset_password', RESET_PASSWORD_TTL_MS, passwordResetMail, now));
    deps.mailQueued();
  }

  async function resetPassword(token: string, password: string) {
    assertPassword('password', password);
    const tokenHash = sha256(token);
    // Look before hashing so that bad tokens cost no bcrypt work.
    if (!(await tokensRepo.findUsable(db, tokenHash, 'reset_password', clock.now()))) throw invalidToken();
    const passwordHash = await passwords.hash(password);
    const now = clock.now();
    await db.transaction(async (tx) => {
      const spent = await tokensRepo.consume(tx, tokenHash, 'reset_password', now);
      if (!spent) throw invalidToken();
      await accounts.updateById(tx, spent.userId, { passwordHash }, now);
      await sessionsRepo.revokeByUserId(tx, { userId: spent.userId, reason: 'password_reset', now });
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
      await accounts.updateById(tx, principal.user.id, { passwordHash }, now);
      await sessionsRepo.revokeByUserId(tx, { userId: principal.user.id, reason: 'password_changed', now, exceptSessionId: principal.sessionId });
    });
  }

  /** 'user.deactivated': every session of the account ends. */
  async function onUserDeactivated(tx: Tx, event: { userId: number; now: Date }) {
    await sessionsRepo.revokeByUserId(tx, { userId: event.userId, reason: 'account_disabled', now: event.now });
  }

  /** 'user.email_changed': the new address gets a verification link. */
  async function onEmailChanged(tx: Tx, event: { user: Pick<UserRow, 'id' | 'email' | 'firstName' | 'isVerified'>; now: Date }) {
    if (!event.user.isVerified) await issueEmailVerification(tx, event.user, event.now);
  }

  return {
    register,
    login,
    authenticate,
    refresh,
    logout,
    verifyEmail,
    resendVerification,
    forgotPassword,
    resetPassword,
    changePassword,
    onUserDeactivated,
    onEmailChanged,
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
