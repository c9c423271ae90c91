import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Type } from 'typebox';
import { buildApp } from '../../src/app.ts';
import { testConfig } from '../helpers/app.ts';
import { testDatabase } from '../helpers/database.ts';

// Route schemas are compiled on first use (src/plugins/schema-builds.ts), so a broken one would
// not stop the start; compileAllSchemas is how a test still finds it.
const database = await testDatabase();

async function appWith(extraRoute?: (app: Awaited<ReturnType<typeof buildApp>>) => void) {
  const app = await buildApp(testConfig(), { database });
  extraRoute?.(app);
  await app.ready();
  after(() => app.close());
  return app;
}

describe('route schemas compiled on first use', () => {
  it('every schema of every route compiles, at least a request check and an answer per route', async () => {
    const app = await appWith();
    const builds = app.compileAllSchemas();
    assert.ok(builds >= app.routeTable.length * 2, `${builds} schema builds for ${app.routeTable.length} routes`);
    assert.equal(app.compileAllSchemas(), builds, 'compiling again builds nothing new');
  });

  it('a route with a schema Ajv refuses is found by compiling them all', async () => {
    const app = await appWith((instance) => {
      instance.get('/broken', { schema: { querystring: { type: 'object', properties: { n: { type: 'not-a-type' } } } } }, async () => ({}));
    });
    assert.throws(() => app.compileAllSchemas(), /not-a-type|type must be/);
  });

  it('answers and checks as a route compiled at start-up would: the first request builds, later ones reuse', async () => {
    const app = await appWith((instance) => {
      instance.get(
        '/typed',
        { schema: { querystring: Type.Object({ n: Type.Integer({ minimum: 1 }) }), response: { 200: Type.Object({ n: Type.Integer() }) } } },
        async (request) => ({ n: (request.query as { n: number }).n, dropped: 'not in the schema' }),
      );
    });
    for (let i = 0; i < 2; i++) {
      const good = await app.inject({ method: 'GET', url: '/typed?n=3' });
      assert.equal(good.statusCode, 200);
      assert.deepEqual(good.json(), { n: 3 }, 'serialized by its schema: an unknown field is dropped');
      const bad = await app.inject({ method: 'GET', url: '/typed?n=0' });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().code, 'validation_error');
    }
  });
});
