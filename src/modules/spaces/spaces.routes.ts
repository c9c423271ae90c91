import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { principalOf } from '../../plugins/auth.ts';
import { readMultipart } from '../../plugins/multipart.ts';
import { bodyValidator, canonicalize } from '../../plugins/validation.ts';
import { AppError } from '../../shared/errors.ts';
import { errorResponses, IdParams, MessageSchema, Page } from '../../shared/schemas.ts';
import { canCreateSpaces, OWNERS_ONLY } from './spaces.policy.ts';
import { fromFormFields } from './spaces.rules.ts';
import {
  CreateSpaceBody,
  CreateSpaceMultipart,
  ForceQuery,
  ImageParams,
  ImageSchema,
  ImagesMultipart,
  SetPrimaryBody,
  SpaceListQuery,
  SpaceSchema,
  SpaceStatsSchema,
  SpaceStatusFilter,
  UpdateSpaceBody,
} from './spaces.schemas.ts';
import { MAX_IMAGES_PER_SPACE, tooManyImages, type SpacesService } from './spaces.service.ts';
import { OWNERS_AND_ADMINS, PUBLIC, SPACE_MANAGERS } from '../../shared/access.ts';

const tags = ['spaces'];
const security = [{ bearerAuth: [] }];
const IMAGE_FIELDS = ['images', 'image'] as const;

const validateCreateForm = bodyValidator(CreateSpaceBody);

const notMultipart = () => new AppError(415, 'unsupported_media_type', 'Send the images as multipart/form-data');

/** Listings arrive as JSON text from the database (ADR 0008): sent as they are, not serialized again. */
const sendJson = (reply: FastifyReply, json: string, status = 200) => reply.status(status).type('application/json; charset=utf-8').send(json);

const spacesRoutes: FastifyPluginAsyncTypebox<{ spaces: SpacesService; maxUploadBytes: number }> = async (app, { spaces, maxUploadBytes }) => {
  const readImages = (request: FastifyRequest) =>
    readMultipart(request, { fileFields: IMAGE_FIELDS, maxFiles: MAX_IMAGES_PER_SPACE, maxFileBytes: maxUploadBytes, tooManyFiles: () => tooManyImages(0) });
  const manage = { onRequest: [app.authenticate] };

  const statusFilter = canonicalize('query', 'status', SpaceStatusFilter.canonical);

  app.get(
    '/',
    {
      preValidation: statusFilter,
      config: { access: PUBLIC },
      schema: {
        tags,
        operationId: 'listSpaces',
        summary: 'Search listings',
        description:
          'Filters combine with AND. `sort=relevance` needs `q`; `sort=distance` needs `near` (each listing then has `distance_km`). Archived listings never appear.',
        querystring: SpaceListQuery,
        response: { 200: Page('spaces', Type.Ref('Space')), ...errorResponses(400) },
      },
    },
    async (request, reply) => sendJson(reply, await spaces.list(request.query)),
  );

  app.get(
    '/mine',
    {
      onRequest: [app.authenticate, app.allow(canCreateSpaces, OWNERS_ONLY)],
      preValidation: statusFilter,
      config: { access: OWNERS_AND_ADMINS },
      schema: {
        tags,
        security,
        operationId: 'listMySpaces',
        summary: 'Your own listings (owner or admin)',
        querystring: SpaceListQuery,
        response: { 200: Page('spaces', Type.Ref('Space')), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => sendJson(reply, await spaces.mine(principalOf(request), request.query)),
  );

  app.get(
    '/stats',
    {
      onRequest: [app.authenticate, app.allow(canCreateSpaces, OWNERS_ONLY)],
      config: { access: OWNERS_AND_ADMINS },
      schema: {
        tags,
        security,
        operationId: 'spaceStats',
        summary: 'Counts over your listings (all listings for an admin)',
        response: { 200: SpaceStatsSchema, ...errorResponses(401, 403) },
      },
    },
    async (request) => spaces.stats(principalOf(request)),
  );

  app.get(
    '/:id',
    {
      config: { access: PUBLIC },
      schema: {
        tags,
        operationId: 'getSpace',
        summary: 'One listing',
        params: IdParams,
        response: { 200: SpaceSchema, ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => sendJson(reply, await spaces.getById(request.params.id)),
  );

  app.post(
    '/',
    {
      onRequest: [app.authenticate, app.allow(canCreateSpaces, OWNERS_ONLY)],
      config: { access: OWNERS_AND_ADMINS },
      schema: {
        tags,
        security,
        operationId: 'createSpace',
        summary: 'List a space (owner or admin); JSON, or multipart with `images` files',
        body: { content: { 'application/json': { schema: CreateSpaceBody }, 'multipart/form-data': { schema: CreateSpaceMultipart } } },
        response: { 201: SpaceSchema, ...errorResponses(400, 401, 403, 413, 415, 503) },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request);
      let created;
      if (request.isMultipart()) {
        const form = await readImages(request);
        created = await spaces.create(
          actor,
          validateCreateForm(fromFormFields(form.fields)),
          form.files.map((file) => file.data),
        );
      } else {
        // Without a Content-Type there was nothing to validate; check it here like any other body.
        created = await spaces.create(actor, validateCreateForm(request.body ?? {}));
      }
      return sendJson(reply, created, 201);
    },
  );

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/:id',
      ...manage,
      config: { access: SPACE_MANAGERS },
      schema: {
        tags,
        security,
        operationId: method === 'PUT' ? 'updateSpace' : 'patchSpace',
        summary: 'Change a listing (partial; its owner or an admin)',
        params: IdParams,
        body: UpdateSpaceBody,
        response: { 200: SpaceSchema, ...errorResponses(400, 401, 403, 404) },
      },
      handler: async (request, reply) => sendJson(reply, await spaces.update(principalOf(request), request.params.id, request.body)),
    });
  }

  app.delete(
    '/:id',
    {
      ...manage,
      config: { access: SPACE_MANAGERS },
      schema: {
        tags,
        security,
        operationId: 'deleteSpace',
        summary: 'Archive a listing (its owner or an admin); history is kept',
        description: 'With future pending or confirmed bookings: 409 invalid_state, unless an admin passes `force=true`, which cancels (and refunds) them.',
        params: IdParams,
        querystring: ForceQuery,
        response: { 200: MessageSchema, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      await spaces.remove(principalOf(request), request.params.id, request.query.force ?? false);
      return { message: 'Space archived' };
    },
  );

  app.post(
    '/:id/images',
    {
      ...manage,
      // Decided before a byte of the upload is read: a refused caller never gets it buffered.
      preHandler: async (request) => {
        await spaces.manageable(principalOf(request), request.params.id);
      },
      config: { access: SPACE_MANAGERS },
      schema: {
        tags,
        security,
        operationId: 'addSpaceImages',
        summary: 'Add images (multipart `images` or `image`; its owner or an admin)',
        description: `JPEG, PNG, WebP, AVIF, GIF or TIFF judged by content; each at most MAX_UPLOAD_MB; at most ${MAX_IMAGES_PER_SPACE} per space. Stored as WebP within 800×800, metadata removed.`,
        params: IdParams,
        body: { content: { 'multipart/form-data': { schema: ImagesMultipart } } },
        response: { 201: Type.Object({ images: Type.Array(ImageSchema) }), ...errorResponses(400, 401, 403, 404, 413, 415, 503) },
      },
    },
    async (request, reply) => {
      if (!request.isMultipart()) throw notMultipart();
      const form = await readImages(request);
      const images = await spaces.addImages(
        principalOf(request),
        request.params.id,
        form.files.map((file) => file.data),
      );
      reply.status(201);
      return { images };
    },
  );

  app.put(
    '/:id/images/:image_id',
    {
      ...manage,
      config: { access: SPACE_MANAGERS },
      schema: {
        tags,
        security,
        operationId: 'setPrimaryImage',
        summary: 'Make an image the primary one',
        params: ImageParams,
        body: SetPrimaryBody,
        response: { 200: ImageSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => spaces.setPrimary(principalOf(request), request.params.id, request.params.image_id, request.body.is_primary),
  );

  app.delete(
    '/:id/images/:image_id',
    {
      ...manage,
      config: { access: SPACE_MANAGERS },
      schema: {
        tags,
        security,
        operationId: 'deleteSpaceImage',
        summary: 'Delete an image (and its file); the oldest remaining becomes primary',
        params: ImageParams,
        response: { 200: MessageSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      await spaces.deleteImage(principalOf(request), request.params.id, request.params.image_id);
      return { message: 'Image deleted' };
    },
  );
};

export default spacesRoutes;
