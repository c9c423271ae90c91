import type { SpaceImageRow } from '../../db/schema/index.ts';
import type { ImageResponse } from './spaces.schemas.ts';

export const toImageResponse = (image: SpaceImageRow): ImageResponse => ({
  id: image.id,
  space_id: image.spaceId,
  image_url: image.imageUrl,
  is_primary: image.isPrimary,
  width: image.width,
  height: image.height,
  created_at: image.createdAt.toISOString(),
});
