import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../plugins/auth.ts';
import { errorResponses, IdParams, MessageSchema } from '../../shared/schemas.ts';
import { UpdateReviewBody } from './reviews.schemas.ts';
import type { ReviewsService } from './reviews.service.ts';
import { BOOKER_ONLY, BOOKER_OR_ADMIN, PUBLIC } from '../../shared/access.ts';

const tags = ['reviews'];
const security = [{ bearerAuth: [] }];

const reviewsRoutes: FastifyPluginAsyncTypebox<{ reviews: ReviewsService }> = async (app, { reviews }) => {
  app.get(
    '/:id',
    {
      config: { access: PUBLIC },
      schema: {
        tags,
        operationId: 'getReview',
        summary: 'One review',
        params: IdParams,
        response: { 200: Type.Ref('Review'), ...errorResponses(400, 404) },
      },
    },
    async (request) => reviews.getById(request.params.id),
  );

  app.put(
    '/:id',
    {
      onRequest: [app.authenticate],
      config: { access: BOOKER_ONLY },
      schema: {
        tags,
        security,
        operationId: 'updateReview',
        summary: 'Change your review (its author only)',
        params: IdParams,
        body: UpdateReviewBody,
        response: { 200: Type.Ref('Review'), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => reviews.update(principalOf(request), request.params.id, request.body),
  );

  app.delete(
    '/:id',
    {
      onRequest: [app.authenticate],
      config: { access: BOOKER_OR_ADMIN },
      schema: {
        tags,
        security,
        operationId: 'deleteReview',
        summary: 'Delete a review (its author or an admin)',
        params: IdParams,
        response: { 200: MessageSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      await reviews.remove(principalOf(request), request.params.id);
      return { message: 'Review deleted' };
    },
  );
};

export default reviewsRoutes;
