import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildApp } from '../../src/app.ts';
import { buildTestApp, call, testConfig } from '../helpers/app.ts';
import { testDatabase } from '../helpers/database.ts';
import { createUser } from '../helpers/factories.ts';
import { smallJpeg } from '../helpers/images.ts';
import { createResponseChecker, guardResponses, isGuarded, matchPathTemplate, strictSchema, type OpenApiDocument } from '../helpers/response-schemas.ts';
import { createSpace } from '../helpers/spaces.ts';

const app = await buildTestApp();
const checker = createResponseChecker(app.swagger() as OpenApiDocument);
const owner = await createUser(app, { role: 'owner' });
const WESTLANDS = { latitude: -1.2676, longitude: 36.8108 };

const created = await createSpace(app, owner.token, { name: 'Checked Loft', ...WESTLANDS });
const form = new FormData();
form.append('images', new Blob([await smallJpeg()], { type: 'image/jpeg' }), 'photo.jpg');
const upload = await app.inject({
  method: 'POST',
  url: `/api/spaces/${created.id}/images`,
  headers: { authorization: `Bearer ${owner.token}` },
  payload: form,
});
assert.equal(upload.statusCode, 201, upload.body);

const listing = (await call(app, 'GET', `/api/spaces/${created.id}`)).body;
const page = (await call(app, 'GET', '/api/spaces', { query: { near: `${WESTLANDS.latitude},${WESTLANDS.longitude}`, radius_km: '1', per_page: '100' } })).body;

const checkSpace = (body: unknown) => checker.validate('GET', `/api/spaces/${created.id}`, 200, body);
/** A copy of the real listing with one change. */
const changed = (change: (space: any) => void) => {
  const copy = structuredClone(listing);
  change(copy);
  return copy;
};

describe('the response checker on a real listing', () => {
  it('accepts a listing with an image, alone and in a page found with near (with distance_km)', () => {
    assert.equal(listing.images.length, 1);
    assert.deepEqual(checkSpace(listing), []);
    const found = page.spaces.find((space: { id: number }) => space.id === created.id);
    assert.equal(typeof found.distance_km, 'number');
    assert.deepEqual(checker.validate('GET', '/api/spaces', 200, page), []);
  });

  it('rejects a Space with an extra property', () => {
    const problems = checkSpace(changed((space) => (space.secret = 'x')));
    assert.ok(
      problems.some((problem) => /additional properties.*"secret"/.test(problem)),
      problems.join('\n'),
    );
  });

  it('rejects a Space whose rating lacks count', () => {
    const problems = checkSpace(changed((space) => delete space.rating.count));
    assert.ok(
      problems.some((problem) => /\/rating must have required property 'count'/.test(problem)),
      problems.join('\n'),
    );
  });

  it('rejects an extra key inside owner', () => {
    const problems = checkSpace(changed((space) => (space.owner.email = 'owner@example.test')));
    assert.ok(
      problems.some((problem) => /\/owner must NOT have additional properties.*"email"/.test(problem)),
      problems.join('\n'),
    );
  });

  it('rejects an image without width', () => {
    const problems = checkSpace(changed((space) => delete space.images[0].width));
    assert.ok(
      problems.some((problem) => /\/images\/0 must have required property 'width'/.test(problem)),
      problems.join('\n'),
    );
  });

  it('rejects a wrong type, a null where none is allowed and a malformed date-time', () => {
    assert.ok(
      checkSpace(changed((space) => (space.price_per_hour = String(space.price_per_hour)))).some((problem) => /\/price_per_hour must be number/.test(problem)),
    );
    assert.ok(checkSpace(changed((space) => (space.rating.count = null))).some((problem) => /\/rating\/count must be integer/.test(problem)));
    assert.ok(
      checkSpace(changed((space) => (space.images[0].created_at = 'yesterday'))).some((problem) =>
        /\/images\/0\/created_at must match format "date-time"/.test(problem),
      ),
    );
  });

  it('rejects a missing property the schema does not mark optional; distance_km may be absent but is a number when present', () => {
    assert.ok(checkSpace(changed((space) => delete space.updated_at)).some((problem) => /must have required property 'updated_at'/.test(problem)));
    assert.equal(listing.distance_km, undefined);
    assert.ok(checkSpace(changed((space) => (space.distance_km = '0.5'))).some((problem) => /\/distance_km must be number/.test(problem)));
  });

  it('rejects a drifted Space inside a page, through the $ref to the component', () => {
    const drifted = structuredClone(page);
    drifted.spaces[0].owner.extra = true;
    const problems = checker.validate('GET', '/api/spaces', 200, drifted);
    assert.ok(
      problems.some((problem) => /\/spaces\/0\/owner must NOT have additional properties/.test(problem)),
      problems.join('\n'),
    );
  });
});

describe('a guarded app', () => {
  it('is every app buildTestApp builds, and every app call is given', async (t) => {
    assert.ok(isGuarded(app));
    const direct = await buildApp(testConfig(), { database: await testDatabase() });
    t.after(() => direct.close());
    assert.equal(isGuarded(direct), false);
    await call(direct, 'GET', '/health');
    assert.ok(isGuarded(direct));
  });

  it('fails the request whose response drifts from its documented schema, status, content type or the Error envelope', async (t) => {
    const drifting = await buildApp(testConfig(), { database: await testDatabase() });
    t.after(() => drifting.close());
    const sendText = (status: number, type: string, text: string) => async (_request: unknown, reply: any) => reply.status(status).type(type).send(text);
    // Sent as text, like the listing routes, so Fastify's serializer cannot drop the extra key.
    drifting.get('/api/drift', { schema: { response: { 200: { $ref: 'Space' } } } }, sendText(200, 'application/json', '{"id":1,"extra":true}'));
    drifting.get('/api/drift/status', { schema: { response: { 200: { $ref: 'Space' } } } }, sendText(202, 'application/json', '{}'));
    drifting.get('/api/drift/type', { schema: { response: { 200: { type: 'object' } } } }, sendText(200, 'text/plain', 'hello'));
    drifting.get('/api/drift/error', { schema: { response: { 200: { type: 'object' } } } }, sendText(418, 'application/json', '{"oops":true}'));
    await drifting.ready();
    guardResponses(drifting);

    await assert.rejects(
      drifting.inject({ method: 'GET', url: '/api/drift' }),
      /\(body\) must have required property 'name'[\s\S]*additional properties.*"extra"/,
    );
    await assert.rejects(call(drifting, 'GET', '/api/drift?page=1'), /additional properties/);
    await assert.rejects(drifting.inject('/api/drift/status'), /→ 202 .*status not in the document/);
    await assert.rejects(drifting.inject({ url: '/api/drift/type' }), /served as text\/plain, documented as application\/json/);
    await assert.rejects(drifting.inject({ url: '/api/drift/error' }), /→ 418 .*not the Error envelope/);
    assert.equal((await drifting.inject({ url: '/api/not-a-route' })).statusCode, 404, 'an unknown route answers with the Error envelope');
  });
});

describe('matchPathTemplate', () => {
  const templates = ['/api/spaces', '/api/spaces/mine', '/api/spaces/{id}', '/api/spaces/{id}/images/{image_id}', '/api/spaces/{id}/calendar.ics'];

  it('prefers a static segment over a parameter, as the router does', () => {
    assert.equal(matchPathTemplate(templates, '/api/spaces/mine'), '/api/spaces/mine');
    assert.equal(matchPathTemplate(templates, '/api/spaces/7'), '/api/spaces/{id}');
  });

  it('matches a trailing slash, several parameters and a literal suffix; nothing else', () => {
    assert.equal(matchPathTemplate(templates, '/api/spaces/'), '/api/spaces');
    assert.equal(matchPathTemplate(templates, '/api/spaces/7/images/9'), '/api/spaces/{id}/images/{image_id}');
    assert.equal(matchPathTemplate(templates, '/api/spaces/7/calendar.ics'), '/api/spaces/{id}/calendar.ics');
    assert.equal(matchPathTemplate(templates, '/api/spaces/7/calendarxics'), undefined);
    assert.equal(matchPathTemplate(templates, '/api/spaces/7/images'), undefined);
  });
});

describe('strictSchema', () => {
  it('closes every object level on a copy, keeping required and explicit additionalProperties', () => {
    const schema = {
      type: 'object',
      required: ['a'],
      properties: {
        a: { type: 'object', properties: { type: { type: 'string' } } },
        b: { anyOf: [{ type: 'object', additionalProperties: { type: 'string' } }, { type: 'null' }] },
      },
    };
    const original = structuredClone(schema);
    assert.deepEqual(strictSchema(schema), {
      type: 'object',
      required: ['a'],
      additionalProperties: false,
      properties: {
        a: { type: 'object', additionalProperties: false, properties: { type: { type: 'string' } } },
        b: { anyOf: [{ type: 'object', additionalProperties: { type: 'string' } }, { type: 'null' }] },
      },
    });
    assert.deepEqual(schema, original);
  });
});
