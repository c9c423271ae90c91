import assert from 'node:assert/strict';
import type { CallResult } from './app.ts';

/** What no error body may show: SQL, stack frames, file paths, password hashes. */
export const LEAKS = /select |insert |update |node_modules|\/work\/|\bat \/|\bat .+\.ts:\d+|password_hash|passwordhash|\$2[aby]\$/i;

/**
 * The contract's error envelope: the status, JSON, a `code` (the given one), a non-empty `error`
 * repeated as `message`, and nothing internal.
 */
export function assertError(response: CallResult, status: number, code?: string) {
  assert.equal(response.status, status, response.raw);
  assert.match(String(response.headers['content-type']), /^application\/json/);
  if (code) assert.equal(response.body.code, code, response.raw);
  assert.equal(typeof response.body.code, 'string');
  assert.equal(typeof response.body.error, 'string');
  assert.ok(response.body.error.length > 0);
  assert.equal(response.body.message, response.body.error);
  assert.doesNotMatch(response.raw, LEAKS);
}

/** A 400 validation_error whose details name one of `fields`. */
export function assertInvalidField(response: CallResult, ...fields: string[]) {
  assertError(response, 400, 'validation_error');
  assert.ok(Array.isArray(response.body.details), 'details is a list');
  assert.ok(
    response.body.details.some((detail: { field: string }) => fields.includes(detail.field)),
    `details name ${fields.join(' or ')}: ${JSON.stringify(response.body.details)}`,
  );
}
