import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { principalOf } from '../../plugins/auth.ts';
import { errorResponses, IdParams, MessageSchema } from '../../shared/schemas.ts';
import { CreateTestimonialBody, TestimonialListQuery, TestimonialPageSchema, UpdateTestimonialBody } from './testimonials.schemas.ts';
import type { TestimonialsService } from './testimonials.service.ts';
import { AUTHENTICATED, BOOKER_ONLY, BOOKER_OR_ADMIN, PUBLIC } from '../../shared/access.ts';

/** The page arrives as JSON text from the database (as listings do, ADR 0008): sent as it is, not serialized again. */
const sendJson = (reply: FastifyReply, json: string) => reply.type('application/json; charset=utf-8').send(json);

const tags = ['testimonials'];
const security = [{ bearerAuth: [] }];

const testimonialsRoutes: FastifyPluginAsyncTypebox<{ testimonials: TestimonialsService }> = async (app, { testimonials }) => {
  const authenticated = { onRequest: [app.authenticate] };

  app.get(
    '/',
    {
      config: { access: PUBLIC },
      schema: {
        tags,
        operationId: 'listTestimonials',
        summary: 'What members say about Spacer, newest first',
        querystring: TestimonialListQuery,
        response: { 200: TestimonialPageSchema, ...errorResponses(400) },
      },
    },
    async (request, reply) => sendJson(reply, await testimonials.list(request.query)),
  );

  app.get(
    '/:id',
    {
      config: { access: PUBLIC },
      schema: {
        tags,
        operationId: 'getTestimonial',
        summary: 'One testimonial',
        params: IdParams,
        response: { 200: Type.Ref('Testimonial'), ...errorResponses(400, 404) },
      },
    },
    async (request) => testimonials.getById(request.params.id),
  );

  app.post(
    '/',
    {
      ...authenticated,
      config: { access: AUTHENTICATED },
      schema: {
        tags,
        security,
        operationId: 'createTestimonial',
        summary: 'Say something about Spacer (any member); user_name comes from your account',
        body: CreateTestimonialBody,
        response: { 201: Type.Ref('Testimonial'), ...errorResponses(400, 401) },
      },
    },
    async (request, reply) => reply.status(201).send(await testimonials.create(principalOf(request), request.body)),
  );

  app.put(
    '/:id',
    {
      ...authenticated,
      config: { access: BOOKER_ONLY },
      schema: {
        tags,
        security,
        operationId: 'updateTestimonial',
        summary: 'Change your testimonial (its author only)',
        params: IdParams,
        body: UpdateTestimonialBody,
        response: { 200: Type.Ref('Testimonial'), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => testimonials.update(principalOf(request), request.params.id, request.body),
  );

  app.delete(
    '/:id',
    {
      ...authenticated,
      config: { access: BOOKER_OR_ADMIN },
      schema: {
        tags,
        security,
        operationId: 'deleteTestimonial',
        summary: 'Delete a testimonial (its author or an admin)',
        params: IdParams,
        response: { 200: MessageSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      await testimonials.remove(principalOf(request), request.params.id);
      return { message: 'Testimonial deleted' };
    },
  );
};

export default testimonialsRoutes;
