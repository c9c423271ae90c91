import { validationError } from '../../shared/errors.ts';
import { TESTIMONIAL_MIN_LENGTH } from './testimonials.schemas.ts';

/** The text as stored: trimmed, and still long enough once trimmed (the schema counted the spaces). */
export function normalizeContent(content: string): string {
  const trimmed = content.trim();
  if ([...trimmed].length < TESTIMONIAL_MIN_LENGTH) throw validationError('content', `must be at least ${TESTIMONIAL_MIN_LENGTH} characters`);
  return trimmed;
}
