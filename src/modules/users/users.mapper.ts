import type { UserRow } from '../../db/schema/index.ts';
import type { UserResponse } from './users.schemas.ts';

export function toUserResponse(user: UserRow): UserResponse {
  return {
    id: user.id,
    email: user.email,
    first_name: user.firstName,
    last_name: user.lastName,
    name: `${user.firstName} ${user.lastName}`.trim(),
    role: user.role,
    phone: user.phone,
    bio: user.bio,
    avatar_url: user.avatarUrl,
    is_verified: user.isVerified,
    is_active: user.isActive,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}
