import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { MAX_INPUT_PIXELS, processImage, sniffFormat } from '../../src/infra/images.ts';
import { AppError } from '../../src/shared/errors.ts';
import {
  acceptedFixtures,
  EXIF_GPS_IFD,
  exifTags,
  isMarker,
  orientedJpeg,
  pixelAt,
  pixelBomb,
  riffChunks,
  smallJpeg,
  svgImage,
  textFile,
  transparentPng,
  truncatedJpeg,
} from '../helpers/images.ts';

const BOX = { maxSide: 800 };

/** Asserts that `promise` rejects with the AppError of that status and code. */
async function assertRefused(promise: Promise<unknown>, status: number, code: string) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AppError, `an AppError, got ${String(error)}`);
    assert.equal(error.statusCode, status);
    assert.equal(error.code, code);
    return true;
  });
}

describe('sniffFormat', () => {
  it('names each accepted format from its first bytes', async () => {
    for (const fixture of await acceptedFixtures()) assert.equal(sniffFormat(fixture.data), fixture.format);
  });

  it('judges by content: text, SVG, an empty or a too-short buffer are no image', () => {
    assert.equal(sniffFormat(textFile()), undefined);
    assert.equal(sniffFormat(svgImage()), undefined);
    assert.equal(sniffFormat(Buffer.alloc(0)), undefined);
    assert.equal(sniffFormat(Buffer.from([0xff, 0xd8, 0xff])), undefined);
  });

  it('does not take an ISO-BMFF file of another brand (HEIC, MP4) for AVIF', () => {
    const box = (brands: string[]) => {
      const body = Buffer.from(`ftyp${brands[0]}\0\0\0\0${brands.slice(1).join('')}`, 'latin1');
      const size = Buffer.alloc(4);
      size.writeUInt32BE(body.length + 4);
      return Buffer.concat([size, body, Buffer.alloc(16)]);
    };
    assert.equal(sniffFormat(box(['heic', 'mif1', 'heic'])), undefined);
    assert.equal(sniffFormat(box(['isom', 'isom', 'mp41'])), undefined);
    assert.equal(sniffFormat(box(['mif1', 'mif1', 'avif'])), 'avif');
  });
});

describe('processImage', () => {
  it('decodes every accepted format and re-encodes it as WebP within 800×800', async () => {
    for (const fixture of await acceptedFixtures()) {
      const result = await processImage(fixture.data, BOX);
      assert.equal(result.contentType, 'image/webp', fixture.format);
      assert.equal(result.extension, 'webp');
      const metadata = await sharp(result.data).metadata();
      assert.equal(metadata.format, 'webp', fixture.format);
      assert.equal(metadata.width, result.width, `${fixture.format}: reported width is the real one`);
      assert.equal(metadata.height, result.height, `${fixture.format}: reported height is the real one`);
      const scale = Math.min(1, 800 / Math.max(fixture.width, fixture.height));
      assert.equal(result.width, Math.round(fixture.width * scale), `${fixture.format} width`);
      assert.equal(result.height, Math.round(fixture.height * scale), `${fixture.format} height`);
    }
  });

  it('applies EXIF orientation 6: a 3000×2000 sideways photo comes out 533×800 portrait, turned clockwise', async () => {
    const result = await processImage(await orientedJpeg(), BOX);
    assert.equal(result.height, 800);
    assert.ok(Math.abs(result.width - 533) <= 1, `width ${result.width}`);
    // The marker was stored top-left; orientation 6 shows that corner at the top right.
    assert.ok(isMarker(await pixelAt(result.data, result.width - 5, 5)), 'marker at the top right');
    assert.ok(!isMarker(await pixelAt(result.data, 5, 5)), 'top left is background');
    assert.ok(!isMarker(await pixelAt(result.data, result.width - 5, result.height - 5)), 'bottom right is background');
  });

  it('strips all metadata: no EXIF (GPS, orientation), ICC or XMP in the output', async () => {
    const source = await sharp(await orientedJpeg()).metadata();
    assert.ok(source.exif && exifTags(source.exif).includes(EXIF_GPS_IFD), 'the source carries GPS');

    const result = await processImage(await orientedJpeg(), BOX);
    const metadata = await sharp(result.data).metadata();
    assert.equal(metadata.exif, undefined);
    assert.equal(metadata.orientation, undefined);
    assert.equal(metadata.icc, undefined);
    assert.equal(metadata.xmp, undefined);
    const chunks = riffChunks(result.data);
    for (const chunk of ['EXIF', 'ICCP', 'XMP ']) assert.ok(!chunks.includes(chunk), `no ${chunk} chunk in ${chunks.join(',')}`);
  });

  it('keeps transparency', async () => {
    const result = await processImage(await transparentPng(), BOX);
    const metadata = await sharp(result.data).metadata();
    assert.equal(metadata.hasAlpha, true);
    const { data } = await sharp(result.data)
      .ensureAlpha()
      .extract({ left: result.width - 5, top: result.height - 5, width: 1, height: 1 })
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.ok(data[3]! > 100 && data[3]! < 155, `half-transparent background, alpha ${data[3]}`);
  });

  it('never enlarges a small image', async () => {
    const result = await processImage(await smallJpeg(), BOX);
    assert.deepEqual([result.width, result.height], [120, 80]);
    const metadata = await sharp(result.data).metadata();
    assert.deepEqual([metadata.width, metadata.height], [120, 80]);
  });

  it('crops to a square in square mode (avatars), oriented first', async () => {
    const result = await processImage(await orientedJpeg(), { maxSide: 400, square: true });
    assert.deepEqual([result.width, result.height], [400, 400]);
    const metadata = await sharp(result.data).metadata();
    assert.deepEqual([metadata.format, metadata.width, metadata.height], ['webp', 400, 400]);
    assert.equal(metadata.exif, undefined);
  });

  it('refuses a text file with 415 unsupported_media_type', async () => {
    await assertRefused(processImage(textFile(), BOX), 415, 'unsupported_media_type');
  });

  it('refuses SVG with 415 unsupported_media_type', async () => {
    await assertRefused(processImage(svgImage(), BOX), 415, 'unsupported_media_type');
  });

  it('refuses a truncated JPEG with 415 unsupported_media_type', async () => {
    await assertRefused(processImage(await truncatedJpeg(), BOX), 415, 'unsupported_media_type');
  });

  it('refuses a JPEG signature followed by garbage with 415', async () => {
    const fake = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), textFile()]);
    await assertRefused(processImage(fake, BOX), 415, 'unsupported_media_type');
  });

  it(`refuses a pixel bomb (more than ${MAX_INPUT_PIXELS.toLocaleString('en')} pixels) with 413 image_too_large`, async () => {
    const bomb = await pixelBomb();
    assert.ok(bomb.length < 1024 * 1024, `the bomb is small on the wire (${bomb.length} bytes)`);
    await assertRefused(processImage(bomb, BOX), 413, 'image_too_large');
  });
});
