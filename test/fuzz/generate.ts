import fc from 'fast-check';
import { resolve, type OpenApi, type Operation, type Schema } from './operations.ts';
import { multipart, ROLES, type RoleName, type World } from './world.ts';

/**
 * Requests built from the document's schemas with fast-check: first a value the schema allows
 * (ids drawn from real rows, times around the seeded bookings), then, most of the time, one
 * mutation of the kind an attacker or a broken client sends.
 */

export interface FuzzRequest {
  operation: Operation;
  role: RoleName;
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
  /** What was done to the valid request, for the report. */
  mutation: string;
}

const HOUR = 3_600_000;

export const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  "' OR '1'='1",
  '1; DROP TABLE users;--',
  '<script>alert(1)</script>',
  '${7*7}',
  '{{7*7}}',
  '../../../etc/passwd',
  '%00',
  '%',
  '\ud800',
  '\udfff\ud800',
  '💥🏠',
  'é',
  'e\u0301',
  '\u202egnp.exe',
  '\u200b',
  '\uFEFF1',
  'null',
  'NaN',
  'Infinity',
  '-1',
  '0',
  '1e309',
  '0x10',
  '07',
  '+7',
  '7.0',
  '7e0',
  '１２',
  'true',
  '[]',
  '{}',
  '2027-02-29T10:00:00Z',
  '2027-13-01T00:00:00Z',
  '2027-06-01T24:00:00Z',
  '2027-06-31T10:00:00Z',
  '2027-06-01T10:00:00',
  '2027-06-01',
  '9999-12-31T23:30:00-02:00',
  '0000-12-31T00:00:00Z',
  '+275760-09-13T00:00:00Z',
  '2030-01-01T10:00:00.123456789Z',
  '2030-01-01T10:00:00+25:00',
  '2030-01-01T10:60:00Z',
  'Africa/Atlantis',
  '../UTC',
  'x'.repeat(10_000),
  'é'.repeat(3000),
  '0712345678000000000000',
  '4242424242424242',
];

const deep = (depth: number): unknown => (depth === 0 ? 1 : { a: deep(depth - 1) });
const HOSTILE_VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  -0,
  0.5,
  1.005,
  2_147_483_648,
  2 ** 53,
  -(2 ** 53),
  1e308,
  -1e308,
  [],
  [1, 'a'],
  {},
  { a: 1 },
  deep(40),
  Array(2000).fill('a'),
];

const PRIVILEGED = {
  role: 'admin',
  owner_id: 1,
  is_verified: true,
  is_active: true,
  status: 'confirmed',
  total_price: 0.01,
  amount: 0.01,
  user_id: 1,
  payment_status: 'paid',
  refunded_amount: 99,
};

export const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_VALUES) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

export interface Context {
  document: OpenApi;
  world: () => World;
  callbackToken: string;
}

/** A pick from a pool read when the value is drawn, so ids created during the run are used too. */
const fromPool = (pool: () => number[], fallback: fc.Arbitrary<number>) =>
  fc.tuple(fc.nat(), fallback).map(([n, other]) => {
    const ids = pool();
    return ids.length > 0 ? ids[n % ids.length]! : other;
  });

function idArbitrary(context: Context, name: string, path: string): fc.Arbitrary<number> {
  const pools = () => context.world().pools;
  const missing = fc.constantFrom(2_147_483_647, 999_999, 1);
  const pool = (() => {
    if (name === 'image_id') return () => pools().images;
    if (name === 'space_id') return () => pools().spaces;
    if (name === 'booking_id') return () => pools().bookings;
    if (name === 'owner_id' || name === 'user_id') return () => pools().users;
    if (name === 'payment_method_id') return () => pools().paymentMethods;
    if (path.includes('payment-methods')) return () => pools().paymentMethods;
    if (path.startsWith('/api/users')) return () => pools().users;
    if (path.startsWith('/api/spaces')) return () => pools().spaces;
    if (path.startsWith('/api/bookings')) return () => pools().bookings;
    if (path.startsWith('/api/payments')) return () => pools().payments;
    return () => [];
  })();
  return fc.oneof({ weight: 6, arbitrary: fromPool(pool, missing) }, { weight: 1, arbitrary: missing });
}

/** Whole hours around the seeded bookings, sometimes off the hour, sometimes with an offset. */
function timeArbitrary(context: Context): fc.Arbitrary<string> {
  return fc
    .tuple(fc.integer({ min: -3 * 24, max: 20 * 24 }), fc.constantFrom(0, 0, 0, 30, 17), fc.constantFrom('Z', 'Z', '+03:00', '.000Z'))
    .map(([hours, minutes, zone]) => {
      const instant = new Date(context.world().base + hours * HOUR + minutes * 60_000);
      const iso = instant.toISOString();
      if (zone === '.000Z') return iso;
      if (zone === 'Z') return `${iso.slice(0, 19)}Z`;
      return `${new Date(instant.getTime() + 3 * HOUR).toISOString().slice(0, 19)}+03:00`;
    });
}

const NAMED: Record<string, fc.Arbitrary<unknown>> = {
  timezone: fc.constantFrom('Africa/Nairobi', 'Europe/London', 'UTC', 'America/New_York', 'Asia/Kolkata'),
  currency: fc.constantFrom('KES', 'USD', 'EUR', 'JPY'),
  phone_number: fc.constantFrom('0712345678', '+254712345678', '254 712 345 678', '0112345678', '0712345000'),
  provider_token: fc.constantFrom('pm_card_visa', 'tok_visa'),
  near: fc.constantFrom('-1.28,36.82', '-4.05,39.66', '0,0', '90,180'),
  amenities: fc.constantFrom('wifi', 'wifi,projector', 'parking'),
  avatar_url: fc.constantFrom('https://example.test/a.png', 'http://cdn.example.test/x.jpg'),
  image_url: fc.constantFrom('https://example.test/a.png'),
};

function stringArbitrary(schema: Schema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 60, Math.max(min, 60));
  const within = (value: string) => value.length >= min && value.length <= (schema.maxLength ?? Infinity);
  if (typeof schema.pattern === 'string') {
    try {
      return fc.stringMatching(new RegExp(schema.pattern)).filter(within);
    } catch {
      // A pattern fast-check cannot invert falls back to free text, which the server must refuse cleanly anyway.
    }
  }
  return fc.string({
    minLength: min,
    maxLength: max,
    unit: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz ABC0123456789-_.') },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
    ),
  });
}

/** A value `schema` allows, guided by the property's name where the schema alone says too little. */
export function valueArbitrary(context: Context, schema: Schema, name: string, path: string, depth = 0): fc.Arbitrary<unknown> {
  const node = resolve(context.document, schema);
  if (depth > 6) return fc.constant(null);
  if (Array.isArray(node.anyOf) || Array.isArray(node.oneOf))
    return fc.oneof(...(node.anyOf ?? node.oneOf).map((branch: Schema) => valueArbitrary(context, branch, name, path, depth + 1)));
  if (Array.isArray(node.enum)) return fc.constantFrom(...node.enum);
  if ('const' in node) return fc.constant(node.const);
  const type = Array.isArray(node.type) ? node.type[0] : node.type;
  if (name in NAMED && (type === 'string' || type === undefined)) return NAMED[name]!;
  switch (type) {
    case 'string':
      if (node.format === 'date-time') return timeArbitrary(context);
      if (node.format === 'email')
        return fc.oneof(
          fc.constant('nobody@example.test'),
          fc.emailAddress().filter((email) => email.length <= 254),
          fc.constantFrom(...roleEmails(context)),
        );
      if (node.format === 'uri') return fc.constantFrom('https://example.test/a.png', 'http://localhost/b');
      if (name === 'token' && path.includes('callback')) return fc.constant(context.callbackToken);
      if (name === 'refresh_token') return refreshToken(context);
      if (/password/.test(name)) return fc.constantFrom('Passw0rd!', 'N3w-passw0rd', 'short1', 'nodigitshere');
      return stringArbitrary(node);
    case 'integer': {
      if (node['x-canonical'] === true) return idArbitrary(context, name, path);
      const min = node.minimum ?? (node.exclusiveMinimum !== undefined ? node.exclusiveMinimum + 1 : -1000);
      const max = node.maximum ?? (node.exclusiveMaximum !== undefined ? node.exclusiveMaximum - 1 : 1000);
      return fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min, max: Math.min(max, min + 50) }) },
        { weight: 1, arbitrary: fc.constantFrom(min, max) },
        { weight: 1, arbitrary: fc.integer({ min, max }) },
      );
    }
    case 'number': {
      const min = node.minimum ?? node.exclusiveMinimum ?? -1000;
      const max = node.maximum ?? node.exclusiveMaximum ?? 1_000_000;
      return fc
        .integer({ min: Math.ceil(min * 100), max: Math.floor(max * 100) })
        .map((cents) => cents / 100)
        .filter((value) => node.exclusiveMinimum === undefined || value > node.exclusiveMinimum);
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const items = node.items ? valueArbitrary(context, node.items, name, path, depth + 1) : fc.jsonValue({ maxDepth: 1 });
      return fc.array(items, { minLength: node.minItems ?? 0, maxLength: Math.min(node.maxItems ?? 3, Math.max(node.minItems ?? 0, 3)) });
    }
    case 'object':
    case undefined: {
      const properties: Record<string, Schema> = node.properties ?? {};
      if (Object.keys(properties).length === 0) {
        if (node.additionalProperties && typeof node.additionalProperties === 'object') {
          return fc.dictionary(
            fc.constantFrom('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun', 'x'),
            valueArbitrary(context, node.additionalProperties, name, path, depth + 1),
            { maxKeys: 3 },
          );
        }
        return type === 'object' ? fc.constant({}) : fc.jsonValue({ maxDepth: 2 });
      }
      const shape = Object.fromEntries(Object.entries(properties).map(([key, property]) => [key, valueArbitrary(context, property, key, path, depth + 1)]));
      return fc.record(shape, { requiredKeys: (node.required ?? []).filter((key: string) => key in shape) });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function roleEmails(context: Context): string[] {
  const emails = Object.values(context.world().users).map((user) => user.email);
  return emails.length > 0 ? emails : ['nobody@example.test'];
}

function refreshToken(context: Context): fc.Arbitrary<string> {
  return fc.nat().map((n) => {
    const users = Object.values(context.world().users);
    const user = users[n % users.length]!;
    return n % 3 === 0 ? user.token : user.refreshToken;
  });
}

/** Times that make sense together (end after start) more often than independent draws would. */
function pairTimes(value: Record<string, unknown>, hours: number) {
  for (const [from, to] of [
    ['start_time', 'end_time'],
    ['from', 'to'],
    ['available_from', 'available_to'],
  ] as const) {
    const start = value[from];
    if (typeof start === 'string' && to in value) {
      const parsed = Date.parse(start);
      if (!Number.isNaN(parsed)) value[to] = new Date(parsed + hours * HOUR).toISOString();
    }
  }
}

const encodeQuery = (query: Array<[string, unknown]>) =>
  query.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(typeof value === 'string' ? value : JSON.stringify(value))}`).join('&');

const NON_CANONICAL_IDS = [
  '07',
  '+7',
  '7.0',
  '0x7',
  '7e0',
  '-1',
  '0',
  '2147483648',
  '99999999999999999999',
  '%20',
  'abc',
  '1,2',
  '%E2%80%8B1',
  '１',
  '1%00',
  '%2e%2e',
  '%',
  '1'.repeat(300),
];

const MALFORMED_JSON = [
  '{',
  '{"a":',
  '{"a":1,}',
  "{'a':1}",
  'nul',
  '[1,2',
  '{"a":"\\u00"}',
  '\u0000',
  '{"a":1}{"b":2}',
  'undefined',
  '{"__proto__":{"role":"admin"},"constructor":{"prototype":{"x":1}}}',
];
const CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'application/x-www-form-urlencoded',
  'application/json; charset=latin1',
  'application/json-patch+json',
  'multipart/form-data',
  'image/png',
  'application/octet-stream',
  '',
];

type Mutation = { kind: string; pick: number; value: unknown };

const mutationArbitrary: fc.Arbitrary<Mutation | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constantFrom(
        'body-field',
        'body-field',
        'body-field',
        'body-drop-required',
        'body-privileged',
        'body-replace',
        'body-malformed',
        'body-content-type',
        'body-empty-json',
        'body-deep',
        'path',
        'path',
        'query',
        'query',
        'query-duplicate',
        'query-unknown',
        'header-idempotency',
        'header-authorization',
        'multipart',
        'multipart',
      ),
      pick: fc.nat(),
      value: hostile,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('body-huge'), pick: fc.nat(), value: fc.constant(null) }) },
);

export interface Draw {
  role: RoleName;
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  headers: Record<string, unknown>;
  body: unknown;
  mediaType: string | undefined;
  hours: number;
  pairTimes: boolean;
  mutation: Mutation | undefined;
  idempotencyKey: string;
}

function objectOf(context: Context, operation: Operation, where: 'path' | 'query' | 'header'): fc.Arbitrary<Record<string, unknown>> {
  const parameters = operation.parameters.filter((parameter) => parameter.in === where);
  const shape = Object.fromEntries(parameters.map((parameter) => [parameter.name, valueArbitrary(context, parameter.schema, parameter.name, operation.path)]));
  return fc.record(shape, { requiredKeys: parameters.filter((parameter) => parameter.required).map((parameter) => parameter.name) });
}

/** One draw for `operation`: its valid parts, the caller, and the mutation to apply (if any). */
export function drawArbitrary(context: Context, operation: Operation): fc.Arbitrary<Draw> {
  const mediaTypes = Object.keys(operation.bodies);
  const jsonSchema = operation.bodies['application/json'];
  const body = jsonSchema ? valueArbitrary(context, jsonSchema, 'body', operation.path) : fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined, freq: 2 });
  return fc.record({
    role: fc.constantFrom(...ROLES),
    params: objectOf(context, operation, 'path'),
    query: objectOf(context, operation, 'query'),
    headers: objectOf(context, operation, 'header'),
    body,
    mediaType: mediaTypes.length > 0 ? fc.constantFrom(...mediaTypes) : fc.constant(undefined),
    hours: fc.constantFrom(1, 2, 3, 25, -1, 0),
    pairTimes: fc.boolean(),
    mutation: mutationArbitrary,
    idempotencyKey: fc.constantFrom('k1', 'k2', 'k3', 'fuzz-key'),
  });
}

function mutateValue(value: Record<string, unknown>, mutation: Mutation, keys: string[]) {
  if (keys.length === 0) return false;
  value[keys[mutation.pick % keys.length]!] = mutation.value;
  return true;
}

/** The concrete request for a draw. */
export function buildRequest(context: Context, operation: Operation, draw: Draw): FuzzRequest {
  const world = context.world();
  const mutation = draw.mutation;
  let applied = 'none';
  const params = { ...draw.params } as Record<string, unknown>;
  const query = { ...draw.query } as Record<string, unknown>;
  let body: unknown = draw.body && typeof draw.body === 'object' && !Array.isArray(draw.body) ? { ...draw.body } : draw.body;
  if (draw.pairTimes) {
    pairTimes(query, draw.hours);
    if (body && typeof body === 'object' && !Array.isArray(body)) pairTimes(body as Record<string, unknown>, draw.hours);
  }
  const headers: Record<string, string> = {};
  const user = draw.role === 'anonymous' ? undefined : world.users[draw.role];
  if (user) headers.authorization = `Bearer ${user.token}`;
  const idempotency = draw.headers['idempotency-key'];
  if (typeof idempotency === 'string') headers['idempotency-key'] = draw.idempotencyKey;

  let payload: string | Buffer | undefined;
  const rawPath: Record<string, string> = {};
  let queryPairs: Array<[string, unknown]> = Object.entries(query);
  const multipartType = draw.mediaType === 'multipart/form-data';
  const mediaType = draw.mediaType ?? (body !== undefined ? 'application/json' : undefined);

  switch (mutation?.kind) {
    case 'body-field':
      if (
        body &&
        typeof body === 'object' &&
        !Array.isArray(body) &&
        mutateValue(body as Record<string, unknown>, mutation, Object.keys(jsonProperties(context, operation)))
      )
        applied = 'body field';
      break;
    case 'body-drop-required': {
      const required: string[] = resolve(context.document, operation.bodies['application/json'] ?? {}).required ?? [];
      if (body && typeof body === 'object' && required.length > 0) {
        delete (body as Record<string, unknown>)[required[mutation.pick % required.length]!];
        applied = 'required field dropped';
      }
      break;
    }
    case 'body-privileged':
      body = { ...(body && typeof body === 'object' && !Array.isArray(body) ? body : {}), ...PRIVILEGED };
      applied = 'privileged fields';
      break;
    case 'body-replace':
      body = mutation.value;
      applied = 'body replaced';
      break;
    case 'body-malformed':
      payload = MALFORMED_JSON[mutation.pick % MALFORMED_JSON.length]!;
      headers['content-type'] = 'application/json';
      applied = 'malformed JSON';
      break;
    case 'body-content-type':
      payload = JSON.stringify(body ?? {});
      headers['content-type'] = CONTENT_TYPES[mutation.pick % CONTENT_TYPES.length]!;
      applied = 'wrong content type';
      break;
    case 'body-empty-json':
      payload = mutation.pick % 2 === 0 ? '' : '   ';
      headers['content-type'] = 'application/json';
      applied = 'empty JSON body';
      break;
    case 'body-deep':
      payload = `${'['.repeat(40 + (mutation.pick % 5000))}${']'.repeat(40 + (mutation.pick % 5000))}`;
      if (mutation.pick % 2 === 0) payload = `{"a":${payload}}`;
      headers['content-type'] = 'application/json';
      applied = 'deep JSON';
      break;
    case 'body-huge':
      payload = JSON.stringify({ ...(typeof body === 'object' && body ? body : {}), pad: 'x'.repeat(1024 * 1024 + 10) });
      headers['content-type'] = 'application/json';
      applied = 'huge body';
      break;
    case 'path': {
      const names = Object.keys(params);
      if (names.length > 0) {
        const name = names[mutation.pick % names.length]!;
        const spelling = mutation.pick % 3 === 0 ? String(mutation.value) : NON_CANONICAL_IDS[mutation.pick % NON_CANONICAL_IDS.length]!;
        rawPath[name] = /^[0-9a-zA-Z%.+,-]*$/.test(spelling) ? spelling : encodeURIComponent(spelling.replace(/[\ud800-\udfff]/g, '?'));
        if (rawPath[name] === '') rawPath[name] = '%20';
        applied = `path ${name}`;
      }
      break;
    }
    case 'query': {
      const names = operation.parameters.filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name);
      if (names.length > 0) {
        const name = names[mutation.pick % names.length]!;
        query[name] = typeof mutation.value === 'string' ? mutation.value.replace(/[\ud800-\udfff]/g, '?') : mutation.value;
        queryPairs = Object.entries(query);
        applied = `query ${name}`;
      }
      break;
    }
    case 'query-duplicate':
      if (queryPairs.length > 0) {
        queryPairs = [...queryPairs, queryPairs[mutation.pick % queryPairs.length]!];
        applied = 'duplicate query';
      }
      break;
    case 'query-unknown':
      queryPairs = [...queryPairs, ['__proto__', 'x'], ['constructor', '1'], ['page[]', '2']];
      applied = 'unknown query';
      break;
    case 'header-idempotency': {
      const keys = ['', ' ', 'a b', 'x'.repeat(300), 'é', '\t', 'k1', '\u0000'];
      headers['idempotency-key'] = keys[mutation.pick % keys.length]!;
      applied = 'idempotency key';
      break;
    }
    case 'header-authorization': {
      const others = Object.values(world.users);
      const other = others[mutation.pick % others.length]!;
      const values = [
        'Bearer',
        'Bearer ',
        'Bearer x.y.z',
        'Basic YTpi',
        `Bearer ${other.refreshToken}`,
        `bearer ${other.token}`,
        `Bearer ${other.token}x`,
        `Bearer ${'a'.repeat(9000)}`,
        'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.',
      ];
      headers.authorization = values[mutation.pick % values.length]!;
      applied = 'authorization';
      break;
    }
    case 'multipart': {
      const built = hostileMultipart(world, mutation);
      payload = built.payload;
      headers['content-type'] = built.type;
      applied = `multipart ${built.what}`;
      break;
    }
    case undefined:
    default:
      break;
  }

  if (payload === undefined && multipartType && !mutation?.kind.startsWith('body')) {
    const built = validMultipart(context, operation, world, body);
    payload = built.payload;
    headers['content-type'] = built.type;
  } else if (payload === undefined && body !== undefined && mediaType) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }

  let url = operation.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    if (name in rawPath) return rawPath[name]!;
    const value = params[name];
    return value === undefined ? '1' : encodeURIComponent(typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value));
  });
  if (queryPairs.length > 0) url += `?${encodeQuery(queryPairs)}`;
  return { operation, role: draw.role, method: operation.method, url, headers, ...(payload !== undefined ? { payload } : {}), mutation: applied };
}

function jsonProperties(context: Context, operation: Operation): Record<string, Schema> {
  return resolve(context.document, operation.bodies['application/json'] ?? {}).properties ?? {};
}

/** The operation's own form: its fields as text, its file fields with a real PNG. */
function validMultipart(context: Context, operation: Operation, world: World, body: unknown) {
  const schema = resolve(context.document, operation.bodies['multipart/form-data'] ?? {});
  const parts: Array<{ name: string; filename?: string; type?: string; data: Buffer | string }> = [];
  for (const [name, property] of Object.entries<Schema>(schema.properties ?? {})) {
    const binary = property.format === 'binary' || property.items?.format === 'binary';
    if (binary) parts.push({ name, filename: 'photo.png', type: 'image/png', data: world.png });
  }
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    for (const [name, value] of Object.entries(body)) {
      if (!(name in (schema.properties ?? {}))) continue;
      parts.push({ name, data: typeof value === 'string' ? value : JSON.stringify(value) });
    }
  }
  return { type: 'multipart/form-data; boundary=fuzzform', payload: multipart('fuzzform', parts) };
}

function hostileMultipart(world: World, mutation: Mutation) {
  const file = (name: string, data: Buffer | string, type = 'image/png', filename = 'a.png') => ({ name, filename, type, data });
  const choices: Array<() => { what: string; type: string; payload: Buffer }> = [
    () => ({
      what: 'text as image',
      type: 'multipart/form-data; boundary=b',
      payload: multipart('b', [file('images', 'not an image at all'), file('avatar', 'not an image at all'), file('image', 'GIF89a')]),
    }),
    () => ({
      what: 'truncated png',
      type: 'multipart/form-data; boundary=b',
      payload: multipart('b', [file('images', world.png.subarray(0, 40)), file('avatar', world.png.subarray(0, 40))]),
    }),
    () => ({ what: 'no boundary', type: 'multipart/form-data', payload: multipart('b', [file('images', world.png)]) }),
    () => ({ what: 'wrong boundary', type: 'multipart/form-data; boundary=zzz', payload: multipart('b', [file('images', world.png)]) }),
    () => ({ what: 'cut short', type: 'multipart/form-data; boundary=b', payload: multipart('b', [file('images', world.png)], false) }),
    () => ({
      what: 'many parts',
      type: 'multipart/form-data; boundary=b',
      payload: multipart(
        'b',
        Array.from({ length: 60 }, (_, i) => ({ name: `f${i}`, data: 'x' })),
      ),
    }),
    () => ({
      what: 'hostile fields',
      type: 'multipart/form-data; boundary=b',
      payload: multipart('b', [
        { name: 'name', data: typeof mutation.value === 'string' ? mutation.value : JSON.stringify(mutation.value) },
        { name: 'price_per_hour', data: '1e400' },
        { name: 'capacity', data: '-0' },
        { name: 'amenities', data: '[[[[' },
        { name: 'operating_hours', data: '{"mon":[["25:00","26:00"]]}' },
        file('images', world.png),
      ]),
    }),
    () => ({
      what: 'odd file names',
      type: 'multipart/form-data; boundary=b',
      payload: multipart('b', [file('images', world.png, 'text/html', '../../etc/passwd\u0000.png'), file('avatar', world.png, '', '')]),
    }),
    () => ({ what: 'empty', type: 'multipart/form-data; boundary=b', payload: Buffer.from('--b--\r\n') }),
    () => ({
      what: 'svg',
      type: 'multipart/form-data; boundary=b',
      payload: multipart('b', [
        file('images', '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 'image/svg+xml', 'a.svg'),
        file('avatar', '<svg/>', 'image/svg+xml', 'a.svg'),
      ]),
    }),
  ];
  return choices[mutation.pick % choices.length]!();
}
