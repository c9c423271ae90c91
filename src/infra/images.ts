import type SharpModule from 'sharp';
import { AppError } from '../shared/errors.ts';

/**
 * The only module that touches sharp. Uploaded bytes are judged by their signature, never by
 * file name or Content-Type, and only then decoded, so formats we do not accept (SVG, PDF, …) never
 * reach an image decoder.
 */

/**
 * sharp brings libvips (~8 MB resident, plus its own thread pool once it works), which most
 * processes never need: it is loaded by the first image, not at start-up.
 */
let sharpModule: Promise<typeof SharpModule> | undefined;
const loadSharp = () => (sharpModule ??= import('sharp').then((module) => module.default));

export type AcceptedFormat = 'jpeg' | 'png' | 'webp' | 'avif' | 'gif' | 'tiff';

/** Decompression-bomb guard: a 10 MB file may not unpack into more than this many pixels. */
export const MAX_INPUT_PIXELS = 50_000_000;

export interface ProcessedImage {
  data: Buffer;
  width: number;
  height: number;
  contentType: 'image/webp';
  extension: 'webp';
}

const ascii = (bytes: Buffer, start: number, end: number) => bytes.subarray(start, end).toString('latin1');

/** The format the first bytes announce, or undefined. */
export function sniffFormat(bytes: Buffer): AcceptedFormat | undefined {
  if (bytes.length < 12) return undefined;
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a') return 'gif';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'webp';
  if (ascii(bytes, 0, 4) === 'II*\0' || ascii(bytes, 0, 4) === 'MM\0*') return 'tiff';
  if (ascii(bytes, 4, 8) === 'ftyp') {
    const boxSize = Math.min(bytes.readUInt32BE(0), bytes.length);
    const brands = [ascii(bytes, 8, 12)];
    for (let offset = 16; offset + 4 <= boxSize; offset += 4) brands.push(ascii(bytes, offset, offset + 4));
    if (brands.includes('avif') || brands.includes('avis')) return 'avif';
  }
  return undefined;
}

const notAnImage = () => new AppError(415, 'unsupported_media_type', 'The file is not a valid JPEG, PNG, WebP, AVIF, GIF or TIFF image');

export interface ProcessOptions {
  /** Fit inside a box of this side (keeping the aspect ratio, never enlarging)… */
  maxSide: number;
  /** …or crop to a square of this side (avatars). */
  square?: boolean;
}

/**
 * Decodes, applies the EXIF orientation, fits (or crops) to size, drops all metadata (GPS
 * included: sharp writes none unless asked) and re-encodes as WebP at quality 80.
 */
export async function processImage(input: Buffer, options: ProcessOptions): Promise<ProcessedImage> {
  if (!sniffFormat(input)) throw notAnImage();
  const sharp = await loadSharp();
  try {
    const pipeline = sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', animated: false })
      .rotate()
      .resize({
        width: options.maxSide,
        height: options.maxSide,
        fit: options.square ? 'cover' : 'inside',
        withoutEnlargement: !options.square,
      })
      .webp({ quality: 80, effort: 4 });
    const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, contentType: 'image/webp', extension: 'webp' };
  } catch (error) {
    if (/pixel limit/i.test((error as Error).message)) {
      throw new AppError(413, 'image_too_large', `The image has more than ${MAX_INPUT_PIXELS.toLocaleString('en')} pixels`);
    }
    throw notAnImage();
  }
}

/** Renders an SVG we wrote ourselves (demo data) to a JPEG. Uploaded SVGs never get here: sniffFormat refuses them. */
export async function renderSvgToJpeg(svg: string): Promise<Buffer> {
  const sharp = await loadSharp();
  return sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer();
}
