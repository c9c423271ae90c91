/**
 * Every `code` an error body can carry. Published on the OpenAPI `Error` component as
 * `x-error-codes`, so clients can switch on codes from the document; test/unit/error-codes.test.ts
 * scans src for codes thrown and fails on one missing here.
 */
export const ERROR_CODES = [
  // The contract's generic codes (API.md "Error codes and statuses").
  'validation_error',
  'invalid_json',
  'unauthorized',
  'invalid_credentials',
  'token_expired',
  'forbidden',
  'role_not_allowed',
  'account_disabled',
  'not_found',
  'email_taken',
  'booking_conflict',
  'space_unavailable',
  'invalid_state',
  'already_exists',
  'idempotency_key_reused',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'internal_error',
  'service_unavailable',
  // HTTP-level refusals Fastify or a plugin raises (src/plugins/errors.ts, src/app.ts).
  'bad_request',
  'method_not_allowed',
  'not_acceptable',
  'request_timeout',
  'conflict',
  'length_required',
  'uri_too_long',
  'request_aborted',
  'image_too_large',
  'too_many_images',
  // Auth and accounts.
  'invalid_token',
  'invalid_password',
  'cannot_modify_self',
  // Booking rules.
  'invalid_time_range',
  'start_in_past',
  'insufficient_notice',
  'too_far_ahead',
  'duration_too_short',
  'duration_too_long',
  'outside_operating_hours',
  'capacity_exceeded',
  'window_too_long',
  // Payments.
  'card_number_refused',
  'unsupported_amount',
  'invalid_signature',
  'payment_provider_error',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];
