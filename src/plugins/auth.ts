import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { bearerToken } from '../modules/auth/auth.rules.ts';
import type { AuthService } from '../modules/auth/auth.service.ts';
import type { Principal } from '../shared/principal.ts';
import { AppError, forbidden, unauthorized } from '../shared/errors.ts';

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `authenticate` (always) or `identify` (when a valid token is present). */
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** Requires a valid access token of a live session: else 401. */
    authenticate: Hook;
    /** For routes anyone may call: a usable token identifies the caller; a bad one means anonymous. */
    identify: Hook;
    /**
     * After `authenticate`: the module's policy must allow the caller (by current role), else 403
     * before the body is read.
     */
    allow: (policy: (user: Principal['user']) => boolean, message: string) => Hook;
  }
}

/** The authenticated caller; only call behind `authenticate`. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized();
  return request.principal;
}

async function authPlugin(app: FastifyInstance, options: { auth: AuthService }) {
  app.decorateRequest('principal', null);

  app.decorate('authenticate', async (request: FastifyRequest) => {
    const token = bearerToken(request.headers.authorization);
    if (!token) throw unauthorized(request.headers.authorization ? 'Malformed Authorization header' : 'Authentication required');
    request.principal = await options.auth.authenticate(token);
  });

  app.decorate('identify', async (request: FastifyRequest) => {
    const token = bearerToken(request.headers.authorization);
    if (!token) return;
    try {
      request.principal = await options.auth.authenticate(token);
    } catch (error) {
      if (!(error instanceof AppError) || error.statusCode >= 500) throw error;
    }
  });

  app.decorate('allow', (policy: (user: Principal['user']) => boolean, message: string): Hook => async (request) => {
    if (!policy(principalOf(request).user)) throw forbidden(message);
  });
}

export default fp(authPlugin, { name: 'auth' });
