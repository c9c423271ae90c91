import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Role } from '../../src/db/schema/index.ts';
import { createPasswordHasher } from '../../src/infra/passwords.ts';
import * as usersRepo from '../../src/modules/users/users.repository.ts';
import { call } from './app.ts';

export const uniqueEmail = (label = 'user') => `${label}-${randomBytes(5).toString('hex')}@example.test`;

export interface TestUser {
  id: number;
  email: string;
  password: string;
  role: Role;
  token: string;
  refreshToken: string;
}

/**
 * A user who can call the API. Clients and owners register through the API; admins cannot, so
 * they are written with the same repository the admin CLI uses, then log in.
 */
export async function createUser(
  app: FastifyInstance,
  overrides: { role?: Role; email?: string; password?: string; first_name?: string; last_name?: string } = {},
): Promise<TestUser> {
  const role = overrides.role ?? 'client';
  const email = overrides.email ?? uniqueEmail(role);
  const password = overrides.password ?? 'Passw0rd!';
  const names = { first_name: overrides.first_name ?? 'Test', last_name: overrides.last_name ?? role[0]!.toUpperCase() + role.slice(1) };
  if (role === 'admin') {
    const now = new Date();
    await usersRepo.insert(app.services.database.db, {
      email,
      passwordHash: await createPasswordHasher(4).hash(password),
      firstName: names.first_name,
      lastName: names.last_name,
      role,
      isVerified: true,
      createdAt: now,
      updatedAt: now,
    });
  } else {
    const registered = await call(app, 'POST', '/api/auth/register', { body: { email, password, role, ...names } });
    if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${registered.raw}`);
  }
  const login = await call(app, 'POST', '/api/auth/login', { body: { email, password } });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.raw}`);
  return { id: login.body.user.id, email, password, role, token: login.body.access_token, refreshToken: login.body.refresh_token };
}
