import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTestApp, call } from '../helpers/app.ts';
import { createUser } from '../helpers/factories.ts';

const app = await buildTestApp();

describe('smoke', () => {
  it('registers and reads me', async () => {
    const user = await createUser(app);
    const me = await call(app, 'GET', '/api/auth/me', { token: user.token });
    assert.equal(me.status, 200);
    assert.equal(me.body.email, user.email);
  });
});
