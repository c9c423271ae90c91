import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { fromDatabaseError } from '../shared/db-errors.ts';
import { AppError, type ErrorDetail } from '../shared/errors.ts';
import type { ErrorBody } from '../shared/schemas.ts';

/**
 * The one place that writes error bodies. Every failure — ours, Fastify's, a plugin's or the
 * database's — leaves in the contract's envelope; anything unexpected is logged and masked.
 */

const CODE_BY_STATUS: Record<number, string> = {
  400: 'validation_error',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  411: 'length_required',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'service_unavailable',
};

export function send(reply: FastifyReply, error: AppError) {
  const body: ErrorBody = { error: error.message, message: error.message, code: error.code };
  // Refused before its body was read (an upload by someone not allowed it): close rather than
  // read the rest, which Node would otherwise do to keep the connection alive.
  const raw = reply.request.raw;
  const hasBody = raw.headers['transfer-encoding'] !== undefined || Number(raw.headers['content-length'] ?? 0) > 0;
  if (hasBody && !raw.complete) reply.header('connection', 'close');
  if (error.details) body.details = error.details;
  if (error.retryAfter !== undefined) reply.header('retry-after', String(error.retryAfter));
  return reply.status(error.statusCode).type('application/json; charset=utf-8').send(body);
}

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Ajv's `/address/city` + missingProperty → `address.city`; the prefix names the request part. */
export function validationDetails(errors: AjvError[], context: string | undefined): ErrorDetail[] {
  const part = context === 'querystring' ? 'query' : context;
  return errors.map((error) => {
    const path = (error.instancePath ?? '').split('/').filter(Boolean);
    const missing = error.params?.missingProperty;
    if (typeof missing === 'string') path.push(missing);
    const additional = error.params?.additionalProperty;
    if (typeof additional === 'string') path.push(additional);
    const field = path.length > 0 ? path.join('.') : (part ?? 'body');
    let message = error.message ?? 'is invalid';
    if (error.keyword === 'pattern' && error.params?.pattern === '^[1-9][0-9]{0,9}$') message = 'must be a positive integer written canonically, e.g. 42';
    if (error.keyword === 'enum' && Array.isArray(error.params?.allowedValues)) message = `must be one of ${error.params.allowedValues.join(', ')}`;
    return { field, message };
  });
}

function toAppError(error: FastifyError | Error): AppError | undefined {
  if (error instanceof AppError) return error;
  const fastifyError = error as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (Array.isArray(fastifyError.validation)) {
    const details = validationDetails(fastifyError.validation, fastifyError.validationContext);
    const summary = details.map((detail) => `${detail.field} ${detail.message}`).join('; ');
    return new AppError(400, 'validation_error', `Invalid request: ${summary}`, { details });
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError(400, 'invalid_json', 'The request body is not valid JSON');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError(413, 'payload_too_large', 'The request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new AppError(415, 'unsupported_media_type', 'Unsupported Content-Type for this route');
    case 'FST_REQ_FILE_TOO_LARGE':
      return new AppError(413, 'payload_too_large', 'A file is larger than the upload limit');
    case 'FST_FILES_LIMIT':
      return new AppError(413, 'payload_too_large', 'Too many files in one request');
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new AppError(413, 'payload_too_large', 'Too many form fields');
    case 'FST_PROTO_VIOLATION':
      return new AppError(400, 'validation_error', 'Malformed multipart form');
  }
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) {
    return new AppError(400, 'invalid_json', 'The request body is not valid JSON');
  }
  const fromDb = fromDatabaseError(error);
  if (fromDb) return fromDb;
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new AppError(status, CODE_BY_STATUS[status] ?? 'bad_request', fastifyError.message || 'Bad request');
  }
  return undefined;
}

async function errorsPlugin(app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    // A client that hung up mid-body: nobody is left to answer, and it is no outage.
    if (request.raw.aborted || (error.code === 'ECONNRESET' && /aborted/i.test(error.message))) {
      request.log.info({ code: error.code }, 'client closed the connection before its request was read');
      return send(reply, new AppError(400, 'request_aborted', 'The request was not received whole'));
    }
    const known = toAppError(error);
    if (known) {
      if (known.statusCode >= 500) request.log.warn({ err: error }, known.message);
      return send(reply, known);
    }
    request.log.error({ err: error }, 'unhandled error');
    return send(reply, new AppError(500, 'internal_error', 'Internal server error'));
  });

  app.setNotFoundHandler((request, reply) => send(reply, new AppError(404, 'not_found', `Route ${request.method} ${request.url.split('?')[0]} not found`)));
}

export default fp(errorsPlugin, { name: 'errors' });
