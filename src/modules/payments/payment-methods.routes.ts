import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { principalOf } from '../../plugins/auth.ts';
import { errorResponses, IdParams, MessageSchema } from '../../shared/schemas.ts';
import { refuseCardNumbers } from './payments.routes.ts';
import { CreatePaymentMethodBody, PaymentMethodListSchema, StoredPaymentMethodSchema } from './payments.schemas.ts';
import type { PaymentsService } from './payments.service.ts';
import { AUTHENTICATED, OWN_ONLY_HIDDEN } from '../../shared/access.ts';

const tags = ['users'];
const security = [{ bearerAuth: [] }];

/** /api/users/me/payment-methods: the caller's saved ways to pay. */
const paymentMethodsRoutes: FastifyPluginAsyncTypebox<{ payments: PaymentsService }> = async (app, { payments }) => {
  const authenticated = { onRequest: [app.authenticate] };

  app.get(
    '/',
    {
      ...authenticated,
      config: { access: AUTHENTICATED },
      schema: {
        tags,
        security,
        operationId: 'listPaymentMethods',
        summary: 'Your saved payment methods, the default first',
        response: { 200: PaymentMethodListSchema, ...errorResponses(401) },
      },
    },
    async (request) => payments.listMethods(principalOf(request)),
  );

  app.post(
    '/',
    {
      ...authenticated,
      preValidation: refuseCardNumbers,
      config: { access: AUTHENTICATED },
      schema: {
        tags,
        security,
        operationId: 'addPaymentMethod',
        summary: 'Save an M-Pesa number, or a card as its provider token with brand and last 4 digits',
        description: 'A card number anywhere in the body is 400 card_number_refused and is neither stored nor logged. The first method saved is the default.',
        body: CreatePaymentMethodBody,
        response: { 201: StoredPaymentMethodSchema, ...errorResponses(400, 401) },
      },
    },
    async (request, reply) => reply.status(201).send(await payments.addMethod(principalOf(request), request.body)),
  );

  app.delete(
    '/:id',
    {
      ...authenticated,
      config: { access: OWN_ONLY_HIDDEN },
      schema: {
        tags,
        security,
        operationId: 'deletePaymentMethod',
        summary: 'Remove one of your saved payment methods',
        params: IdParams,
        response: { 200: MessageSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      await payments.removeMethod(principalOf(request), request.params.id);
      return { message: 'Payment method removed' };
    },
  );
};

export default paymentMethodsRoutes;
