import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { asc, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { spaceImages, spaces, users } from '../../src/db/schema/index.ts';
import { buildTestApp, call, tempDir, type CallResult } from '../helpers/app.ts';
import { assertError } from '../helpers/assertions.ts';
import { createUser, type TestUser } from '../helpers/factories.ts';
import { noisePng, orientedJpeg, photoJpeg, pixelBomb, riffChunks, smallJpeg, svgImage, textFile, transparentPng, truncatedJpeg } from '../helpers/images.ts';

const dir = tempDir();
const app = await buildTestApp({ env: { DATA_DIR: dir } });
const db = app.services.database.db;
const uploads = join(dir, 'uploads');

// A second app on the same database with a 1 MB upload limit, with its own uploads folder.
const smallDir = tempDir();
const smallApp = await buildTestApp({ env: { DATA_DIR: smallDir, MAX_UPLOAD_MB: '1' } });

// The admin only ever acts on others' spaces and users, so the file's tests may share it.
const admin = await createUser(app, { role: 'admin' });

const PUBLIC_URL = 'http://localhost:5000';
const MISSING_ID = 2_000_000_000;
const IMAGE_KEYS = ['created_at', 'height', 'id', 'image_url', 'is_primary', 'space_id', 'width'];
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

const spaceBody = {
  name: 'Gallery Loft',
  description: 'A bright loft with big windows',
  address: 'Kenyatta Avenue 12',
  city: 'Nairobi',
  price_per_hour: 1500,
  capacity: 12,
};

// --- requests ----------------------------------------------------------------------------------

interface FilePart {
  data: Buffer;
  field?: string;
  name?: string;
  type?: string;
}

const jpegPart = (data: Buffer, field = 'images'): FilePart => ({ data, field, name: 'photo.jpg', type: 'image/jpeg' });

function formOf(files: FilePart[], fields: Record<string, string> = {}): FormData {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  for (const file of files)
    form.append(file.field ?? 'images', new Blob([file.data], { type: file.type ?? 'application/octet-stream' }), file.name ?? 'upload.bin');
  return form;
}

async function send(target: FastifyInstance, method: 'POST' | 'PUT', url: string, token: string | undefined, payload: FormData): Promise<CallResult> {
  const response = await target.inject({ method, url, headers: token ? { authorization: `Bearer ${token}` } : {}, payload });
  const json = String(response.headers['content-type'] ?? '').includes('json');
  return { status: response.statusCode, body: json ? response.json() : response.body, headers: response.headers, raw: response.body };
}

const uploadImages = (spaceId: number, token: string | undefined, files: FilePart[], target = app) =>
  send(target, 'POST', `/api/spaces/${spaceId}/images`, token, formOf(files));

const uploadAvatar = (userId: number, token: string | undefined, file: FilePart, target = app) =>
  send(target, 'POST', `/api/users/${userId}/avatar`, token, formOf([file]));

const setPrimary = (spaceId: number, imageId: number, token: string | undefined, body: unknown = { is_primary: true }) =>
  call(app, 'PUT', `/api/spaces/${spaceId}/images/${imageId}`, { ...(token ? { token } : {}), body });

const deleteImage = (spaceId: number, imageId: number, token: string | undefined) =>
  call(app, 'DELETE', `/api/spaces/${spaceId}/images/${imageId}`, token ? { token } : {});

async function ownerWithSpace(target = app): Promise<{ owner: TestUser; spaceId: number }> {
  const owner = await createUser(target, { role: 'owner' });
  const created = await call(target, 'POST', '/api/spaces', { token: owner.token, body: spaceBody });
  assert.equal(created.status, 201, created.raw);
  return { owner, spaceId: created.body.id as number };
}

/** A space with `count` small images uploaded by its owner; returns the images oldest first. */
async function spaceWithImages(count: number) {
  const { owner, spaceId } = await ownerWithSpace();
  const files = await Promise.all(Array.from({ length: count }, async () => jpegPart(await smallJpeg())));
  const uploaded = await uploadImages(spaceId, owner.token, files);
  assert.equal(uploaded.status, 201, uploaded.raw);
  return { owner, spaceId, images: uploaded.body.images as Array<{ id: number; image_url: string; is_primary: boolean }> };
}

/** A GET over a real socket, the path sent byte for byte (no normalisation of `..`). */
function rawGet(address: string, path: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const { hostname, port } = new URL(address);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: hostname, port, path, method: 'GET' }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    request.on('error', reject);
    request.end();
  });
}

// --- state -------------------------------------------------------------------------------------

const imageRows = (spaceId: number) => db.select().from(spaceImages).where(eq(spaceImages.spaceId, spaceId)).orderBy(asc(spaceImages.id));

const primaryIds = async (spaceId: number) => (await imageRows(spaceId)).filter((row) => row.isPrimary).map((row) => row.id);

/** The files stored for a folder such as `spaces/12`, by name. */
function filesIn(folder: string, root = uploads): string[] {
  const path = join(root, folder);
  return existsSync(path) ? readdirSync(path).sort() : [];
}

/** Where a local image URL's bytes are on disk. */
function pathOf(url: string, root = uploads): string {
  const { origin, pathname } = new URL(url);
  assert.equal(origin, PUBLIC_URL);
  assert.ok(pathname.startsWith('/uploads/'), pathname);
  return join(root, pathname.slice('/uploads/'.length));
}

/** The stored file exists, is a WebP of that size and carries no metadata. */
async function assertStoredWebp(url: string, width: number, height: number) {
  const path = pathOf(url);
  assert.ok(existsSync(path), `${path} exists`);
  const data = readFileSync(path);
  const metadata = await sharp(data).metadata();
  assert.equal(metadata.format, 'webp');
  assert.deepEqual([metadata.width, metadata.height], [width, height]);
  assert.equal(metadata.exif, undefined, 'no EXIF');
  assert.equal(metadata.icc, undefined, 'no ICC profile');
  assert.equal(metadata.xmp, undefined, 'no XMP');
  for (const chunk of riffChunks(data)) assert.ok(!['EXIF', 'ICCP', 'XMP '].includes(chunk), `no ${chunk} chunk`);
}

// --- assertions --------------------------------------------------------------------------------

function assertImage(image: Record<string, any>, spaceId: number) {
  assert.deepEqual(Object.keys(image).sort(), IMAGE_KEYS);
  assert.equal(image.space_id, spaceId);
  assert.match(image.image_url, new RegExp(`^${PUBLIC_URL}/uploads/spaces/${spaceId}/${UUID}\\.webp$`));
  assert.ok(image.width <= 800 && image.height <= 800, `${image.width}×${image.height} fits 800×800`);
  assert.match(image.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
}

/** Nothing stored for the space: no row, no file. */
async function assertNothingStored(spaceId: number, root = uploads) {
  assert.deepEqual(await imageRows(spaceId), []);
  assert.deepEqual(filesIn(`spaces/${spaceId}`, root), []);
}

// --- tests -------------------------------------------------------------------------------------

describe('POST /api/spaces/:id/images', () => {
  it('stores three files from `images` as WebP within 800×800, auto-rotated, metadata stripped, the first primary', async () => {
    const { owner, spaceId } = await ownerWithSpace();
    const response = await uploadImages(spaceId, owner.token, [
      jpegPart(await orientedJpeg()),
      { data: await transparentPng(), name: 'logo.png', type: 'image/png' },
      jpegPart(await photoJpeg()),
    ]);

    assert.equal(response.status, 201, response.raw);
    assert.deepEqual(Object.keys(response.body), ['images']);
    const images = response.body.images;
    assert.equal(images.length, 3);
    for (const image of images) assertImage(image, spaceId);
    assert.deepEqual(
      images.map((image: any) => image.is_primary),
      [true, false, false],
    );
    // 3000×2000 with orientation 6 displays 2000×3000: 533×800; 640×480 stays; 1200×900 becomes 800×600.
    assert.deepEqual(
      images.map((image: any) => [image.width, image.height]),
      [
        [533, 800],
        [640, 480],
        [800, 600],
      ],
    );
    for (const image of images) await assertStoredWebp(image.image_url, image.width, image.height);
    assert.equal(new Set(images.map((image: any) => image.image_url)).size, 3, 'each file has its own name');

    const rows = await imageRows(spaceId);
    assert.deepEqual(
      rows.map((row) => row.id),
      images.map((image: any) => image.id),
    );
    assert.deepEqual(
      rows.map((row) => row.isPrimary),
      [true, false, false],
    );
    for (const [index, row] of rows.entries()) {
      assert.equal(row.storage, 'local');
      assert.equal(row.imageUrl, images[index].image_url);
      assert.equal(`${PUBLIC_URL}/uploads/${row.storageKey}`, row.imageUrl);
      assert.deepEqual([row.width, row.height], [images[index].width, images[index].height]);
    }
    assert.equal(filesIn(`spaces/${spaceId}`).length, 3);
  });

  it('accepts a single file in the `image` field', async () => {
    const { owner, spaceId } = await ownerWithSpace();
    const response = await uploadImages(spaceId, owner.token, [jpegPart(await photoJpeg(), 'image')]);
    assert.equal(response.status, 201, response.raw);
    assert.equal(response.body.images.length, 1);
    assertImage(response.body.images[0], spaceId);
    assert.equal(response.body.images[0].is_primary, true);
    await assertStoredWebp(response.body.images[0].image_url, 800, 600);
    assert.equal((await imageRows(spaceId)).length, 1);
  });

  it('keeps the existing primary when more images are added', async () => {
    const { owner, spaceId, images } = await spaceWithImages(2);
    const response = await uploadImages(spaceId, owner.token, [jpegPart(await smallJpeg()), jpegPart(await smallJpeg())]);
    assert.equal(response.status, 201, response.raw);
    assert.deepEqual(
      response.body.images.map((image: any) => image.is_primary),
      [false, false],
    );
    assert.deepEqual(await primaryIds(spaceId), [images[0]!.id]);
    assert.equal(filesIn(`spaces/${spaceId}`).length, 4);
  });

  it('lets an admin add images to any space', async () => {
    const { spaceId } = await ownerWithSpace();
    const response = await uploadImages(spaceId, admin.token, [jpegPart(await smallJpeg())]);
    assert.equal(response.status, 201, response.raw);
    assert.equal((await imageRows(spaceId)).length, 1);
  });

  it('returns 400 for a file in an unexpected field', async () => {
    const { owner, spaceId } = await ownerWithSpace();
    const response = await uploadImages(spaceId, owner.token, [jpegPart(await photoJpeg(), 'photo')]);
    assertError(response, 400, 'validation_error');
    assert.deepEqual(
      response.body.details.map((detail: { field: string }) => detail.field),
      ['photo'],
    );
    await assertNothingStored(spaceId);
  });

  it('returns 400 when the form carries no file', async () => {
    const { owner, spaceId } = await ownerWithSpace();
    const response = await send(app, 'POST', `/api/spaces/${spaceId}/images`, owner.token, formOf([], { caption: 'no file here' }));
    assertError(response, 400, 'validation_error');
    assert.ok(response.body.details.some((detail: { field: string }) => detail.field === 'images'));
    await assertNothingStored(spaceId);
  });

  it('holds at most 10 images per space: 8 + 3 is refused with too_many_images, 8 + 2 fits, then 1 more is refused', async () => {
    const { owner, spaceId } = await spaceWithImages(8);
    const part = jpegPart(await smallJpeg());

    const over = await uploadImages(spaceId, owner.token, [part, part, part]);
    assertError(over, 400, 'too_many_images');
    assert.equal((await imageRows(spaceId)).length, 8);
    assert.equal(filesIn(`spaces/${spaceId}`).length, 8);

    const fits = await uploadImages(spaceId, owner.token, [part, part]);
    assert.equal(fits.status, 201, fits.raw);
    assert.equal((await imageRows(spaceId)).length, 10);

    assertError(await uploadImages(spaceId, owner.token, [part]), 400, 'too_many_images');
    assert.equal((await imageRows(spaceId)).length, 10);
    assert.equal(filesIn(`spaces/${spaceId}`).length, 10);
    assert.equal((await primaryIds(spaceId)).length, 1);
  });

  it('refuses 11 files in one request and stores none of them', async () => {
    const { owner, spaceId } = await ownerWithSpace();
    const part = jpegPart(await smallJpeg());
    const response = await uploadImages(
      spaceId,
      owner.token,
      Array.from({ length: 11 }, () => part),
    );
    assertError(response, 400, 'too_many_images');
    await assertNothingStored(spaceId);

    const ten = await uploadImages(
      spaceId,
      owner.token,
      Array.from({ length: 10 }, () => part),
    );
    assert.equal(ten.status, 201, ten.raw);
    assert.equal((await imageRows(spaceId)).length, 10);
  });

  it('returns 401 without a token', async () => {
    const { spaceId } = await ownerWithSpace();
    assertError(await uploadImages(spaceId, undefined, [jpegPart(await smallJpeg())]), 401, 'unauthorized');
    await assertNothingStored(spaceId);
  });

  it('returns 403 to another owner and stores nothing', async () => {
    const { spaceId } = await ownerWithSpace();
    const stranger = await createUser(app, { role: 'owner' });
    assertError(await uploadImages(spaceId, stranger.token, [jpegPart(await smallJpeg())]), 403, 'forbidden');
    await assertNothingStored(spaceId);
  });

  it('returns 403 to a client', async () => {
    const { spaceId } = await ownerWithSpace();
    const client = await createUser(app, { role: 'client' });
    assertError(await uploadImages(spaceId, client.token, [jpegPart(await smallJpeg())]), 403, 'forbidden');
    await assertNothingStored(spaceId);
  });

  it('returns 404 for a space that does not exist', async () => {
    const response = await uploadImages(MISSING_ID, admin.token, [jpegPart(await smallJpeg())]);
    assertError(response, 404, 'not_found');
    assert.deepEqual(filesIn(`spaces/${MISSING_ID}`), []);
  });

  it('returns 413 image_too_large for a pixel bomb, and stores nothing', async () => {
    const { owner, spaceId } = await ownerWithSpace();
    assertError(await uploadImages(spaceId, owner.token, [{ data: await pixelBomb(), name: 'bomb.png', type: 'image/png' }]), 413, 'image_too_large');
    await assertNothingStored(spaceId);
  });

  it('returns 413 payload_too_large for a file over MAX_UPLOAD_MB, and stores nothing', async () => {
    const { owner, spaceId } = await ownerWithSpace(smallApp);
    const big = await noisePng(1.5 * 1024 * 1024);
    assert.ok(big.length > 1024 * 1024 && big.length < 2 * 1024 * 1024, `${big.length} bytes`);
    const response = await uploadImages(spaceId, owner.token, [jpegPart(await smallJpeg()), { data: big, name: 'big.png', type: 'image/png' }], smallApp);
    assertError(response, 413, 'payload_too_large');
    await assertNothingStored(spaceId, join(smallDir, 'uploads'));

    // The same file is fine under the default 10 MB limit.
    const { owner: other, spaceId: otherSpace } = await ownerWithSpace();
    assert.equal((await uploadImages(otherSpace, other.token, [{ data: big, name: 'big.png', type: 'image/png' }])).status, 201);
  });

  it('returns 413 before reading the body when the declared Content-Length exceeds what the limits allow', async () => {
    const { owner, spaceId } = await ownerWithSpace(smallApp);
    // 10 files of 1 MB plus the form fields' allowance is about 16 MB; 64 MB can never fit.
    let pulled = 0;
    const body = new Readable({
      read() {
        // A client that is still sending: bytes only flow if the server reads them, and the body never ends.
        pulled += 16 * 1024;
        this.push(Buffer.alloc(16 * 1024, 0x61));
      },
    });
    const response = await smallApp.inject({
      method: 'POST',
      url: `/api/spaces/${spaceId}/images`,
      headers: {
        authorization: `Bearer ${owner.token}`,
        'content-type': 'multipart/form-data; boundary=----spacer',
        'content-length': String(64 * 1024 * 1024),
      },
      payload: body,
    });
    body.destroy();
    assertError({ status: response.statusCode, body: response.json(), headers: response.headers, raw: response.body }, 413, 'payload_too_large');
    assert.ok(pulled <= 64 * 1024, `at most a buffer's worth was read (${pulled} bytes)`);
    await assertNothingStored(spaceId, join(smallDir, 'uploads'));
  });

  it('returns 415 for a text file named photo.jpg sent as image/jpeg, and stores nothing', async () => {
    const { owner, spaceId } = await ownerWithSpace();
    const response = await uploadImages(spaceId, owner.token, [jpegPart(textFile())]);
    assertError(response, 415, 'unsupported_media_type');
    await assertNothingStored(spaceId);
  });

  it('returns 415 for a truncated JPEG', async () => {
    const { owner, spaceId } = await ownerWithSpace();
    assertError(await uploadImages(spaceId, owner.token, [jpegPart(await truncatedJpeg())]), 415, 'unsupported_media_type');
    await assertNothingStored(spaceId);
  });

  it('returns 415 for an SVG', async () => {
    const { owner, spaceId } = await ownerWithSpace();
    assertError(await uploadImages(spaceId, owner.token, [{ data: svgImage(), name: 'plan.svg', type: 'image/svg+xml' }]), 415, 'unsupported_media_type');
    await assertNothingStored(spaceId);
  });

  it('stores none of the files when one of several is not an image', async () => {
    const { owner, spaceId } = await ownerWithSpace();
    const response = await uploadImages(spaceId, owner.token, [jpegPart(await photoJpeg()), jpegPart(textFile()), jpegPart(await photoJpeg())]);
    assertError(response, 415, 'unsupported_media_type');
    await assertNothingStored(spaceId);
  });

  it('returns 415 for JSON instead of multipart', async () => {
    const { owner, spaceId } = await ownerWithSpace();
    const response = await call(app, 'POST', `/api/spaces/${spaceId}/images`, { token: owner.token, body: { images: ['https://example.com/a.jpg'] } });
    assertError(response, 415, 'unsupported_media_type');
    await assertNothingStored(spaceId);
  });
});

describe('GET /uploads/*', () => {
  it('serves a stored image as image/webp, cacheable for a year and immutable', async () => {
    const { images } = await spaceWithImages(1);
    const url = new URL(images[0]!.image_url);
    const response = await app.inject({ method: 'GET', url: url.pathname });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'image/webp');
    const cacheControl = String(response.headers['cache-control']);
    assert.match(cacheControl, /max-age=31536000/);
    assert.match(cacheControl, /immutable/);
    // Embedded by the front end on another origin, and never sniffed into something executable.
    assert.equal(response.headers['cross-origin-resource-policy'], 'cross-origin');
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
    assert.deepEqual(response.rawPayload, readFileSync(pathOf(images[0]!.image_url)));
  });

  it('never serves a file outside the uploads folder', async () => {
    const secret = 'TOP-SECRET-do-not-serve';
    writeFileSync(join(dir, 'secrets.json'), JSON.stringify({ secret }));
    const { spaceId } = await spaceWithImages(1);
    const attempts = [
      '/uploads/../secrets.json',
      '/uploads/%2e%2e/secrets.json',
      '/uploads/%2E%2E%2Fsecrets.json',
      '/uploads/..%2fsecrets.json',
      `/uploads/spaces/${spaceId}/..%2f..%2f..%2fsecrets.json`,
      '/uploads/spaces/..%2f..%2fsecrets.json',
      '/uploads/spaces/../../secrets.json',
      '/uploads/%252e%252e/secrets.json',
      '/uploads/..%5csecrets.json',
    ];
    // inject resolves `..` the way a browser would; a raw socket sends the path exactly as written.
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    for (const url of attempts) {
      for (const response of [
        await rawGet(address, url),
        await app.inject({ method: 'GET', url }).then((r) => ({ status: r.statusCode, headers: r.headers, body: r.body })),
      ]) {
        assert.ok(response.status >= 400 && response.status < 500, `${url} → ${response.status}`);
        assert.ok(!response.body.includes(secret), `${url} leaks the file`);
        assertError({ status: response.status, body: JSON.parse(response.body), headers: response.headers, raw: response.body }, response.status);
      }
    }
  });

  it('returns 404 in the error envelope for a file that does not exist', async () => {
    const response = await app.inject({ method: 'GET', url: '/uploads/spaces/1/00000000-0000-4000-8000-000000000000.webp' });
    assertError({ status: response.statusCode, body: response.json(), headers: response.headers, raw: response.body }, 404, 'not_found');
  });
});

describe('PUT /api/spaces/:id/images/:image_id', () => {
  it('makes the chosen image the one primary', async () => {
    const { owner, spaceId, images } = await spaceWithImages(3);
    const response = await setPrimary(spaceId, images[2]!.id, owner.token);
    assert.equal(response.status, 200, response.raw);
    assertImage(response.body, spaceId);
    assert.equal(response.body.id, images[2]!.id);
    assert.equal(response.body.is_primary, true);
    assert.deepEqual(await primaryIds(spaceId), [images[2]!.id]);

    // Choosing the primary again changes nothing.
    assert.equal((await setPrimary(spaceId, images[2]!.id, owner.token)).status, 200);
    assert.deepEqual(await primaryIds(spaceId), [images[2]!.id]);
  });

  it('lets an admin choose the primary of any space', async () => {
    const { spaceId, images } = await spaceWithImages(2);
    assert.equal((await setPrimary(spaceId, images[1]!.id, admin.token)).status, 200);
    assert.deepEqual(await primaryIds(spaceId), [images[1]!.id]);
  });

  it('returns 400 for is_primary false: a space always has a primary', async () => {
    const { owner, spaceId, images } = await spaceWithImages(2);
    const response = await setPrimary(spaceId, images[0]!.id, owner.token, { is_primary: false });
    assertError(response, 400, 'validation_error');
    assert.deepEqual(await primaryIds(spaceId), [images[0]!.id]);
  });

  it('returns 400 without is_primary', async () => {
    const { owner, spaceId, images } = await spaceWithImages(2);
    assertError(await setPrimary(spaceId, images[1]!.id, owner.token, {}), 400, 'validation_error');
    assert.deepEqual(await primaryIds(spaceId), [images[0]!.id]);
  });

  it('returns 403 to another owner and to a client, 401 without a token', async () => {
    const { spaceId, images } = await spaceWithImages(2);
    const stranger = await createUser(app, { role: 'owner' });
    const client = await createUser(app, { role: 'client' });
    assertError(await setPrimary(spaceId, images[1]!.id, stranger.token), 403, 'forbidden');
    assertError(await setPrimary(spaceId, images[1]!.id, client.token), 403, 'forbidden');
    assertError(await setPrimary(spaceId, images[1]!.id, undefined), 401, 'unauthorized');
    assert.deepEqual(await primaryIds(spaceId), [images[0]!.id]);
  });

  it('returns 404 for an image of another space, a missing image or a missing space', async () => {
    const { owner, spaceId, images } = await spaceWithImages(2);
    const other = await spaceWithImages(2);
    assertError(await setPrimary(spaceId, other.images[1]!.id, owner.token), 404, 'not_found');
    assertError(await setPrimary(spaceId, MISSING_ID, owner.token), 404, 'not_found');
    assertError(await setPrimary(MISSING_ID, images[1]!.id, admin.token), 404, 'not_found');
    assert.deepEqual(await primaryIds(spaceId), [images[0]!.id]);
    assert.deepEqual(await primaryIds(other.spaceId), [other.images[0]!.id]);
  });
});

describe('DELETE /api/spaces/:id/images/:image_id', () => {
  it('deletes a secondary image and its file; the primary stays', async () => {
    const { owner, spaceId, images } = await spaceWithImages(3);
    const response = await deleteImage(spaceId, images[1]!.id, owner.token);
    assert.equal(response.status, 200, response.raw);
    assert.equal(typeof response.body.message, 'string');
    assert.deepEqual(
      (await imageRows(spaceId)).map((row) => row.id),
      [images[0]!.id, images[2]!.id],
    );
    assert.ok(!existsSync(pathOf(images[1]!.image_url)), 'the file is gone');
    assert.ok(existsSync(pathOf(images[0]!.image_url)) && existsSync(pathOf(images[2]!.image_url)), 'the others stay');
    assert.deepEqual(await primaryIds(spaceId), [images[0]!.id]);
    // Gone from the web too.
    assert.equal((await app.inject({ method: 'GET', url: new URL(images[1]!.image_url).pathname })).statusCode, 404);
  });

  it('makes the oldest remaining image primary when the primary is deleted', async () => {
    const { owner, spaceId, images } = await spaceWithImages(4);
    assert.equal((await setPrimary(spaceId, images[2]!.id, owner.token)).status, 200);
    assert.equal((await deleteImage(spaceId, images[2]!.id, owner.token)).status, 200);
    assert.deepEqual(await primaryIds(spaceId), [images[0]!.id]);
    assert.equal((await deleteImage(spaceId, images[0]!.id, owner.token)).status, 200);
    assert.deepEqual(await primaryIds(spaceId), [images[1]!.id]);
    assert.equal(filesIn(`spaces/${spaceId}`).length, 2);
  });

  it('leaves no rows and no files once the last image is deleted', async () => {
    const { owner, spaceId, images } = await spaceWithImages(2);
    for (const image of images) assert.equal((await deleteImage(spaceId, image.id, owner.token)).status, 200);
    await assertNothingStored(spaceId);
    const space = await call(app, 'GET', `/api/spaces/${spaceId}`);
    assert.deepEqual(space.body.images, []);
  });

  it('lets an admin delete an image of any space', async () => {
    const { spaceId, images } = await spaceWithImages(2);
    assert.equal((await deleteImage(spaceId, images[0]!.id, admin.token)).status, 200);
    assert.deepEqual(
      (await imageRows(spaceId)).map((row) => [row.id, row.isPrimary]),
      [[images[1]!.id, true]],
    );
  });

  it('returns 403 to another owner and to a client, 401 without a token; the image stays', async () => {
    const { spaceId, images } = await spaceWithImages(1);
    const stranger = await createUser(app, { role: 'owner' });
    const client = await createUser(app, { role: 'client' });
    assertError(await deleteImage(spaceId, images[0]!.id, stranger.token), 403, 'forbidden');
    assertError(await deleteImage(spaceId, images[0]!.id, client.token), 403, 'forbidden');
    assertError(await deleteImage(spaceId, images[0]!.id, undefined), 401, 'unauthorized');
    assert.equal((await imageRows(spaceId)).length, 1);
    assert.ok(existsSync(pathOf(images[0]!.image_url)));
  });

  it('returns 404 for an image of another space and leaves that image alone', async () => {
    const { owner, spaceId } = await spaceWithImages(1);
    const other = await spaceWithImages(1);
    assertError(await deleteImage(spaceId, other.images[0]!.id, owner.token), 404, 'not_found');
    assertError(await deleteImage(MISSING_ID, other.images[0]!.id, admin.token), 404, 'not_found');
    assertError(await deleteImage(spaceId, MISSING_ID, owner.token), 404, 'not_found');
    assert.equal((await imageRows(other.spaceId)).length, 1);
    assert.ok(existsSync(pathOf(other.images[0]!.image_url)));
  });
});

describe('POST /api/spaces (multipart)', () => {
  const fields = (name: string) =>
    Object.fromEntries(Object.entries({ ...spaceBody, name, amenities: 'wifi,projector' }).map(([key, value]) => [key, String(value)]));

  it('creates the space with its two images, the first primary, in spaces/<new id>', async () => {
    const owner = await createUser(app, { role: 'owner' });
    const response = await send(
      app,
      'POST',
      '/api/spaces',
      owner.token,
      formOf([jpegPart(await orientedJpeg()), jpegPart(await photoJpeg())], fields('Multipart Loft')),
    );
    assert.equal(response.status, 201, response.raw);
    const spaceId = response.body.id;
    assert.equal(response.body.name, 'Multipart Loft');
    assert.equal(response.body.owner_id, owner.id);
    assert.equal(response.body.price_per_hour, 1500);
    assert.equal(response.body.capacity, 12);
    assert.deepEqual(response.body.amenities, ['wifi', 'projector']);
    assert.equal(response.body.images.length, 2);
    for (const image of response.body.images) assertImage(image, spaceId);
    assert.deepEqual(
      response.body.images.map((image: any) => image.is_primary),
      [true, false],
    );
    assert.deepEqual(
      response.body.images.map((image: any) => [image.width, image.height]),
      [
        [533, 800],
        [800, 600],
      ],
    );
    for (const image of response.body.images) await assertStoredWebp(image.image_url, image.width, image.height);
    assert.equal((await imageRows(spaceId)).length, 2);
    assert.equal(filesIn(`spaces/${spaceId}`).length, 2);
  });

  it('creates nothing when one of the files is not an image', async () => {
    const owner = await createUser(app, { role: 'owner' });
    const response = await send(app, 'POST', '/api/spaces', owner.token, formOf([jpegPart(await photoJpeg()), jpegPart(textFile())], fields('Doomed Loft')));
    assertError(response, 415, 'unsupported_media_type');
    assert.deepEqual(await db.select({ id: spaces.id }).from(spaces).where(eq(spaces.ownerId, owner.id)), []);
  });

  it('returns 400 for invalid fields and stores no file', async () => {
    const owner = await createUser(app, { role: 'owner' });
    const response = await send(
      app,
      'POST',
      '/api/spaces',
      owner.token,
      formOf([jpegPart(await photoJpeg())], { ...fields('Free Loft'), price_per_hour: '0' }),
    );
    assertError(response, 400, 'validation_error');
    assert.deepEqual(await db.select({ id: spaces.id }).from(spaces).where(eq(spaces.ownerId, owner.id)), []);
  });

  it('returns 403 to a client', async () => {
    const client = await createUser(app, { role: 'client' });
    assertError(await send(app, 'POST', '/api/spaces', client.token, formOf([jpegPart(await smallJpeg())], fields('Client Loft'))), 403, 'forbidden');
  });
});

describe('GET /api/spaces/:id', () => {
  it('lists the images primary first, then oldest first', async () => {
    const { owner, spaceId, images } = await spaceWithImages(3);
    assert.equal((await setPrimary(spaceId, images[2]!.id, owner.token)).status, 200);
    const response = await call(app, 'GET', `/api/spaces/${spaceId}`);
    assert.equal(response.status, 200);
    assert.deepEqual(
      response.body.images.map((image: any) => image.id),
      [images[2]!.id, images[0]!.id, images[1]!.id],
    );
    assert.deepEqual(
      response.body.images.map((image: any) => image.is_primary),
      [true, false, false],
    );
    for (const image of response.body.images) assertImage(image, spaceId);
  });
});

describe('POST /api/users/:id/avatar', () => {
  const avatarRow = async (id: number) => (await db.select({ avatarUrl: users.avatarUrl, avatarKey: users.avatarKey }).from(users).where(eq(users.id, id)))[0]!;

  async function assertAvatarFile(url: string, userId: number) {
    assert.match(url, new RegExp(`^${PUBLIC_URL}/uploads/avatars/${userId}/${UUID}\\.webp$`));
    const metadata = await sharp(readFileSync(pathOf(url))).metadata();
    assert.deepEqual([metadata.format, metadata.width, metadata.height], ['webp', 400, 400]);
    assert.equal(metadata.exif, undefined);
  }

  it('sets your own avatar: a 400×400 WebP under avatars/<id>', async () => {
    const user = await createUser(app);
    const response = await uploadAvatar(user.id, user.token, jpegPart(await orientedJpeg(), 'avatar'));
    assert.equal(response.status, 200, response.raw);
    assert.equal(response.body.id, user.id);
    assert.equal(response.body.email, user.email);
    assert.doesNotMatch(response.raw, /password|avatar_key/);
    await assertAvatarFile(response.body.avatar_url, user.id);
    const row = await avatarRow(user.id);
    assert.equal(row.avatarUrl, response.body.avatar_url);
    assert.equal(`${PUBLIC_URL}/uploads/${row.avatarKey}`, row.avatarUrl);
    assert.equal((await call(app, 'GET', `/api/users/${user.id}`, { token: user.token })).body.avatar_url, response.body.avatar_url);
  });

  it('replaces the previous avatar and deletes its file', async () => {
    const user = await createUser(app);
    const first = await uploadAvatar(user.id, user.token, jpegPart(await photoJpeg(), 'avatar'));
    assert.equal(first.status, 200, first.raw);
    const second = await uploadAvatar(user.id, user.token, { data: await transparentPng(), field: 'avatar', name: 'me.png', type: 'image/png' });
    assert.equal(second.status, 200, second.raw);
    assert.notEqual(second.body.avatar_url, first.body.avatar_url);
    await assertAvatarFile(second.body.avatar_url, user.id);
    assert.ok(!existsSync(pathOf(first.body.avatar_url)), 'the old file is gone');
    assert.equal(filesIn(`avatars/${user.id}`).length, 1);
  });

  it("lets an admin set another user's avatar", async () => {
    const user = await createUser(app, { role: 'owner' });
    const response = await uploadAvatar(user.id, admin.token, jpegPart(await photoJpeg(), 'avatar'));
    assert.equal(response.status, 200, response.raw);
    assert.equal(response.body.id, user.id);
    await assertAvatarFile(response.body.avatar_url, user.id);
    assert.equal(filesIn(`avatars/${admin.id}`).length, 0);
  });

  it('returns 403 to another user and stores nothing', async () => {
    const user = await createUser(app);
    const other = await createUser(app, { role: 'owner' });
    assertError(await uploadAvatar(user.id, other.token, jpegPart(await photoJpeg(), 'avatar')), 403, 'forbidden');
    assert.equal((await avatarRow(user.id)).avatarUrl, null);
    assert.deepEqual(filesIn(`avatars/${user.id}`), []);
  });

  it('returns 401 without a token', async () => {
    const user = await createUser(app);
    assertError(await uploadAvatar(user.id, undefined, jpegPart(await photoJpeg(), 'avatar')), 401, 'unauthorized');
    assert.deepEqual(filesIn(`avatars/${user.id}`), []);
  });

  it('returns 415 for a text file and keeps the current avatar', async () => {
    const user = await createUser(app);
    const first = await uploadAvatar(user.id, user.token, jpegPart(await photoJpeg(), 'avatar'));
    assert.equal(first.status, 200, first.raw);
    assertError(await uploadAvatar(user.id, user.token, jpegPart(textFile(), 'avatar')), 415, 'unsupported_media_type');
    assert.equal((await avatarRow(user.id)).avatarUrl, first.body.avatar_url);
    assert.ok(existsSync(pathOf(first.body.avatar_url)));
    assert.equal(filesIn(`avatars/${user.id}`).length, 1);
  });

  it('returns 413 under the same limits as space images (a pixel bomb, a file over MAX_UPLOAD_MB) and keeps the current avatar', async () => {
    const user = await createUser(app);
    const first = await uploadAvatar(user.id, user.token, jpegPart(await photoJpeg(), 'avatar'));
    assert.equal(first.status, 200, first.raw);
    assertError(
      await uploadAvatar(user.id, user.token, { data: await pixelBomb(), field: 'avatar', name: 'bomb.png', type: 'image/png' }),
      413,
      'image_too_large',
    );
    assert.equal((await avatarRow(user.id)).avatarUrl, first.body.avatar_url);
    assert.equal(filesIn(`avatars/${user.id}`).length, 1);

    const small = await createUser(smallApp);
    const big = await noisePng(1.5 * 1024 * 1024);
    assertError(
      await uploadAvatar(small.id, small.token, { data: big, field: 'avatar', name: 'big.png', type: 'image/png' }, smallApp),
      413,
      'payload_too_large',
    );
    assert.equal((await avatarRow(small.id)).avatarUrl, null);
  });

  it('returns 400 for a file in another field or no file at all', async () => {
    const user = await createUser(app);
    assertError(await uploadAvatar(user.id, user.token, jpegPart(await photoJpeg(), 'images')), 400, 'validation_error');
    assertError(await send(app, 'POST', `/api/users/${user.id}/avatar`, user.token, formOf([], { note: 'nothing' })), 400, 'validation_error');
    assert.deepEqual(filesIn(`avatars/${user.id}`), []);
  });

  it('returns 415 for JSON', async () => {
    const user = await createUser(app);
    assertError(
      await call(app, 'POST', `/api/users/${user.id}/avatar`, { token: user.token, body: { avatar: 'https://example.com/me.png' } }),
      415,
      'unsupported_media_type',
    );
  });

  it('returns 404 for a user that does not exist', async () => {
    assertError(await uploadAvatar(MISSING_ID, admin.token, jpegPart(await photoJpeg(), 'avatar')), 404, 'not_found');
    assert.deepEqual(filesIn(`avatars/${MISSING_ID}`), []);
  });

  it('deletes the stored file when avatar_url is then set through PUT /api/users/:id', async () => {
    const user = await createUser(app);
    const uploaded = await uploadAvatar(user.id, user.token, jpegPart(await photoJpeg(), 'avatar'));
    assert.equal(uploaded.status, 200, uploaded.raw);
    const elsewhere = 'https://images.example.com/me.png';
    const updated = await call(app, 'PUT', `/api/users/${user.id}`, { token: user.token, body: { avatar_url: elsewhere } });
    assert.equal(updated.status, 200, updated.raw);
    assert.equal(updated.body.avatar_url, elsewhere);
    assert.ok(!existsSync(pathOf(uploaded.body.avatar_url)), 'the uploaded file is gone');
    assert.deepEqual(await avatarRow(user.id), { avatarUrl: elsewhere, avatarKey: null });
  });
});
