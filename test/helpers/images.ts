import { randomBytes } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

/**
 * Real image fixtures, made with sharp at test time (nothing binary is checked in). Each is built
 * once per test process and shared; callers get the same Buffer, so they must not mutate it.
 */

const memo = <T>(build: () => Promise<T>): (() => Promise<T>) => {
  let value: Promise<T> | undefined;
  return () => (value ??= build());
};

/** The marker painted in the stored top-left corner of the oriented JPEG. */
const MARKER = { r: 230, g: 20, b: 20 } as const;
const BACKGROUND = { r: 40, g: 110, b: 160 } as const;

/** A solid canvas with a red square in its top-left corner, so a rotation shows where that corner went. */
async function markedCanvas(width: number, height: number, channels: 3 | 4 = 3, alpha = 1) {
  const side = Math.round(Math.min(width, height) / 4);
  const marker = await sharp({ create: { width: side, height: side, channels: 3, background: MARKER } })
    .png()
    .toBuffer();
  return sharp({ create: { width, height, channels, background: { ...BACKGROUND, alpha } } }).composite([{ input: marker, left: 0, top: 0 }]);
}

/**
 * The IFD0 tag ids of an EXIF block (as sharp's metadata().exif returns it: "Exif\0\0" + TIFF).
 * Enough to tell whether a GPS IFD pointer (0x8825) or an orientation (0x0112) is present.
 */
export function exifTags(exif: Buffer): number[] {
  const tiff = exif.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? exif.subarray(6) : exif;
  const little = tiff.subarray(0, 2).toString('latin1') === 'II';
  const u16 = (offset: number) => (little ? tiff.readUInt16LE(offset) : tiff.readUInt16BE(offset));
  const u32 = (offset: number) => (little ? tiff.readUInt32LE(offset) : tiff.readUInt32BE(offset));
  const ifd = u32(4);
  const tags: number[] = [];
  for (let index = 0; index < u16(ifd); index++) tags.push(u16(ifd + 2 + index * 12));
  return tags;
}

export const EXIF_GPS_IFD = 0x8825;

/** The chunk types of a RIFF (WebP) file, e.g. ['VP8 '] or ['VP8X', 'ALPH', 'VP8 ', 'EXIF']. */
export function riffChunks(data: Buffer): string[] {
  if (data.subarray(0, 4).toString('latin1') !== 'RIFF' || data.subarray(8, 12).toString('latin1') !== 'WEBP') throw new Error('not a WebP file');
  const chunks: string[] = [];
  for (let offset = 12; offset + 8 <= data.length;) {
    const size = data.readUInt32LE(offset + 4);
    chunks.push(data.subarray(offset, offset + 4).toString('latin1'));
    offset += 8 + size + (size % 2);
  }
  return chunks;
}

/** The RGB of one pixel. */
export async function pixelAt(data: Buffer, x: number, y: number) {
  const { data: raw } = await sharp(data).removeAlpha().extract({ left: x, top: y, width: 1, height: 1 }).raw().toBuffer({ resolveWithObject: true });
  return { r: raw[0]!, g: raw[1]!, b: raw[2]! };
}

export const isMarker = (pixel: { r: number; g: number; b: number }) => pixel.r > 180 && pixel.g < 80 && pixel.b < 80;

/**
 * A camera-like photo: a 3000×2000 landscape JPEG stored sideways with EXIF orientation 6
 * (display = rotate 90° clockwise, so it shows as 2000×3000 portrait) and GPS coordinates
 * (Nairobi). The marker sits in the stored top-left corner, which displays top-right.
 */
export const orientedJpeg = memo(async () => {
  const data = await (
    await markedCanvas(3000, 2000)
  )
    .jpeg({ quality: 85 })
    .withMetadata({ orientation: 6 })
    .withExif({ IFD3: { GPSLatitudeRef: 'S', GPSLatitude: '1/1 17/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '36/1 49/1 0/1' } })
    .toBuffer();
  // The tests that rely on this fixture mean nothing if sharp silently dropped the metadata.
  const metadata = await sharp(data).metadata();
  if (metadata.format !== 'jpeg' || metadata.width !== 3000 || metadata.height !== 2000) throw new Error('oriented fixture: wrong format or size');
  if (metadata.orientation !== 6) throw new Error(`oriented fixture: orientation is ${metadata.orientation}`);
  if (!metadata.exif || metadata.exif.length === 0) throw new Error('oriented fixture: no EXIF block');
  if (!exifTags(metadata.exif).includes(EXIF_GPS_IFD)) throw new Error('oriented fixture: no GPS IFD');
  return data;
});

/** An ordinary 1200×900 JPEG (no metadata): the everyday upload. */
export const photoJpeg = memo(async () => (await markedCanvas(1200, 900)).jpeg({ quality: 85 }).toBuffer());

/** A 640×480 PNG whose background is half transparent. */
export const transparentPng = memo(async () => (await markedCanvas(640, 480, 4, 0.5)).png().toBuffer());

/** 120×80: smaller than the box, so it must come out 120×80. */
export const smallJpeg = memo(async () => (await markedCanvas(120, 80)).jpeg().toBuffer());

const webpImage = memo(async () => (await markedCanvas(1200, 900)).webp().toBuffer());
const avifImage = memo(async () => (await markedCanvas(1200, 900)).avif({ effort: 0 }).toBuffer());
const gifImage = memo(async () => (await markedCanvas(1200, 900)).gif().toBuffer());
const tiffImage = memo(async () => (await markedCanvas(1200, 900)).tiff().toBuffer());

/** Every accepted format, with the size it was made at. */
export const acceptedFixtures = async () =>
  [
    { format: 'jpeg', data: await photoJpeg(), width: 1200, height: 900 },
    { format: 'png', data: await transparentPng(), width: 640, height: 480 },
    { format: 'webp', data: await webpImage(), width: 1200, height: 900 },
    { format: 'avif', data: await avifImage(), width: 1200, height: 900 },
    { format: 'gif', data: await gifImage(), width: 1200, height: 900 },
    { format: 'tiff', data: await tiffImage(), width: 1200, height: 900 },
  ] as const;

/** Text, uploaded as `photo.jpg` with `Content-Type: image/jpeg` by a careless or hostile client. */
export const textFile = () => Buffer.from('These are my holiday notes, not a photograph.\n'.repeat(20));

/** The first half of a valid JPEG, as a dropped connection or a broken client would leave it. */
export const truncatedJpeg = memo(async () => {
  const whole = await orientedJpeg();
  return Buffer.from(whole.subarray(0, Math.floor(whole.length / 2)));
});

/** SVG is a document (scripts, external references), never accepted as a photo. */
export const svgImage = () =>
  Buffer.from(
    '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="800" height="600"><rect width="800" height="600" fill="#2a6f97"/><script>alert(1)</script></svg>\n',
  );

/**
 * A tiny PNG that decodes to 8000×8000 = 64,000,000 pixels (over the 50,000,000 guard): one bit
 * per pixel, all zero, deflated, as an attacker would write it by hand (about 8 KB on the wire).
 */
export const pixelBomb = memo(async () => {
  const side = 8000;
  const chunk = (type: string, body: Buffer) => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), body]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed));
    return Buffer.concat([head, typed, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header.set([1, 0, 0, 0, 0], 8); // bit depth 1, greyscale, deflate, no filter method, no interlace
  // Each row: filter byte 0, then side / 8 bytes of black.
  const pixels = deflateSync(Buffer.alloc(side * (1 + side / 8)), { level: 9 });
  const data = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', pixels),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  const metadata = await sharp(data).metadata();
  if (metadata.format !== 'png' || metadata.width !== side || metadata.height !== side) throw new Error('pixel bomb fixture: not an 8000×8000 PNG');
  return data;
});

/**
 * A valid PNG of random noise (which no compressor can shrink) of at least `bytes` bytes, for
 * size limits: rejected for its size, never for its content.
 */
export async function noisePng(bytes: number): Promise<Buffer> {
  const side = Math.ceil(Math.sqrt(bytes / 3));
  return sharp(randomBytes(side * side * 3), { raw: { width: side, height: side, channels: 3 } })
    .png({ compressionLevel: 0 })
    .toBuffer();
}
