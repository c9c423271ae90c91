import { Type, type Static } from 'typebox';
import { ROLES } from '../../db/schema/index.ts';
import { DateTime, Email, LiteralUnion, lenientLiteral, Nullable, PageQuery } from '../../shared/schemas.ts';

export const RoleSchema = LiteralUnion(ROLES);

/**
 * A role as clients send it: the original backend and its web front end spell them `CLIENT` and
 * `SPACE_OWNER`, so input is matched case-insensitively with that alias; responses keep RoleSchema.
 */
export const RoleInput = lenientLiteral(ROLES, {
  description: 'admin, owner or client, matched case-insensitively; space_owner is an alias of owner',
  aliases: { space_owner: 'owner' },
});

export const UserSchema = Type.Object(
  {
    id: Type.Integer(),
    email: Type.String(),
    first_name: Type.String(),
    last_name: Type.String(),
    name: Type.String(),
    role: RoleSchema,
    phone: Nullable(Type.String()),
    bio: Nullable(Type.String()),
    avatar_url: Nullable(Type.String()),
    is_verified: Type.Boolean(),
    is_active: Type.Boolean(),
    created_at: DateTime,
    updated_at: DateTime,
  },
  { $id: 'User', title: 'User' },
);
export type UserResponse = Static<typeof UserSchema>;

/** Names: 1–100 characters with something other than spaces. */
export const PersonName = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
export const Phone = Type.String({
  pattern: '^\\+?(?:[ ()-]*[0-9]){7,15}[ ()-]*$',
  maxLength: 32,
  description: '7–15 digits, optionally with a leading +, spaces, dashes or brackets',
});
const HttpUrl = Type.String({ format: 'uri', pattern: '^https?://[^/\\s?#]+', maxLength: 2048 });

export const UserListQuery = Type.Object({
  ...PageQuery.properties,
  role: Type.Optional(RoleSchema),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Matches name or email' })),
  is_active: Type.Optional(Type.Boolean()),
});
export type UserListQuery = Static<typeof UserListQuery>;

export const UpdateUserBody = Type.Object({
  first_name: Type.Optional(PersonName),
  last_name: Type.Optional(PersonName),
  phone: Type.Optional(Nullable(Phone)),
  bio: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
  avatar_url: Type.Optional(Nullable(HttpUrl)),
  email: Type.Optional(Email),
  current_password: Type.Optional(Type.String({ maxLength: 72, description: 'Required when you change your own email' })),
  role: Type.Optional(RoleInput.schema),
  is_verified: Type.Optional(Type.Boolean()),
  is_active: Type.Optional(Type.Boolean()),
});
export type UpdateUserBody = Static<typeof UpdateUserBody>;
