import rateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Redis } from 'ioredis';
import { principalOf } from '../../plugins/auth.ts';
import { canonicalize } from '../../plugins/validation.ts';
import { rateLimited, unauthorized } from '../../shared/errors.ts';
import { errorResponses, MessageSchema } from '../../shared/schemas.ts';
import { RoleInput } from '../users/users.schemas.ts';
import {
  ChangePasswordBody,
  ForgotPasswordBody,
  LoginBody,
  LoginResponse,
  LogoutBody,
  RefreshBody,
  RegisterBody,
  RegisterResponse,
  ResetPasswordBody,
  TokenBody,
  TokenPairSchema,
} from './auth.schemas.ts';
import { bearerToken } from './auth.rules.ts';
import type { UsersService } from '../users/users.service.ts';
import type { AuthService } from './auth.service.ts';
import { access, AUTHENTICATED, PUBLIC } from '../../shared/access.ts';

export interface AuthRoutesOptions {
  auth: AuthService;
  /** Answers carry the caller's account as the users module presents it. */
  users: Pick<UsersService, 'present'>;
  perIpPerMinute: number;
  redis?: Redis;
  redisPrefix: string;
}

const tags = ['auth'];
const bearer = [{ bearerAuth: [] }];

const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (app, { auth, users, perIpPerMinute, redis, redisPrefix }) => {
  const toUserResponse = users.present;
  // Scoped to this plugin: every /api/auth route shares one per-IP budget.
  await app.register(rateLimit, {
    global: true,
    max: perIpPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => `auth:${request.ip}`,
    ...(redis ? { redis, nameSpace: `${redisPrefix}ip-` } : {}),
    // A broken Redis must not lock every user out of logging in.
    skipOnError: true,
    errorResponseBuilder: (_request, context) => rateLimited(context.ttl / 1000),
  });

  app.post(
    '/register',
    {
      preValidation: canonicalize('body', 'role', RoleInput.canonical),
      config: { access: PUBLIC },
      schema: {
        tags,
        operationId: 'register',
        summary: 'Create a client or owner account and log in',
        body: RegisterBody,
        response: { 201: RegisterResponse, ...errorResponses(400, 403, 409, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const { user, tokens } = await auth.register(request.body);
      reply.status(201);
      return { message: 'Account created; check your email to verify your address', user: toUserResponse(user), ...tokens };
    },
  );

  app.post(
    '/login',
    {
      // Anyone may try; a deactivated account's own credentials are refused (account_disabled).
      config: { access: access({ ...PUBLIC, deactivated: 403 }) },
      schema: {
        tags,
        operationId: 'login',
        summary: 'Exchange email and password for tokens',
        body: LoginBody,
        response: { 200: LoginResponse, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const { user, tokens } = await auth.login(request.body.email, request.body.password, request.ip);
      return { ...tokens, user: toUserResponse(user) };
    },
  );

  app.post(
    '/refresh',
    {
      // Whoever holds a refresh token; a deactivated account's were revoked with it.
      config: { access: access({ ...PUBLIC, deactivated: 401 }) },
      schema: {
        tags,
        operationId: 'refreshTokens',
        summary: 'Spend a refresh token for a new pair (rotation; a reused token ends its session)',
        description: 'The refresh token goes in the body or as the Bearer token.',
        body: RefreshBody,
        response: { 200: TokenPairSchema, ...errorResponses(400, 401, 429) },
      },
    },
    async (request) => {
      const token = request.body?.refresh_token ?? bearerToken(request.headers.authorization);
      if (!token) throw unauthorized('A refresh token is required');
      return auth.refresh(token);
    },
  );

  app.post(
    '/logout',
    {
      onRequest: [app.authenticate],
      config: { access: AUTHENTICATED },
      schema: {
        tags,
        operationId: 'logout',
        summary: 'End this session (and the one of the given refresh token)',
        security: bearer,
        body: LogoutBody,
        response: { 200: MessageSchema, ...errorResponses(400, 401, 429) },
      },
    },
    async (request) => {
      await auth.logout(principalOf(request), request.body?.refresh_token);
      return { message: 'Logged out' };
    },
  );

  app.get(
    '/me',
    {
      onRequest: [app.authenticate],
      config: { access: AUTHENTICATED },
      schema: {
        tags,
        operationId: 'getMe',
        summary: 'The calling user',
        security: bearer,
        response: { 200: { $ref: 'User' }, ...errorResponses(401, 403, 429) },
      },
    },
    async (request) => toUserResponse(principalOf(request).user),
  );

  app.post(
    '/verify-email',
    {
      config: { access: PUBLIC },
      schema: {
        tags,
        operationId: 'verifyEmail',
        summary: 'Confirm an email address with the emailed token',
        body: TokenBody,
        response: { 200: MessageSchema, ...errorResponses(400, 429) },
      },
    },
    async (request) => {
      await auth.verifyEmail(request.body.token);
      return { message: 'Email verified' };
    },
  );

  app.post(
    '/resend-verification',
    {
      onRequest: [app.authenticate],
      config: { access: AUTHENTICATED },
      schema: {
        tags,
        operationId: 'resendVerification',
        summary: 'Send a new verification email',
        security: bearer,
        response: { 200: MessageSchema, ...errorResponses(401, 429) },
      },
    },
    async (request) => {
      const { sent } = await auth.resendVerification(principalOf(request));
      return { message: sent ? 'Verification email sent' : 'Email is already verified' };
    },
  );

  app.post(
    '/forgot-password',
    {
      config: { access: PUBLIC },
      schema: {
        tags,
        operationId: 'forgotPassword',
        summary: 'Email a password-reset link (the answer never reveals whether the account exists)',
        body: ForgotPasswordBody,
        response: { 202: MessageSchema, ...errorResponses(400, 429) },
      },
    },
    async (request, reply) => {
      await auth.forgotPassword(request.body.email);
      reply.status(202);
      return { message: 'If an account exists for this email, a reset link is on its way' };
    },
  );

  app.post(
    '/reset-password',
    {
      config: { access: PUBLIC },
      schema: {
        tags,
        operationId: 'resetPassword',
        summary: 'Set a new password with the emailed token; ends every session',
        body: ResetPasswordBody,
        response: { 200: MessageSchema, ...errorResponses(400, 429) },
      },
    },
    async (request) => {
      await auth.resetPassword(request.body.token, request.body.password);
      return { message: 'Password updated; please log in again' };
    },
  );

  app.put(
    '/password',
    {
      onRequest: [app.authenticate],
      config: { access: AUTHENTICATED },
      schema: {
        tags,
        operationId: 'changePassword',
        summary: 'Change your password; your other sessions end',
        security: bearer,
        body: ChangePasswordBody,
        response: { 200: MessageSchema, ...errorResponses(400, 401, 429) },
      },
    },
    async (request) => {
      await auth.changePassword(principalOf(request), request.body.current_password, request.body.new_password);
      return { message: 'Password changed' };
    },
  );
};

export default authRoutes;
