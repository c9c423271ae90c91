/**
 * The one error type services throw. The error plugin turns it into the contract's envelope;
 * nothing else in the code base writes error bodies.
 */
export interface ErrorDetail {
  field: string;
  message: string;
}

export class AppError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly details: ErrorDetail[] | undefined;
  /** Seconds, for 429 and 503 answers that carry `Retry-After`. */
  readonly retryAfter: number | undefined;

  constructor(statusCode: number, code: string, message: string, options: { details?: ErrorDetail[]; retryAfter?: number } = {}) {
    super(message);
    this.name = 'AppError';
    this.statusCode = statusCode;
    this.code = code;
    this.details = options.details;
    this.retryAfter = options.retryAfter;
  }
}

export const badRequest = (code: string, message: string, details?: ErrorDetail[]) => new AppError(400, code, message, details ? { details } : {});

export const validationError = (field: string, message: string) =>
  new AppError(400, 'validation_error', `${field}: ${message}`, { details: [{ field, message }] });

export const unauthorized = (message = 'Authentication required') => new AppError(401, 'unauthorized', message);

export const tokenExpired = () => new AppError(401, 'token_expired', 'Token has expired');

export const invalidCredentials = () => new AppError(401, 'invalid_credentials', 'Invalid email or password');

export const forbidden = (message = 'You do not have permission to do this', code = 'forbidden') => new AppError(403, code, message);

export const notFound = (what = 'Resource') => new AppError(404, 'not_found', `${what} not found`);

export const conflict = (code: string, message: string) => new AppError(409, code, message);

export const rateLimited = (retryAfter: number) =>
  new AppError(429, 'rate_limited', 'Too many requests, please try again later', { retryAfter: Math.max(1, Math.ceil(retryAfter)) });

export const serviceUnavailable = (message = 'Service temporarily unavailable', retryAfter?: number) =>
  new AppError(503, 'service_unavailable', message, retryAfter === undefined ? {} : { retryAfter });
