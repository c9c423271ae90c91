import { Ajv, type Options, type SchemaValidateFunction } from 'ajv';
import * as ajvFormats from 'ajv-formats';
import type { FastifyInstance, FastifyRequest, FastifySchema, FastifySchemaCompiler } from 'fastify';
import fp from 'fastify-plugin';
import type { Static, TSchema } from 'typebox';
import { AppError } from '../shared/errors.ts';
import { CANONICAL_ID_MARK } from '../shared/schemas.ts';
import { parseInstant } from '../shared/time.ts';
import { validationDetails } from './errors.ts';
import type { SchemaBuilds } from './schema-builds.ts';

// ajv-formats ships CommonJS; its default export arrives wrapped under ESM.
const addFormats = ajvFormats.default as unknown as ajvFormats.FormatsPlugin;

const common: Options = { allErrors: true, useDefaults: true, removeAdditional: false, strict: false, allowUnionTypes: true };

/** Request times: only what parseInstant reads as a real instant, so `new Date(value)` agrees. */
const dateTime = { type: 'string' as const, validate: (value: string) => parseInstant(value) !== undefined };

function withFormats(ajv: Ajv) {
  addFormats(ajv);
  ajv.addFormat('date-time', dateTime);
  return ajv;
}

const CANONICAL_ID = '^[1-9][0-9]{0,9}$';

/**
 * Ids in paths and query strings are text, and Ajv's coercion would read `0x10`, `+5`, `05`,
 * `4e1` or ` 5` as numbers, each naming some row. An `Id` there must be written canonically; it
 * is checked as text, then turned into the number the handler sees.
 */
function canonicalIds(schema: unknown): unknown {
  const object = schema as { properties?: Record<string, Record<string, unknown>> };
  if (!object.properties) return schema;
  const properties = Object.fromEntries(
    Object.entries(object.properties).map(([name, property]) =>
      property[CANONICAL_ID_MARK] ? [name, { type: 'string', pattern: CANONICAL_ID, canonicalId: property.maximum ?? 2_147_483_647 }] : [name, property],
    ),
  );
  return { ...object, properties };
}

function addCanonicalIdKeyword(ajv: Ajv) {
  const canonicalId: SchemaValidateFunction = (maximum: number, data: string, _parent, context) => {
    const value = Number(data);
    if (value > maximum) {
      canonicalId.errors = [{ keyword: 'canonicalId', message: `must be at most ${maximum}`, params: { maximum } }];
      return false;
    }
    if (context) (context.parentData as Record<string | number, unknown>)[context.parentDataProperty] = value;
    return true;
  };
  ajv.addKeyword({ keyword: 'canonicalId', type: 'string', schemaType: 'number', modifying: true, errors: true, validate: canonicalId });
  return ajv;
}

function strictAjv() {
  return withFormats(new Ajv({ ...common, coerceTypes: false }));
}

let formAjv: Ajv | undefined;

/**
 * Validates data that did not arrive as a JSON body (multipart form fields, turned into typed
 * values first) against a body schema, with the same rules and error details as a JSON body.
 */
export function bodyValidator<T extends TSchema>(schema: T): (data: unknown) => Static<T> {
  formAjv ??= strictAjv();
  const validate = formAjv.compile(schema);
  return (data) => {
    if (validate(data)) return data as Static<T>;
    const details = validationDetails(validate.errors ?? [], 'body');
    throw new AppError(400, 'validation_error', `Invalid request: ${details.map((d) => `${d.field} ${d.message}`).join('; ')}`, { details });
  };
}

/**
 * A preValidation hook that puts a lenient field (`lenientLiteral`: any letter case, aliases) in
 * its canonical spelling, so the handler, the service and the database see one spelling. A value
 * that stands for nothing is left as sent, for validation to refuse.
 */
export const canonicalize = (part: 'body' | 'query', field: string, canonical: (value: string) => string | undefined) => async (request: FastifyRequest) => {
  const container: unknown = request[part];
  if (container === null || typeof container !== 'object' || Array.isArray(container)) return;
  const fields = container as Record<string, unknown>;
  const value = fields[field];
  if (typeof value !== 'string') return;
  const found = canonical(value);
  if (found !== undefined) fields[field] = found;
};

/**
 * Query strings and path parameters arrive as text, so they are coerced ("5" → 5); JSON bodies
 * are typed already and are held to their types ("5" is not a number).
 */
async function validationPlugin(app: FastifyInstance, { builds }: { builds: SchemaBuilds }) {
  const lenient = addCanonicalIdKeyword(withFormats(new Ajv({ ...common, coerceTypes: 'array' })));
  const strict = strictAjv();
  app.setValidatorCompiler((route) => lazyValidator(builds, () => compile(route)));
  function compile({ schema, httpPart }: Parameters<FastifySchemaCompiler<FastifySchema>>[0]) {
    if (httpPart !== 'body') return lenient.compile(canonicalIds(schema) as object);
    const validate = strict.compile(schema);
    const required = (schema as { required?: unknown[] }).required;
    if (required && required.length > 0) return validate;
    // A body whose every field is optional may be left out altogether (Fastify passes an absent body as null).
    const optionalBody = (data: unknown) => {
      if (data === undefined || data === null) {
        optionalBody.errors = null;
        // Fastify stores `value` as the body, so handlers always see an object.
        return { value: {} };
      }
      const valid = validate(data);
      optionalBody.errors = validate.errors;
      return valid;
    };
    optionalBody.errors = null as typeof validate.errors;
    return optionalBody;
  }
}

type Validate = ReturnType<FastifySchemaCompiler<FastifySchema>>;

/** A check compiled on its first use (SchemaBuilds). Fastify reads a failed check's `errors` off the function it was given. */
function lazyValidator(builds: SchemaBuilds, build: () => Validate): Validate {
  const validator = builds.lazy(build);
  const lazy = (data: unknown, context?: unknown) => {
    const validate = validator() as (data: unknown, context?: unknown) => ReturnType<Validate>;
    const result = validate(data, context);
    lazy.errors = (validate as Validate).errors;
    return result;
  };
  lazy.errors = null as Validate['errors'];
  // Fastify passes an Ajv function its parent data (so Ajv may replace a coerced root value) only
  // when it sees Ajv's `schemaEnv`; the wrapper passes it on to whatever it builds.
  return Object.assign(lazy, { schemaEnv: true });
}

export default fp(validationPlugin, { name: 'validation' });
