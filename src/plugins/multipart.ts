import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, validationError } from '../shared/errors.ts';

export interface UploadedFile {
  field: string;
  data: Buffer;
}

export interface MultipartForm {
  fields: Record<string, string>;
  files: UploadedFile[];
}

export interface MultipartLimits {
  /** Form fields that may carry files. */
  fileFields: readonly string[];
  maxFiles: number;
  maxFileBytes: number;
  /** The error for more than `maxFiles` files, if the route has a better one than 413. */
  tooManyFiles?: () => Error;
}

const MAX_FIELDS = 60;
const MAX_FIELD_BYTES = 100_000;

/**
 * Reads a multipart form with hard limits. Busboy counts bytes as they stream, so a file over
 * the limit is refused as soon as it passes it; a declared length beyond what the limits could
 * ever allow is refused before the first byte is read.
 */
export async function readMultipart(request: FastifyRequest, limits: MultipartLimits): Promise<MultipartForm> {
  const declared = Number(request.headers['content-length']);
  const ceiling = limits.maxFiles * limits.maxFileBytes + MAX_FIELDS * MAX_FIELD_BYTES;
  if (Number.isFinite(declared) && declared > ceiling) {
    throw new AppError(413, 'payload_too_large', `The upload is larger than ${Math.floor(ceiling / 1024 / 1024)} MB`);
  }
  const form: MultipartForm = { fields: {}, files: [] };
  try {
    // Busboy throws while it reads the headers (no or a wrong boundary), so this is inside the try.
    const parts = request.parts({
      limits: { fileSize: limits.maxFileBytes, files: limits.maxFiles, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES, parts: limits.maxFiles + MAX_FIELDS },
    });
    for await (const part of parts) {
      if (part.type === 'file') {
        if (!limits.fileFields.includes(part.fieldname)) {
          part.file.resume();
          throw validationError(part.fieldname, `is not a file field here (use ${limits.fileFields.join(' or ')})`);
        }
        form.files.push({ field: part.fieldname, data: await part.toBuffer() });
      } else {
        if (part.fieldnameTruncated || part.valueTruncated) throw validationError(part.fieldname, 'is too long');
        form.fields[part.fieldname] = String(part.value);
      }
    }
  } catch (error) {
    if ((error as { code?: string }).code === 'FST_FILES_LIMIT') throw limits.tooManyFiles?.() ?? error;
    // Busboy's own complaints (a missing or wrong boundary, a truncated body, a bad part header)
    // are plain Errors: the form is malformed, not the server.
    if (error instanceof Error && !(error instanceof AppError) && !(error as { code?: string }).code && /multipart|part header|boundary/i.test(error.message)) {
      throw new AppError(400, 'validation_error', 'The multipart form is malformed (missing or wrong boundary, or cut short)');
    }
    throw error;
  }
  return form;
}

async function multipartPlugin(app: FastifyInstance) {
  await app.register(multipart, { throwFileSizeLimit: true });
}

export default fp(multipartPlugin, { name: 'multipart' });
