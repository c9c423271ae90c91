import { AssertionError } from 'node:assert';
import { Ajv, type ValidateFunction } from 'ajv';
import * as ajvFormats from 'ajv-formats';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';

/**
 * Checks responses against the OpenAPI document the app publishes. Several representations are
 * built outside Fastify's serializer (listings come from PostgreSQL as JSON text, ADR 0008), so
 * nothing at run time holds them to the document; this does, in the tests.
 *
 * The document's schemas are checked strictly: an object without an explicit
 * `additionalProperties` gets `additionalProperties: false`, so an undocumented key anywhere is a
 * failure, and `required` is kept as published (a TypeBox Optional is the only way to be absent).
 */

// ajv-formats ships CommonJS; its default export arrives wrapped under ESM.
const addFormats = ajvFormats.default as unknown as ajvFormats.FormatsPlugin;

type SchemaNode = Record<string, unknown>;

export interface OpenApiDocument {
  paths?: Record<string, Record<string, { operationId?: string; responses?: Record<string, { content?: Record<string, { schema?: SchemaNode }> }> }>>;
  components?: { schemas?: Record<string, SchemaNode> };
}

export interface CheckedResponse {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}

const COMPONENTS_ID = 'openapi-components';
const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace']);

const isObjectSchema = (node: Record<string, unknown>) => node.type === 'object' || (node.type === undefined && node.properties !== undefined);

/** A deep copy of `schema`, closed at every object level, its component refs pointed at Ajv's copy. */
export function strictSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strictSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    // `properties` maps names to schemas; its keys are not keywords and are copied as they are.
    if (key === 'properties' && value && typeof value === 'object' && !Array.isArray(value)) {
      copy[key] = Object.fromEntries(Object.entries(value).map(([name, property]) => [name, strictSchema(property)]));
    } else if (key === '$ref' && typeof value === 'string' && value.startsWith('#/components/schemas/')) {
      copy[key] = `${COMPONENTS_ID}#/definitions/${value.slice('#/components/schemas/'.length)}`;
    } else {
      copy[key] = strictSchema(value);
    }
  }
  // allOf branches each see only their own properties; closing them would reject every object.
  if (copy.allOf !== undefined) throw new Error('strictSchema: allOf cannot be closed branch by branch; merge the branches in the route schema');
  if (isObjectSchema(copy) && copy.additionalProperties === undefined && copy.patternProperties === undefined) copy.additionalProperties = false;
  return copy;
}

/** The concrete path's template among `templates`, static segments winning over parameters as in Fastify's router. */
export function matchPathTemplate(templates: Iterable<string>, path: string): string | undefined {
  const normalize = (value: string) => (value.length > 1 ? value.replace(/\/+$/, '') : value);
  const target = normalize(path);
  let best: { template: string; params: number } | undefined;
  for (const template of templates) {
    const names = template.match(/\{[^}]+\}/g) ?? [];
    const pattern = normalize(template)
      .split(/\{[^}]+\}/)
      .map((literal) => literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]+');
    if (!new RegExp(`^${pattern}$`).test(target)) continue;
    if (!best || names.length < best.params) best = { template, params: names.length };
  }
  return best?.template;
}

const mediaTypeOf = (headers: Record<string, unknown>) => {
  const value = headers['content-type'];
  return (typeof value === 'string' ? value : '').split(';')[0]!.trim().toLowerCase();
};
const isJson = (mediaType: string) => mediaType === 'application/json' || mediaType.endsWith('+json');

export interface ResponseChecker {
  /** Why `response` to `method path` does not match the document; empty when it does or the route is not documented. */
  problems(method: string, path: string, response: CheckedResponse): string[];
  /** Ajv's complaints about `body` as the documented JSON of that operation and status. */
  validate(method: string, path: string, status: number, body: unknown, mediaType?: string): string[];
}

export function createResponseChecker(document: OpenApiDocument): ResponseChecker {
  const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true });
  addFormats(ajv);
  // An annotation for clients (the list of codes), not a constraint: strict Ajv must be told so.
  ajv.addKeyword({ keyword: 'x-error-codes', schemaType: 'array' });
  ajv.addSchema({ $id: COMPONENTS_ID, definitions: strictSchema(document.components?.schemas ?? {}) });
  const paths = document.paths ?? {};
  const validators = new Map<string, ValidateFunction>();

  const operationOf = (method: string, path: string) => {
    const template = matchPathTemplate(Object.keys(paths), path.split('?')[0]!);
    const verb = method.toLowerCase();
    const operation = template !== undefined && METHODS.has(verb) ? paths[template]?.[verb] : undefined;
    return operation && template !== undefined ? { template, verb, operation } : undefined;
  };

  const errorValidator = ajv.compile({ $ref: `${COMPONENTS_ID}#/definitions/Error` });
  const errorEnvelope = (where: string, body: unknown) =>
    errorValidator(body)
      ? []
      : (errorValidator.errors ?? []).map((error) => `${where}: not the Error envelope: ${error.instancePath || '(body)'} ${error.message}`);

  const describe = (method: string, path: string, status: number, operationId: string | undefined) =>
    `${method.toUpperCase()} ${path} → ${status} (${operationId ?? 'no operationId'})`;

  const validate: ResponseChecker['validate'] = (method, path, status, body, mediaType = 'application/json') => {
    const found = operationOf(method, path);
    if (!found) return [`${method.toUpperCase()} ${path}: no operation in the OpenAPI document`];
    const where = describe(method, path, status, found.operation.operationId);
    const schema = found.operation.responses?.[String(status)]?.content?.[mediaType]?.schema;
    if (!schema) return [`${where}: the document has no ${mediaType} schema for this status`];
    const key = `${found.verb} ${found.template} ${status} ${mediaType}`;
    let check = validators.get(key);
    if (!check) {
      check = ajv.compile(strictSchema(schema) as object);
      validators.set(key, check);
    }
    if (check(body)) return [];
    return (check.errors ?? []).map(
      (error) => `${where}: ${error.instancePath || '(body)'} ${error.message}${error.params ? ` ${JSON.stringify(error.params)}` : ''}`,
    );
  };

  return {
    validate,
    problems(method, path, response) {
      if (method.toUpperCase() === 'HEAD') return [];
      const status = response.statusCode;
      const found = operationOf(method, path);
      const where = describe(method, path, status, found?.operation.operationId);
      const documented = found?.operation.responses?.[String(status)];
      const mediaType = mediaTypeOf(response.headers);
      if (!documented) {
        // Any route may give a platform error its operation does not list (413, 415, 429, 500,
        // 503, an unknown route's 404); the contract still promises the Error envelope for it.
        if (status >= 400)
          return mediaType === 'application/json'
            ? parsed(where, response.body, (body) => errorEnvelope(where, body))
            : [`${where}: an error served as ${mediaType}`];
        // Routes left out of the document on purpose (the document itself, uploaded files) are not checked.
        return found ? [`${where}: status not in the document`] : [];
      }
      const content = documented.content ?? {};
      if (response.body === '' && Object.keys(content).length === 0) return [];
      if (!(mediaType in content))
        return [`${where}: served as ${mediaType || 'no content type'}, documented as ${Object.keys(content).join(', ') || 'no content'}`];
      if (!isJson(mediaType)) return [];
      return parsed(where, response.body, (body) => validate(method, path, status, body, mediaType));
    },
  };
}

function parsed(where: string, text: string, check: (body: unknown) => string[]): string[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [`${where}: the body is not JSON`];
  }
  return check(body);
}

function requestLine(options: InjectOptions | string): { method: string; path: string } {
  if (typeof options === 'string') return { method: 'GET', path: options };
  const url = options.url ?? options.path;
  const path = typeof url === 'string' ? url : (url?.pathname ?? '/');
  return { method: options.method ?? 'GET', path };
}

type RawInject = (options: InjectOptions | string) => Promise<LightMyRequestResponse>;

/** Each guarded app's own inject, kept for uncheckedInject. */
const guarded = new WeakMap<FastifyInstance, RawInject>();

export const isGuarded = (app: FastifyInstance) => guarded.has(app);

/**
 * The app's inject without the check, for the one kind of response that is deliberately not the
 * document's: the legacy web client profile (src/plugins/legacy-client.ts), given only to listed
 * origins. Tests using it assert that legacy shape themselves, and make the same request from
 * another origin through the checked inject to show the contract is unchanged.
 */
export function uncheckedInject(app: FastifyInstance): RawInject {
  guardResponses(app);
  return guarded.get(app)!;
}

/**
 * From now on every `app.inject` of `app` (and so every `call`) rejects when its response does not
 * match the published document, failing the test that made the request. Idempotent.
 */
export function guardResponses(app: FastifyInstance): void {
  if (guarded.has(app)) return;
  const inject = app.inject.bind(app) as (...args: unknown[]) => unknown;
  guarded.set(app, (options) => inject(options) as Promise<LightMyRequestResponse>);
  // Built on first use: app.swagger() needs a ready app, and inject readies it.
  let checker: ResponseChecker | undefined;
  const injectChecked = (options?: InjectOptions | string, callback?: unknown) => {
    // The chain and callback forms are left alone; the suite uses neither.
    if (options === undefined || callback !== undefined) return inject(options, callback);
    return (inject(options) as Promise<LightMyRequestResponse>).then((response) => {
      const { method, path } = requestLine(options);
      checker ??= createResponseChecker(app.swagger() as OpenApiDocument);
      const problems = checker.problems(method, path, response);
      if (problems.length > 0) throw new AssertionError({ message: `The response does not match the published OpenAPI document:\n${problems.join('\n')}` });
      return response;
    });
  };
  app.inject = injectChecked as FastifyInstance['inject'];
}
