import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { principalOf } from '../../plugins/auth.ts';
import { errorResponses, IdParams, Page } from '../../shared/schemas.ts';
import { CreateReviewBody, ReviewListQuery } from './reviews.schemas.ts';
import type { ReviewsService } from './reviews.service.ts';
import { BOOKER_ONLY, PUBLIC } from '../../shared/access.ts';

/** The page arrives as JSON text from the database (as listings do, ADR 0008): sent as it is, not serialized again. */
const sendJson = (reply: FastifyReply, json: string) => reply.type('application/json; charset=utf-8').send(json);

const tags = ['reviews'];
const security = [{ bearerAuth: [] }];

/** A space's reviews, under /api/spaces/:id (the spaces module owns the listing, this one the reviews). */
const spaceReviewsRoutes: FastifyPluginAsyncTypebox<{ reviews: ReviewsService }> = async (app, { reviews }) => {
  app.get(
    '/:id/reviews',
    {
      config: { access: PUBLIC },
      schema: {
        tags,
        operationId: 'listSpaceReviews',
        summary: "A space's reviews, newest first",
        params: IdParams,
        querystring: ReviewListQuery,
        response: { 200: Page('reviews', Type.Ref('Review')), ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => sendJson(reply, await reviews.list(request.params.id, request.query)),
  );

  app.post(
    '/:id/reviews',
    {
      onRequest: [app.authenticate],
      config: { access: BOOKER_ONLY },
      schema: {
        tags,
        security,
        operationId: 'createReview',
        summary: 'Review a space you used (a completed booking of it); one review per guest per space',
        description:
          "Without a completed booking of the space, or as its owner: 403. A second review: 409 already_exists. The space's rating counts it at once.",
        params: IdParams,
        body: CreateReviewBody,
        response: { 201: Type.Ref('Review'), ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const review = await reviews.create(principalOf(request), request.params.id, request.body);
      return reply.status(201).send(review);
    },
  );
};

export default spaceReviewsRoutes;
