import { randomUUID } from 'node:crypto';
import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import type { Role } from '../../db/schema/index.ts';
import type { Clock } from '../../shared/clock.ts';
import { tokenExpired, unauthorized } from '../../shared/errors.ts';

/** Sessions are keyed by UUID; a signed token naming anything else was not issued by us. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * JWTs (HS256) with separate secrets per kind, so neither kind can ever pass for the other.
 * Each names its session (`sid`); the database decides whether that session still lives.
 */

export type TokenType = 'access' | 'refresh';

export interface TokenClaims {
  sub: string;
  role: Role;
  type: TokenType;
  jti: string;
  sid: string;
  iat: number;
  exp: number;
}

export interface TokenSubject {
  userId: number;
  role: Role;
  sessionId: string;
}

export interface TokenSettings {
  accessSecret: string;
  refreshSecret: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

export function createTokenService(settings: TokenSettings, clock: Clock) {
  const kinds = {
    access: { secret: settings.accessSecret, ttl: settings.accessTtlSeconds },
    refresh: { secret: settings.refreshSecret, ttl: settings.refreshTtlSeconds },
  } as const;
  const signers = {
    access: createSigner({ key: kinds.access.secret, algorithm: 'HS256' }),
    refresh: createSigner({ key: kinds.refresh.secret, algorithm: 'HS256' }),
  };
  const verifierFor = (type: TokenType) =>
    // Only HS256 is accepted: `alg: none` and algorithm confusion fail here.
    createVerifier({ key: kinds[type].secret, algorithms: ['HS256'], cache: false, ignoreExpiration: true });
  const verifiers = { access: verifierFor('access'), refresh: verifierFor('refresh') };

  function sign(type: TokenType, subject: TokenSubject, jti: string = randomUUID()) {
    const iat = Math.floor(clock.now().getTime() / 1000);
    const exp = iat + kinds[type].ttl;
    const claims: TokenClaims = { sub: String(subject.userId), role: subject.role, type, jti, sid: subject.sessionId, iat, exp };
    return { token: signers[type](claims), jti, expiresAt: new Date(exp * 1000), expiresIn: kinds[type].ttl };
  }

  function verify(type: TokenType, token: string): TokenClaims {
    let claims: TokenClaims;
    try {
      // Expiry is judged below against the injected clock, not the wall clock.
      claims = verifiers[type](token) as TokenClaims;
    } catch (error) {
      if (!(error instanceof TokenError)) throw error;
      throw unauthorized('Invalid token');
    }
    if (
      claims.type !== type ||
      typeof claims.sid !== 'string' ||
      !UUID.test(claims.sid) ||
      !/^\d+$/.test(String(claims.sub)) ||
      typeof claims.jti !== 'string'
    ) {
      throw unauthorized('Invalid token');
    }
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= clock.now().getTime()) throw tokenExpired();
    return claims;
  }

  return {
    accessTtlSeconds: settings.accessTtlSeconds,
    refreshTtlSeconds: settings.refreshTtlSeconds,
    signAccess: (subject: TokenSubject) => sign('access', subject),
    signRefresh: (subject: TokenSubject, jti?: string) => sign('refresh', subject, jti),
    verifyAccess: (token: string) => verify('access', token),
    verifyRefresh: (token: string) => verify('refresh', token),
  };
}

export type TokenService = ReturnType<typeof createTokenService>;
