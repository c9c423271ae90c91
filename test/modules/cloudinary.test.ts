import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import sharp from 'sharp';
import { spaceImages, spaces, users } from '../../src/db/schema/index.ts';
import { buildTestApp, call } from '../helpers/app.ts';
import { startFakeCloudinary } from '../helpers/cloudinary.ts';
import { createUser } from '../helpers/factories.ts';

const cloudinary = await startFakeCloudinary();
const app = await buildTestApp({ env: cloudinary.env });
const db = app.services.database.db;

const jpeg = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: '#2a6f97' } })
  .jpeg()
  .toBuffer();

const spaceBody = { name: 'Cloud Loft', description: 'Bright room', address: 'Moi Avenue', city: 'Nairobi', price_per_hour: 1200, capacity: 8 };

function imagesForm(count: number, fields: Record<string, string> = {}) {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  for (let i = 0; i < count; i++) form.append('images', new Blob([jpeg], { type: 'image/jpeg' }), `photo-${i}.jpg`);
  return form;
}

async function upload(url: string, token: string, form: FormData, target = app) {
  const response = await target.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}` }, payload: form });
  return { status: response.statusCode, body: response.json() };
}

async function ownerWithSpace(target = app) {
  const owner = await createUser(target, { role: 'owner' });
  const created = await call(target, 'POST', '/api/spaces', { token: owner.token, body: spaceBody });
  assert.equal(created.status, 201);
  return { owner, spaceId: created.body.id as number };
}

const rowsOf = (spaceId: number) => db.select().from(spaceImages).where(eq(spaceImages.spaceId, spaceId));
const assetsIn = (folder: string) => [...cloudinary.assets.values()].filter((asset) => asset.folder === folder);

describe('Cloudinary storage', () => {
  it('uploads signed requests into spacer/spaces/<id> and stores the public_id', async () => {
    const { owner, spaceId } = await ownerWithSpace();
    const result = await upload(`/api/spaces/${spaceId}/images`, owner.token, imagesForm(2));
    assert.equal(result.status, 201);
    const stored = assetsIn(`spacer/spaces/${spaceId}`);
    assert.equal(stored.length, 2);
    assert.ok(
      stored.every((asset) => asset.bytes.subarray(8, 12).toString('latin1') === 'WEBP'),
      'Cloudinary receives the processed WebP, not the original',
    );

    const rows = await rowsOf(spaceId);
    assert.deepEqual(
      rows.map((row) => row.storage),
      ['cloudinary', 'cloudinary'],
    );
    assert.deepEqual(rows.map((row) => row.storageKey).sort(), stored.map((asset) => asset.publicId).sort());
    for (const image of result.body.images) {
      assert.match(image.image_url, new RegExp(`^https://res\\.cloudinary\\.com/spacer-test/image/upload/v1/spacer/spaces/${spaceId}/[0-9a-f]+\\.webp$`));
    }
    const uploads = cloudinary.requests.filter((request) => request.action === 'upload' && request.params.folder === `spacer/spaces/${spaceId}`);
    assert.equal(uploads.length, 2);
    assert.ok(uploads.every((request) => request.validSignature && request.params.timestamp && request.params.api_key === cloudinary.account.apiKey));
  });

  it('destroys the asset when its image is deleted', async () => {
    const { owner, spaceId } = await ownerWithSpace();
    const result = await upload(`/api/spaces/${spaceId}/images`, owner.token, imagesForm(2));
    const [first] = result.body.images;
    const [row] = await db.select().from(spaceImages).where(eq(spaceImages.id, first.id));
    assert.equal((await call(app, 'DELETE', `/api/spaces/${spaceId}/images/${first.id}`, { token: owner.token })).status, 200);
    assert.equal(cloudinary.assets.has(row!.storageKey), false);
    const destroy = cloudinary.requests.find((request) => request.action === 'destroy' && request.params.public_id === row!.storageKey);
    assert.ok(destroy?.validSignature, 'destroy is signed');
    assert.equal(assetsIn(`spacer/spaces/${spaceId}`).length, 1);
  });

  it('leaves no row when the upload fails', async () => {
    const { owner, spaceId } = await ownerWithSpace();
    cloudinary.state.failUploads = true;
    try {
      const result = await upload(`/api/spaces/${spaceId}/images`, owner.token, imagesForm(2));
      assert.equal(result.status, 503);
      assert.equal(result.body.code, 'service_unavailable');
    } finally {
      cloudinary.state.failUploads = false;
    }
    assert.equal((await rowsOf(spaceId)).length, 0);
    assert.equal(assetsIn(`spacer/spaces/${spaceId}`).length, 0);
  });

  it('creates neither the space nor its images when an upload fails during creation', async () => {
    const owner = await createUser(app, { role: 'owner' });
    cloudinary.state.failUploads = true;
    try {
      const result = await upload(
        '/api/spaces',
        owner.token,
        imagesForm(2, { ...Object.fromEntries(Object.entries(spaceBody).map(([k, v]) => [k, String(v)])), name: 'Doomed Loft' }),
      );
      assert.equal(result.status, 503);
    } finally {
      cloudinary.state.failUploads = false;
    }
    assert.equal((await db.select().from(spaces).where(eq(spaces.ownerId, owner.id))).length, 0);
  });

  it('removes the uploaded file when the database refuses the rows (no orphans)', async () => {
    const { owner, spaceId } = await ownerWithSpace();
    assert.equal((await upload(`/api/spaces/${spaceId}/images`, owner.token, imagesForm(9))).status, 201);
    // Both pass the early count (9 + 1 ≤ 10) and upload; the locked count lets only one in.
    const results = await Promise.all([
      upload(`/api/spaces/${spaceId}/images`, owner.token, imagesForm(1)),
      upload(`/api/spaces/${spaceId}/images`, owner.token, imagesForm(1)),
    ]);
    assert.deepEqual(results.map((result) => result.status).sort(), [201, 400]);
    assert.equal(results.find((result) => result.status === 400)!.body.code, 'too_many_images');
    assert.equal((await rowsOf(spaceId)).length, 10);
    assert.equal(assetsIn(`spacer/spaces/${spaceId}`).length, 10, 'the refused upload was destroyed');
  });

  it('refuses to store anything when the credentials are wrong', async () => {
    const wrong = await buildTestApp({
      env: { ...cloudinary.env, CLOUDINARY_URL: `cloudinary://${cloudinary.account.apiKey}:not-the-secret@${cloudinary.account.cloudName}` },
    });
    const { owner, spaceId } = await ownerWithSpace(wrong);
    const result = await upload(`/api/spaces/${spaceId}/images`, owner.token, imagesForm(1), wrong);
    assert.equal(result.status, 503);
    assert.equal((await rowsOf(spaceId)).length, 0);
    assert.equal(assetsIn(`spacer/spaces/${spaceId}`).length, 0);
  });

  it('stores avatars in spacer/avatars/<id> and destroys the one they replace', async () => {
    const user = await createUser(app);
    const send = () => {
      const form = new FormData();
      form.append('avatar', new Blob([jpeg], { type: 'image/jpeg' }), 'me.jpg');
      return app.inject({ method: 'POST', url: `/api/users/${user.id}/avatar`, headers: { authorization: `Bearer ${user.token}` }, payload: form });
    };
    assert.equal((await send()).statusCode, 200);
    const [first] = await db.select().from(users).where(eq(users.id, user.id));
    assert.ok(cloudinary.assets.has(first!.avatarKey!));
    assert.match(first!.avatarKey!, new RegExp(`^spacer/avatars/${user.id}/`));
    const second = await send();
    assert.equal(second.statusCode, 200);
    assert.equal(cloudinary.assets.has(first!.avatarKey!), false, 'the replaced avatar is destroyed');
    assert.equal(assetsIn(`spacer/avatars/${user.id}`).length, 1);
    assert.match(second.json().avatar_url, /^https:\/\/res\.cloudinary\.com\//);
  });
});
