import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { mailOutbox, sessions, userTokens, users, type Role, type UserRow } from '../../src/db/schema/index.ts';
import * as usersRepo from '../../src/modules/users/users.repository.ts';
import { buildTestApp, call, type CallResult } from '../helpers/app.ts';
import { assertError, assertInvalidField } from '../helpers/assertions.ts';
import { createUser, uniqueEmail, type TestUser } from '../helpers/factories.ts';

const app = await buildTestApp();
const db = app.services.database.db;

// This admin only acts on others (tests about an admin changing itself make their own), so the file's tests may share it.
const admin = await createUser(app, { role: 'admin' });

/** An id no row will reach in this file's lifetime (still a valid id for the schema). */
const MISSING_ID = 2_000_000_000;

/** The User resource exactly: anything more (a password hash, a token) is a leak. */
const USER_KEYS = [
  'avatar_url',
  'bio',
  'created_at',
  'email',
  'first_name',
  'id',
  'is_active',
  'is_verified',
  'last_name',
  'name',
  'phone',
  'role',
  'updated_at',
];

/** A last name no other test uses, so `q` finds exactly this test's users. */
const uniqueTag = (label = 'Tag') => `${label}${randomBytes(5).toString('hex')}`;

// --- calls -------------------------------------------------------------------------------------

const listUsers = (token: string | undefined, query: Record<string, string> = {}) => call(app, 'GET', '/api/users', { ...(token ? { token } : {}), query });

const getUser = (token: string | undefined, id: number | string) => call(app, 'GET', `/api/users/${id}`, token ? { token } : {});

const updateUser = (token: string | undefined, id: number | string, body: unknown) =>
  call(app, 'PUT', `/api/users/${id}`, { ...(token ? { token } : {}), body });

const deleteUser = (token: string | undefined, id: number | string) => call(app, 'DELETE', `/api/users/${id}`, token ? { token } : {});

const login = (email: string, password: string) => call(app, 'POST', '/api/auth/login', { body: { email, password } });

// --- assertions --------------------------------------------------------------------------------

function assertPublicUser(user: Record<string, unknown>) {
  assert.deepEqual(Object.keys(user).sort(), USER_KEYS);
  assert.match(String(user.created_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.match(String(user.updated_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
}

// --- database ----------------------------------------------------------------------------------

async function storedUser(id: number): Promise<UserRow> {
  const row = await usersRepo.findById(db, id);
  assert.ok(row, `user ${id} exists`);
  return row;
}

/** Written straight to the table, so a test controls created_at (and needs no login). */
function insertUser(fields: { lastName: string; firstName?: string; email?: string; role?: Role; isActive?: boolean; createdAt?: Date }) {
  const at = fields.createdAt ?? new Date();
  return usersRepo.insert(db, {
    email: fields.email ?? uniqueEmail('listed'),
    passwordHash: 'not-a-usable-hash',
    firstName: fields.firstName ?? 'Listed',
    lastName: fields.lastName,
    role: fields.role ?? 'client',
    isActive: fields.isActive ?? true,
    createdAt: at,
    updatedAt: at,
  });
}

/** Moves updated_at into the past, so a later write visibly moves it forward. */
async function backdate(id: number) {
  const past = new Date('2020-01-01T00:00:00.000Z');
  await db.update(users).set({ updatedAt: past }).where(eq(users.id, id));
  return past;
}

async function assertSessionsRevoked(userId: number) {
  const rows = await db.select().from(sessions).where(eq(sessions.userId, userId));
  assert.ok(rows.length > 0, 'the user had sessions');
  for (const row of rows) assert.ok(row.revokedAt, `session ${row.id} is revoked`);
}

const idsOf = (response: CallResult) => response.body.users.map((user: { id: number }) => user.id);

// --- GET /api/users ----------------------------------------------------------------------------

describe('GET /api/users', () => {
  it('returns 200 with the paginated shape and public user objects for an admin', async () => {
    const tag = uniqueTag();
    const inserted = await insertUser({ lastName: tag });

    const response = await listUsers(admin.token, { q: tag });

    assert.equal(response.status, 200, response.raw);
    assert.deepEqual(Object.keys(response.body).sort(), ['current_page', 'pages', 'per_page', 'total', 'users']);
    assert.equal(response.body.total, 1);
    assert.equal(response.body.pages, 1);
    assert.equal(response.body.current_page, 1);
    assert.equal(response.body.per_page, 10);
    assert.equal(response.body.users.length, 1);
    const [user] = response.body.users;
    assertPublicUser(user);
    assert.equal(user.id, inserted.id);
    assert.equal(user.email, inserted.email);
    assert.equal(user.name, `Listed ${tag}`);
    assert.equal(user.role, 'client');
    assert.equal(user.created_at, inserted.createdAt.toISOString());
  });

  it('never includes a password hash in any listed user', async () => {
    const response = await listUsers(admin.token, { per_page: '100' });

    assert.equal(response.status, 200, response.raw);
    assert.ok(response.body.users.length > 0);
    for (const user of response.body.users) assertPublicUser(user);
    assert.doesNotMatch(response.raw, /password|\$2[aby]\$/i);
  });

  it('orders newest first with ties broken by id, across pages that never repeat or skip', async () => {
    const tag = uniqueTag('Order');
    const tie = new Date('2024-05-01T10:00:00.000Z');
    // Inserted out of created_at order, so id order alone would give a different answer.
    const oldest = await insertUser({ lastName: tag, createdAt: new Date('2024-04-01T10:00:00.000Z') });
    const tieA = await insertUser({ lastName: tag, createdAt: tie });
    const newest = await insertUser({ lastName: tag, createdAt: new Date('2024-06-01T10:00:00.000Z') });
    const tieB = await insertUser({ lastName: tag, createdAt: tie });
    const tieC = await insertUser({ lastName: tag, createdAt: tie });
    const expected = [newest.id, tieC.id, tieB.id, tieA.id, oldest.id];

    const all = await listUsers(admin.token, { q: tag });
    assert.deepEqual(idsOf(all), expected);

    const pages = [];
    for (const page of ['1', '2', '3']) {
      const response = await listUsers(admin.token, { q: tag, per_page: '2', page });
      assert.equal(response.status, 200, response.raw);
      assert.equal(response.body.total, 5);
      assert.equal(response.body.pages, 3);
      assert.equal(response.body.current_page, Number(page));
      assert.equal(response.body.per_page, 2);
      pages.push(...idsOf(response));
    }
    assert.deepEqual(pages, expected);
  });

  it('returns an empty list with the right total for a page past the end', async () => {
    const tag = uniqueTag();
    await insertUser({ lastName: tag });
    await insertUser({ lastName: tag });
    await insertUser({ lastName: tag });

    const response = await listUsers(admin.token, { q: tag, per_page: '2', page: '5' });

    assert.equal(response.status, 200, response.raw);
    assert.deepEqual(response.body, { users: [], total: 3, pages: 2, current_page: 5, per_page: 2 });
  });

  it('accepts per_page=100, the maximum', async () => {
    const response = await listUsers(admin.token, { per_page: '100' });

    assert.equal(response.status, 200, response.raw);
    assert.equal(response.body.per_page, 100);
  });

  it('filters by role', async () => {
    const tag = uniqueTag();
    const client = await insertUser({ lastName: tag, role: 'client' });
    const owner = await insertUser({ lastName: tag, role: 'owner' });
    const otherAdmin = await insertUser({ lastName: tag, role: 'admin' });

    for (const [role, expected] of [
      ['client', client],
      ['owner', owner],
      ['admin', otherAdmin],
    ] as const) {
      const response = await listUsers(admin.token, { q: tag, role });
      assert.equal(response.status, 200, response.raw);
      assert.deepEqual(idsOf(response), [expected.id], `role=${role}`);
      assert.equal(response.body.total, 1);
      assert.equal(response.body.users[0].role, role);
    }
  });

  it('filters by is_active given as the strings true and false', async () => {
    const tag = uniqueTag();
    const active = await insertUser({ lastName: tag, isActive: true });
    const inactive = await insertUser({ lastName: tag, isActive: false });

    const onlyActive = await listUsers(admin.token, { q: tag, is_active: 'true' });
    assert.equal(onlyActive.status, 200, onlyActive.raw);
    assert.deepEqual(idsOf(onlyActive), [active.id]);
    assert.equal(onlyActive.body.users[0].is_active, true);

    const onlyInactive = await listUsers(admin.token, { q: tag, is_active: 'false' });
    assert.equal(onlyInactive.status, 200, onlyInactive.raw);
    assert.deepEqual(idsOf(onlyInactive), [inactive.id]);
    assert.equal(onlyInactive.body.users[0].is_active, false);

    const both = await listUsers(admin.token, { q: tag });
    assert.deepEqual(new Set(idsOf(both)), new Set([active.id, inactive.id]));
  });

  it('combines filters', async () => {
    const tag = uniqueTag();
    await insertUser({ lastName: tag, role: 'owner', isActive: true });
    const wanted = await insertUser({ lastName: tag, role: 'owner', isActive: false });
    await insertUser({ lastName: tag, role: 'client', isActive: false });

    const response = await listUsers(admin.token, { q: tag, role: 'owner', is_active: 'false' });

    assert.equal(response.status, 200, response.raw);
    assert.deepEqual(idsOf(response), [wanted.id]);
  });

  it('matches q against the full name, case-insensitively', async () => {
    const tag = uniqueTag('Hopper');
    const grace = await insertUser({ firstName: 'Grace', lastName: tag });
    await insertUser({ firstName: 'Alan', lastName: tag });

    const upper = await listUsers(admin.token, { q: tag.toUpperCase() });
    assert.equal(upper.body.total, 2);

    const fullName = await listUsers(admin.token, { q: `gRACE ${tag.toLowerCase()}` });
    assert.equal(fullName.status, 200, fullName.raw);
    assert.deepEqual(idsOf(fullName), [grace.id]);
  });

  it('matches q against the email, case-insensitively', async () => {
    const local = uniqueTag('mail').toLowerCase();
    const user = await insertUser({ lastName: uniqueTag(), email: `${local}@example.test` });

    const response = await listUsers(admin.token, { q: local.toUpperCase() });

    assert.equal(response.status, 200, response.raw);
    assert.deepEqual(idsOf(response), [user.id]);
  });

  it('treats % and _ in q literally', async () => {
    const tag = uniqueTag();
    const percent = await insertUser({ lastName: `${tag}%off` });
    await insertUser({ lastName: `${tag}50off` });
    const underscore = await insertUser({ lastName: `${tag}_x` });
    await insertUser({ lastName: `${tag}ax` });

    const byPercent = await listUsers(admin.token, { q: `${tag}%off` });
    assert.equal(byPercent.status, 200, byPercent.raw);
    assert.deepEqual(idsOf(byPercent), [percent.id]);

    const byUnderscore = await listUsers(admin.token, { q: `${tag}_x` });
    assert.equal(byUnderscore.status, 200, byUnderscore.raw);
    assert.deepEqual(idsOf(byUnderscore), [underscore.id]);

    const bare = await listUsers(admin.token, { q: '%', per_page: '100' });
    assert.equal(bare.status, 200, bare.raw);
    assert.ok(bare.body.total >= 1, 'the literal % in a name is found');
    assert.ok(bare.body.users.every((user: { name: string; email: string }) => `${user.name}${user.email}`.includes('%')));
  });

  for (const [name, value] of [
    ['page', '0'],
    ['per_page', '0'],
    ['per_page', '101'],
    ['per_page', 'abc'],
    ['page', 'abc'],
    ['role', 'superuser'],
    ['is_active', 'maybe'],
  ] as const) {
    it(`returns 400 validation_error for ${name}=${value}`, async () => {
      const response = await listUsers(admin.token, { [name]: value });
      assertInvalidField(response, name);
    });
  }

  it('returns 401 without a token', async () => {
    assertError(await listUsers(undefined), 401, 'unauthorized');
  });

  it('returns 401 for a garbage token', async () => {
    assertError(await listUsers('garbage.token.value'), 401, 'unauthorized');
    assertError(await call(app, 'GET', '/api/users', { headers: { authorization: 'Basic Zm9vOmJhcg==' } }), 401, 'unauthorized');
  });

  it('returns 403 for a client', async () => {
    const client = await createUser(app, { role: 'client' });
    assertError(await listUsers(client.token), 403, 'forbidden');
  });

  it('returns 403 for an owner', async () => {
    const owner = await createUser(app, { role: 'owner' });
    assertError(await listUsers(owner.token), 403, 'forbidden');
  });
});

// --- GET /api/users/:id ------------------------------------------------------------------------

describe('GET /api/users/:id', () => {
  it('returns 200 with the user when reading yourself', async () => {
    const client = await createUser(app, { first_name: 'Ada', last_name: 'Lovelace' });

    const response = await getUser(client.token, client.id);

    assert.equal(response.status, 200, response.raw);
    assertPublicUser(response.body);
    const stored = await storedUser(client.id);
    assert.deepEqual(response.body, {
      id: client.id,
      email: client.email,
      first_name: 'Ada',
      last_name: 'Lovelace',
      name: 'Ada Lovelace',
      role: 'client',
      phone: null,
      bio: null,
      avatar_url: null,
      is_verified: false,
      is_active: true,
      created_at: stored.createdAt.toISOString(),
      updated_at: stored.updatedAt.toISOString(),
    });
  });

  it('returns 200 for an admin reading anyone', async () => {
    const owner = await createUser(app, { role: 'owner' });

    const response = await getUser(admin.token, owner.id);

    assert.equal(response.status, 200, response.raw);
    assertPublicUser(response.body);
    assert.equal(response.body.id, owner.id);
    assert.equal(response.body.role, 'owner');
  });

  it('returns 403 when a client reads another user', async () => {
    const client = await createUser(app);
    const other = await createUser(app);
    assertError(await getUser(client.token, other.id), 403, 'forbidden');
  });

  it('returns 403 when an owner reads another user', async () => {
    const owner = await createUser(app, { role: 'owner' });
    const client = await createUser(app);
    assertError(await getUser(owner.token, client.id), 403, 'forbidden');
  });

  it('returns 403, not 404, when a non-admin reads an id that does not exist (no enumeration)', async () => {
    const client = await createUser(app);
    assertError(await getUser(client.token, MISSING_ID), 403, 'forbidden');
  });

  it('returns 404 not_found when an admin reads an id that does not exist', async () => {
    assertError(await getUser(admin.token, MISSING_ID), 404, 'not_found');
  });

  for (const id of ['abc', '0', '-1', '1.5', '2147483648']) {
    it(`returns 400 validation_error for the id "${id}"`, async () => {
      assertInvalidField(await getUser(admin.token, id), 'id');
    });
  }

  it('returns 401 without a token', async () => {
    const client = await createUser(app);
    assertError(await getUser(undefined, client.id), 401, 'unauthorized');
  });
});

// --- PUT /api/users/:id ------------------------------------------------------------------------

describe('PUT /api/users/:id', () => {
  it('lets a user set their own profile fields and moves updated_at', async () => {
    const client = await createUser(app);
    const before = await storedUser(client.id);
    const past = await backdate(client.id);
    const changes = {
      first_name: '  Grace ',
      last_name: 'Hopper',
      phone: '+254 712 345-678',
      bio: 'Rear admiral.',
      avatar_url: 'https://cdn.example.test/grace.png',
    };

    const response = await updateUser(client.token, client.id, changes);

    assert.equal(response.status, 200, response.raw);
    assertPublicUser(response.body);
    assert.equal(response.body.first_name, 'Grace');
    assert.equal(response.body.last_name, 'Hopper');
    assert.equal(response.body.name, 'Grace Hopper');
    assert.equal(response.body.phone, changes.phone);
    assert.equal(response.body.bio, changes.bio);
    assert.equal(response.body.avatar_url, changes.avatar_url);
    const after = await storedUser(client.id);
    assert.equal(after.firstName, 'Grace');
    assert.equal(after.lastName, 'Hopper');
    assert.equal(after.phone, changes.phone);
    assert.equal(after.bio, changes.bio);
    assert.equal(after.avatarUrl, changes.avatar_url);
    assert.ok(after.updatedAt > past, 'updated_at moved forward');
    assert.equal(response.body.updated_at, after.updatedAt.toISOString());
    assert.equal(after.createdAt.getTime(), before.createdAt.getTime());
    assert.equal(after.role, 'client');
    assert.equal(after.email, before.email);
  });

  it('clears nullable profile fields with null', async () => {
    const client = await createUser(app);
    await updateUser(client.token, client.id, { phone: '0712345678', bio: 'x', avatar_url: 'http://example.test/a.png' });

    const response = await updateUser(client.token, client.id, { phone: null, bio: null, avatar_url: null });

    assert.equal(response.status, 200, response.raw);
    const after = await storedUser(client.id);
    assert.equal(after.phone, null);
    assert.equal(after.bio, null);
    assert.equal(after.avatarUrl, null);
  });

  it('ignores unknown fields', async () => {
    const client = await createUser(app);
    const before = await storedUser(client.id);

    const response = await updateUser(client.token, client.id, {
      first_name: 'Known',
      favourite_colour: 'blue',
      password_hash: 'overwritten',
      id: client.id + 1000,
      created_at: '2000-01-01T00:00:00.000Z',
    });

    assert.equal(response.status, 200, response.raw);
    assert.equal(response.body.id, client.id);
    assert.equal(response.body.first_name, 'Known');
    assert.ok(!('favourite_colour' in response.body));
    const after = await storedUser(client.id);
    assert.equal(after.firstName, 'Known');
    assert.equal(after.passwordHash, before.passwordHash);
    assert.equal(after.createdAt.getTime(), before.createdAt.getTime());
    assert.equal((await login(client.email, client.password)).status, 200);
  });

  for (const [label, privileged] of [
    ['role', { role: 'admin' }],
    ['role (even their own)', { role: 'client' }],
    ['is_verified', { is_verified: true }],
    ['is_active', { is_active: false }],
  ] as const) {
    it(`returns 403 when a client sets their own ${label}, and changes nothing`, async () => {
      const client = await createUser(app);
      const before = await storedUser(client.id);

      const response = await updateUser(client.token, client.id, { first_name: 'Sneaky', ...privileged });

      assertError(response, 403, 'forbidden');
      assert.deepEqual(await storedUser(client.id), before);
    });
  }

  it('returns 403 when an owner promotes themselves to admin, and changes nothing', async () => {
    const owner = await createUser(app, { role: 'owner' });
    const before = await storedUser(owner.id);

    assertError(await updateUser(owner.token, owner.id, { role: 'admin' }), 403, 'forbidden');

    assert.deepEqual(await storedUser(owner.id), before);
    assertError(await listUsers(owner.token), 403, 'forbidden');
  });

  it('returns 403 when a client edits someone else, and changes nothing', async () => {
    const client = await createUser(app);
    const victim = await createUser(app);
    const before = await storedUser(victim.id);

    assertError(await updateUser(client.token, victim.id, { first_name: 'Hacked' }), 403, 'forbidden');

    assert.deepEqual(await storedUser(victim.id), before);
  });

  it('returns 403 when an owner edits someone else, and changes nothing', async () => {
    const owner = await createUser(app, { role: 'owner' });
    const victim = await createUser(app);
    const before = await storedUser(victim.id);

    assertError(await updateUser(owner.token, victim.id, { bio: 'Hacked' }), 403, 'forbidden');

    assert.deepEqual(await storedUser(victim.id), before);
  });

  it('returns 403, not 404, when a non-admin edits an id that does not exist', async () => {
    const client = await createUser(app);
    assertError(await updateUser(client.token, MISSING_ID, { first_name: 'Nobody' }), 403, 'forbidden');
  });

  it('lets an admin set role, is_verified and is_active on another user', async () => {
    const client = await createUser(app);
    const past = await backdate(client.id);

    const response = await updateUser(admin.token, client.id, { role: 'owner', is_verified: true, first_name: 'Promoted' });

    assert.equal(response.status, 200, response.raw);
    assert.equal(response.body.role, 'owner');
    assert.equal(response.body.is_verified, true);
    assert.equal(response.body.first_name, 'Promoted');
    const after = await storedUser(client.id);
    assert.equal(after.role, 'owner');
    assert.equal(after.isVerified, true);
    assert.equal(after.firstName, 'Promoted');
    assert.ok(after.updatedAt > past);
  });

  it('matches the role an admin sets case-insensitively, with space_owner as an alias of owner', async () => {
    const client = await createUser(app);
    for (const [sent, role] of [
      ['SPACE_OWNER', 'owner'],
      ['Client', 'client'],
      ['ADMIN', 'admin'],
    ] as const) {
      const response = await updateUser(admin.token, client.id, { role: sent });
      assert.equal(response.status, 200, response.raw);
      assert.equal(response.body.role, role);
      assert.equal((await storedUser(client.id)).role, role);
    }
  });

  it('still refuses a role from someone who may not set it, in any spelling', async () => {
    const client = await createUser(app);
    assertError(await updateUser(client.token, client.id, { role: 'SPACE_OWNER' }), 403, 'forbidden');
    assert.equal((await storedUser(client.id)).role, 'client');
  });

  it('applies a role change at once to the target’s existing token', async () => {
    const client = await createUser(app);
    assertError(await listUsers(client.token), 403, 'forbidden');

    const promoted = await updateUser(admin.token, client.id, { role: 'admin' });
    assert.equal(promoted.status, 200, promoted.raw);
    assert.equal((await listUsers(client.token)).status, 200, 'the same token now lists users');

    const demoted = await updateUser(admin.token, client.id, { role: 'client' });
    assert.equal(demoted.status, 200, demoted.raw);
    assertError(await listUsers(client.token), 403, 'forbidden');
    assert.equal((await storedUser(client.id)).role, 'client');
  });

  it('revokes the sessions of a user an admin deactivates, who then cannot log in', async () => {
    const client = await createUser(app);

    const response = await updateUser(admin.token, client.id, { is_active: false });

    assert.equal(response.status, 200, response.raw);
    assert.equal(response.body.is_active, false);
    assert.equal((await storedUser(client.id)).isActive, false);
    await assertSessionsRevoked(client.id);
    assertError(await getUser(client.token, client.id), 401, 'unauthorized');
    assertError(await login(client.email, client.password), 403, 'account_disabled');
  });

  it('lets an admin reactivate a deactivated user, who can then log in again', async () => {
    const client = await createUser(app);
    await updateUser(admin.token, client.id, { is_active: false });

    const response = await updateUser(admin.token, client.id, { is_active: true });

    assert.equal(response.status, 200, response.raw);
    assert.equal((await storedUser(client.id)).isActive, true);
    assert.equal((await login(client.email, client.password)).status, 200);
  });

  it('returns 400 cannot_modify_self when an admin deactivates themselves', async () => {
    const self = await createUser(app, { role: 'admin' });
    const before = await storedUser(self.id);

    assertError(await updateUser(self.token, self.id, { is_active: false }), 400, 'cannot_modify_self');

    assert.deepEqual(await storedUser(self.id), before);
    assert.equal((await listUsers(self.token)).status, 200);
  });

  it('returns 400 cannot_modify_self when an admin changes their own role', async () => {
    const self = await createUser(app, { role: 'admin' });
    const before = await storedUser(self.id);

    assertError(await updateUser(self.token, self.id, { role: 'client' }), 400, 'cannot_modify_self');

    assert.deepEqual(await storedUser(self.id), before);
    assert.equal((await listUsers(self.token)).status, 200);
  });

  it('returns 404 not_found when an admin edits an id that does not exist', async () => {
    assertError(await updateUser(admin.token, MISSING_ID, { first_name: 'Nobody' }), 404, 'not_found');
  });

  describe('email changes', () => {
    const mailsTo = (address: string) => db.select().from(mailOutbox).where(eq(mailOutbox.toAddress, address));

    it('returns 400 validation_error naming current_password when you change your own email without it', async () => {
      const client = await createUser(app);
      const before = await storedUser(client.id);

      const response = await updateUser(client.token, client.id, { email: uniqueEmail('new') });

      assertInvalidField(response, 'current_password');
      assert.deepEqual(await storedUser(client.id), before);
    });

    it('returns 400 invalid_password for a wrong current_password', async () => {
      const client = await createUser(app);
      const before = await storedUser(client.id);
      const newEmail = uniqueEmail('new');

      const response = await updateUser(client.token, client.id, { email: newEmail, current_password: 'Wr0ngPassword' });

      assertError(response, 400, 'invalid_password');
      assert.deepEqual(await storedUser(client.id), before);
      assert.equal((await mailsTo(newEmail)).length, 0);
    });

    it('changes your own email with the right password: stored lowercased, unverified, verification mail queued', async () => {
      const client = await createUser(app);
      await db.update(users).set({ isVerified: true }).where(eq(users.id, client.id));
      const newEmail = `New.${randomBytes(5).toString('hex')}@Example.TEST`;
      const lower = newEmail.toLowerCase();

      const response = await updateUser(client.token, client.id, { email: newEmail, current_password: client.password });

      assert.equal(response.status, 200, response.raw);
      assert.equal(response.body.email, lower);
      assert.equal(response.body.is_verified, false);
      const after = await storedUser(client.id);
      assert.equal(after.email, lower);
      assert.equal(after.isVerified, false);
      const mails = await mailsTo(lower);
      assert.equal(mails.length, 1);
      assert.match(mails[0]!.subject, /confirm your email/i);
      assert.match(mails[0]!.textBody, /verify-email\?token=/);
      const tokens = await db
        .select()
        .from(userTokens)
        .where(and(eq(userTokens.userId, client.id), eq(userTokens.purpose, 'verify_email'), eq(userTokens.email, lower)));
      assert.equal(tokens.length, 1);
      assert.equal((await login(newEmail, client.password)).status, 200);
      assertError(await login(client.email, client.password), 401, 'invalid_credentials');
    });

    it('returns 409 email_taken for an address another account uses, in any case', async () => {
      const client = await createUser(app);
      const other = await createUser(app);
      const before = await storedUser(client.id);

      const response = await updateUser(client.token, client.id, { email: other.email.toUpperCase(), current_password: client.password });

      assertError(response, 409, 'email_taken');
      assert.deepEqual(await storedUser(client.id), before);
    });

    it('lets an admin change another user’s email without a password', async () => {
      const client = await createUser(app);
      await db.update(users).set({ isVerified: true }).where(eq(users.id, client.id));
      const newEmail = uniqueEmail('byadmin');

      const response = await updateUser(admin.token, client.id, { email: newEmail });

      assert.equal(response.status, 200, response.raw);
      assert.equal(response.body.email, newEmail);
      const after = await storedUser(client.id);
      assert.equal(after.email, newEmail);
      assert.equal(after.isVerified, false);
      assert.equal((await mailsTo(newEmail)).length, 1);
    });

    it('returns 409 email_taken when an admin moves a user onto another account’s email', async () => {
      const client = await createUser(app);
      const other = await createUser(app);

      assertError(await updateUser(admin.token, client.id, { email: other.email }), 409, 'email_taken');

      assert.equal((await storedUser(client.id)).email, client.email);
    });
  });

  for (const [label, body, field] of [
    ['an invalid phone', { phone: 'call me maybe' }, 'phone'],
    ['an avatar_url that is not http(s)', { avatar_url: 'ftp://example.test/a.png' }, 'avatar_url'],
    ['a javascript: avatar_url', { avatar_url: 'javascript:alert(1)' }, 'avatar_url'],
    ['a first_name of only spaces', { first_name: '   ' }, 'first_name'],
    ['an empty last_name', { last_name: '' }, 'last_name'],
    ['a first_name over 100 characters', { first_name: 'a'.repeat(101) }, 'first_name'],
    ['a bio over 2000 characters', { bio: 'b'.repeat(2001) }, 'bio'],
    ['a number as first_name', { first_name: 5 }, 'first_name'],
    ['a string as is_active', { is_active: 'false' }, 'is_active'],
    ['an invalid email', { email: 'not-an-email', current_password: 'Passw0rd!' }, 'email'],
    ['an unknown role', { role: 'superuser' }, 'role'],
  ] as const) {
    it(`returns 400 validation_error for ${label}, and changes nothing`, async () => {
      const client = await createUser(app);
      const before = await storedUser(client.id);
      // Admin-only fields are sent by an admin, so the 400 is about the value, not the right.
      const actor = 'is_active' in body || 'role' in body ? admin : client;

      assertInvalidField(await updateUser(actor.token, client.id, body), field);

      assert.deepEqual(await storedUser(client.id), before);
    });
  }

  it('accepts the limits: a 100-character first_name and a 2000-character bio', async () => {
    const client = await createUser(app);

    const response = await updateUser(client.token, client.id, { first_name: 'a'.repeat(100), bio: 'b'.repeat(2000) });

    assert.equal(response.status, 200, response.raw);
    const after = await storedUser(client.id);
    assert.equal(after.firstName.length, 100);
    assert.equal(after.bio?.length, 2000);
  });

  it('returns 400 for a body that is not an object', async () => {
    const client = await createUser(app);
    const response = await updateUser(client.token, client.id, ['first_name']);
    assertError(response, 400, 'validation_error');
  });

  it('treats an absent or empty JSON body as no changes', async () => {
    const client = await createUser(app);
    const before = await storedUser(client.id);
    const auth = { authorization: `Bearer ${client.token}` };

    const absent = await app.inject({ method: 'PUT', url: `/api/users/${client.id}`, headers: auth });
    const empty = await app.inject({ method: 'PUT', url: `/api/users/${client.id}`, headers: { ...auth, 'content-type': 'application/json' }, payload: '' });

    assert.equal(absent.statusCode, 200, absent.body);
    assert.equal(empty.statusCode, 200, empty.body);
    assert.equal((await storedUser(client.id)).firstName, before.firstName);
  });

  it('returns 400 validation_error for a NUL character in a text field', async () => {
    const client = await createUser(app);
    assertError(await updateUser(client.token, client.id, { first_name: 'a\u0000b' }), 400, 'validation_error');
  });

  it('returns 400 validation_error for the id "abc"', async () => {
    assertInvalidField(await updateUser(admin.token, 'abc', { first_name: 'X' }), 'id');
  });

  it('returns 401 without a token, and changes nothing', async () => {
    const client = await createUser(app);
    const before = await storedUser(client.id);

    assertError(await updateUser(undefined, client.id, { first_name: 'Anon' }), 401, 'unauthorized');

    assert.deepEqual(await storedUser(client.id), before);
  });
});

// --- DELETE /api/users/:id ---------------------------------------------------------------------

describe('DELETE /api/users/:id', () => {
  async function assertStillActive(user: TestUser) {
    assert.equal((await storedUser(user.id)).isActive, true);
    assert.equal((await getUser(user.token, user.id)).status, 200);
  }

  it('deactivates the account: the row stays, its token is refused and it cannot log in', async () => {
    const client = await createUser(app);

    const response = await deleteUser(admin.token, client.id);

    assert.equal(response.status, 200, response.raw);
    assert.deepEqual(Object.keys(response.body), ['message']);
    assert.equal(typeof response.body.message, 'string');
    const after = await storedUser(client.id);
    assert.equal(after.isActive, false);
    assert.equal(after.email, client.email);
    await assertSessionsRevoked(client.id);
    assertError(await getUser(client.token, client.id), 401, 'unauthorized');
    assertError(await login(client.email, client.password), 403, 'account_disabled');
    const read = await getUser(admin.token, client.id);
    assert.equal(read.status, 200);
    assert.equal(read.body.is_active, false);
  });

  it('returns 200 both times when deleting twice', async () => {
    const owner = await createUser(app, { role: 'owner' });

    assert.equal((await deleteUser(admin.token, owner.id)).status, 200);
    const again = await deleteUser(admin.token, owner.id);

    assert.equal(again.status, 200, again.raw);
    assert.equal(typeof again.body.message, 'string');
    assert.equal((await storedUser(owner.id)).isActive, false);
  });

  it('lets an admin deactivate another admin, whose token loses access at once', async () => {
    const otherAdmin = await createUser(app, { role: 'admin' });

    assert.equal((await deleteUser(admin.token, otherAdmin.id)).status, 200);

    assertError(await listUsers(otherAdmin.token), 401, 'unauthorized');
  });

  it('returns 400 cannot_modify_self when an admin deletes themselves', async () => {
    const self = await createUser(app, { role: 'admin' });

    assertError(await deleteUser(self.token, self.id), 400, 'cannot_modify_self');

    assert.equal((await storedUser(self.id)).isActive, true);
    assert.equal((await listUsers(self.token)).status, 200);
  });

  it('returns 404 not_found for an id that does not exist', async () => {
    assertError(await deleteUser(admin.token, MISSING_ID), 404, 'not_found');
  });

  it('returns 400 validation_error for the id "abc"', async () => {
    assertInvalidField(await deleteUser(admin.token, 'abc'), 'id');
  });

  it('returns 403 for a client, and the target stays active', async () => {
    const client = await createUser(app);
    const target = await createUser(app);

    assertError(await deleteUser(client.token, target.id), 403, 'forbidden');

    await assertStillActive(target);
  });

  it('returns 403 for an owner, and the target stays active', async () => {
    const owner = await createUser(app, { role: 'owner' });
    const target = await createUser(app);

    assertError(await deleteUser(owner.token, target.id), 403, 'forbidden');

    await assertStillActive(target);
  });

  it('returns 403 for a client deleting themselves', async () => {
    const client = await createUser(app);

    assertError(await deleteUser(client.token, client.id), 403, 'forbidden');

    await assertStillActive(client);
  });

  it('returns 401 without a token, and the target stays active', async () => {
    const target = await createUser(app);

    assertError(await deleteUser(undefined, target.id), 401, 'unauthorized');

    await assertStillActive(target);
  });
});
