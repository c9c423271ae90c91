import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../plugins/auth.ts';
import { readMultipart } from '../../plugins/multipart.ts';
import { canonicalize } from '../../plugins/validation.ts';
import { AppError, validationError } from '../../shared/errors.ts';
import { errorResponses, IdParams, MessageSchema, Page } from '../../shared/schemas.ts';
import { toUserResponse } from './users.mapper.ts';
import { RoleInput, UpdateUserBody, UserListQuery, UserSchema } from './users.schemas.ts';
import { canDeactivateUsers, canListUsers } from './users.policy.ts';
import { ADMIN_ONLY, type UsersService } from './users.service.ts';
import { ADMINS, BOOKER_OR_ADMIN } from '../../shared/access.ts';

const tags = ['users'];
const security = [{ bearerAuth: [] }];

const usersRoutes: FastifyPluginAsyncTypebox<{ users: UsersService; maxUploadBytes: number }> = async (app, { users, maxUploadBytes }) => {
  app.get(
    '/',
    {
      onRequest: [app.authenticate, app.allow(canListUsers, ADMIN_ONLY)],
      config: { access: ADMINS },
      schema: {
        tags,
        security,
        operationId: 'listUsers',
        summary: 'List accounts (admin)',
        querystring: UserListQuery,
        response: { 200: Page('users', UserSchema), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const page = await users.list(principalOf(request), request.query);
      return { ...page, users: page.users.map(toUserResponse) };
    },
  );

  app.get(
    '/:id',
    {
      onRequest: [app.authenticate],
      config: { access: BOOKER_OR_ADMIN },
      schema: {
        tags,
        security,
        operationId: 'getUser',
        summary: 'One account (yourself, or anyone for an admin)',
        params: IdParams,
        response: { 200: UserSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => toUserResponse(await users.getById(principalOf(request), request.params.id)),
  );

  app.put(
    '/:id',
    {
      onRequest: [app.authenticate],
      preValidation: canonicalize('body', 'role', RoleInput.canonical),
      config: { access: BOOKER_OR_ADMIN },
      schema: {
        tags,
        security,
        operationId: 'updateUser',
        summary: 'Change an account (partial); role, is_verified and is_active are admin-only',
        params: IdParams,
        body: UpdateUserBody,
        response: { 200: UserSchema, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => toUserResponse(await users.update(principalOf(request), request.params.id, request.body)),
  );

  app.post(
    '/:id/avatar',
    {
      onRequest: [app.authenticate],
      // Decided before a byte of the upload is read: a refused caller never gets it buffered.
      preHandler: async (request) => users.assertMayUpdate(principalOf(request), request.params.id),
      config: { access: BOOKER_OR_ADMIN },
      schema: {
        tags,
        security,
        operationId: 'uploadAvatar',
        summary: 'Upload an avatar (multipart field `avatar`; yourself or an admin)',
        description: 'Same image pipeline as space images, cropped to a 400×400 square.',
        params: IdParams,
        body: { content: { 'multipart/form-data': { schema: Type.Object({ avatar: Type.Optional(Type.String({ format: 'binary' })) }) } } },
        response: { 200: UserSchema, ...errorResponses(400, 401, 403, 404, 413, 415, 503) },
      },
    },
    async (request) => {
      if (!request.isMultipart()) throw new AppError(415, 'unsupported_media_type', 'Send the avatar as multipart/form-data');
      const form = await readMultipart(request, { fileFields: ['avatar'], maxFiles: 1, maxFileBytes: maxUploadBytes });
      const file = form.files[0];
      if (!file) throw validationError('avatar', 'an image file is required');
      return toUserResponse(await users.setAvatar(principalOf(request), request.params.id, file.data));
    },
  );

  app.delete(
    '/:id',
    {
      onRequest: [app.authenticate, app.allow(canDeactivateUsers, ADMIN_ONLY)],
      config: { access: ADMINS },
      schema: {
        tags,
        security,
        operationId: 'deactivateUser',
        summary: 'Deactivate an account (admin); its history is kept',
        params: IdParams,
        response: { 200: MessageSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      await users.remove(principalOf(request), request.params.id);
      return { message: 'User deactivated' };
    },
  );
};

export default usersRoutes;
