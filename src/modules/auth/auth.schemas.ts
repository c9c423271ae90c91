import { Type, type Static } from 'typebox';
import { Email, Nullable, Password } from '../../shared/schemas.ts';
import { PersonName, Phone, RoleInput } from '../users/users.schemas.ts';

const Token = Type.String({ minLength: 1, maxLength: 4096 });

export const RegisterBody = Type.Object({
  email: Email,
  password: Password,
  first_name: PersonName,
  last_name: PersonName,
  role: Type.Optional(RoleInput.schema),
  phone: Type.Optional(Nullable(Phone)),
});
export type RegisterBody = Static<typeof RegisterBody>;

export const LoginBody = Type.Object({
  email: Email,
  password: Type.String({ minLength: 1, maxLength: 1024 }),
});

const tokenPairProperties = {
  access_token: Type.String(),
  refresh_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the access token expires' }),
};

export const TokenPairSchema = Type.Object(tokenPairProperties);
export const RegisterResponse = Type.Object({ message: Type.String(), user: Type.Ref('User'), ...tokenPairProperties });
export const LoginResponse = Type.Object({ ...tokenPairProperties, user: Type.Ref('User') });

export const RefreshBody = Type.Object({ refresh_token: Type.Optional(Token) });
export const LogoutBody = Type.Object({ refresh_token: Type.Optional(Token) });
export const TokenBody = Type.Object({ token: Token });
export const ForgotPasswordBody = Type.Object({ email: Email });
export const ResetPasswordBody = Type.Object({ token: Token, password: Password });
export const ChangePasswordBody = Type.Object({ current_password: Type.String({ minLength: 1, maxLength: 1024 }), new_password: Password });
