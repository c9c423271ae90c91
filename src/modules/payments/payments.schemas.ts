import { Type, type Static } from 'typebox';
import { PAYMENT_METHODS, PAYMENT_STATES, STORED_METHOD_TYPES } from '../../db/schema/index.ts';
import { DateTime, Id, LiteralUnion, Nullable, PageQuery } from '../../shared/schemas.ts';

const PaymentMethodSchema = LiteralUnion(PAYMENT_METHODS);
const PaymentStatusSchema = LiteralUnion(PAYMENT_STATES);

/** What the payer types for M-Pesa; normalised to 2547XXXXXXXX / 2541XXXXXXXX or refused (400). */
const KenyanPhone = Type.String({ minLength: 9, maxLength: 20, description: '07XXXXXXXX, 01XXXXXXXX, +2547…, 2547… (spaces or dashes allowed)' });

export const PaymentSchema = Type.Object(
  {
    id: Type.Integer(),
    booking_id: Type.Integer(),
    user_id: Type.Integer(),
    amount: Type.Number({ description: "The booking's total, in major units" }),
    refunded_amount: Type.Number(),
    currency: Type.String(),
    payment_method: PaymentMethodSchema,
    status: PaymentStatusSchema,
    transaction_id: Nullable(Type.String({ description: 'The M-Pesa receipt or the card charge, once paid' })),
    checkout_request_id: Nullable(Type.String({ description: 'Daraja CheckoutRequestID (M-Pesa) or Stripe PaymentIntent id (card)' })),
    receipt_number: Nullable(Type.String({ description: 'RCP-<year>-<6 digits>, once completed' })),
    failure_reason: Nullable(Type.String()),
    created_at: DateTime,
    updated_at: DateTime,
    completed_at: Nullable(DateTime),
  },
  { $id: 'Payment', title: 'Payment' },
);
export type PaymentResponse = Static<typeof PaymentSchema>;

export const CreatedPaymentSchema = Type.Object({
  ...PaymentSchema.properties,
  client_secret: Type.Optional(Type.String({ description: 'Card payments: confirm the PaymentIntent with this in the browser (Stripe.js)' })),
});

export const CreatePaymentBody = Type.Object({
  booking_id: Id,
  payment_method: PaymentMethodSchema,
  phone_number: Type.Optional(KenyanPhone),
  payment_method_id: Type.Optional(Id),
});
export type CreatePaymentBody = Static<typeof CreatePaymentBody>;

export const PaymentListQuery = Type.Object({
  ...PageQuery.properties,
  status: Type.Optional(PaymentStatusSchema),
  booking_id: Type.Optional(Id),
});
export type PaymentListQuery = Static<typeof PaymentListQuery>;

export const ReceiptSchema = Type.Object({
  receipt_number: Type.String(),
  issued_at: DateTime,
  payment_id: Type.Integer(),
  booking_id: Type.Integer(),
  payer: Type.Object({ name: Type.String(), email: Type.String() }),
  space: Type.Object({ id: Type.Integer(), name: Type.String(), address: Type.String(), city: Type.String() }),
  start_time: DateTime,
  end_time: DateTime,
  hours: Type.Number(),
  rate: Type.Number({ description: 'Price per hour of the booking, in major units' }),
  amount: Type.Number(),
  currency: Type.String(),
  payment_method: PaymentMethodSchema,
  transaction_id: Nullable(Type.String()),
});
export type ReceiptResponse = Static<typeof ReceiptSchema>;

export const ReceiptQuery = Type.Object({ format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('pdf')])) });

/** Daraja's answer to a callback: it wants exactly this once the message is stored. */
export const DarajaAckSchema = Type.Object({ ResultCode: Type.Integer(), ResultDesc: Type.String() });
export const CallbackTokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) });
export const WebhookAckSchema = Type.Object({ received: Type.Boolean() });

const StoredMethodType = LiteralUnion(STORED_METHOD_TYPES);

export const StoredPaymentMethodSchema = Type.Object({
  id: Type.Integer(),
  type: StoredMethodType,
  label: Type.String(),
  phone_number: Type.Optional(Type.String()),
  brand: Type.Optional(Type.String()),
  last4: Type.Optional(Type.String()),
  is_default: Type.Boolean(),
  created_at: DateTime,
});
export type StoredPaymentMethodResponse = Static<typeof StoredPaymentMethodSchema>;

export const PaymentMethodListSchema = Type.Object({ payment_methods: Type.Array(StoredPaymentMethodSchema) });

export const CreatePaymentMethodBody = Type.Union([
  Type.Object({
    type: Type.Literal('mpesa'),
    phone_number: KenyanPhone,
    label: Type.Optional(Type.String({ minLength: 1, maxLength: 60 })),
    is_default: Type.Optional(Type.Boolean()),
  }),
  Type.Object({
    type: Type.Literal('card'),
    provider_token: Type.String({
      minLength: 3,
      maxLength: 255,
      pattern: '^[A-Za-z0-9_-]+$',
      description: "The card provider's token (e.g. Stripe pm_…), never the card number",
    }),
    brand: Type.String({ minLength: 1, maxLength: 30, pattern: '^[A-Za-z ]+$' }),
    last4: Type.String({ pattern: '^[0-9]{4}$' }),
    label: Type.Optional(Type.String({ minLength: 1, maxLength: 60 })),
    is_default: Type.Optional(Type.Boolean()),
  }),
]);
export type CreatePaymentMethodBody = Static<typeof CreatePaymentMethodBody>;
