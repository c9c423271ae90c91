import type { Db, DbOrTx, Tx } from '../../db/client.ts';
import type { SqlFigure } from '../../db/fragments.ts';
import { ROLES, type Role, type UserRow } from '../../db/schema/index.ts';
import { processImage } from '../../infra/images.ts';
import type { PasswordHasher } from '../../infra/passwords.ts';
import type { FileStorage, StoredFile } from '../../infra/storage/index.ts';
import type { Clock } from '../../shared/clock.ts';
import { AppError, badRequest, forbidden, notFound, serviceUnavailable, validationError } from '../../shared/errors.ts';
import { runFollowUps, type EventHub, type FollowUp } from '../../shared/events.ts';
import { pageOf, pageRequest } from '../../shared/pagination.ts';
import type { Principal } from '../../shared/principal.ts';
import { toUserResponse } from './users.mapper.ts';
import { ADMIN_ONLY_FIELDS, canDeactivateUsers, canListUsers, canReadUser, canUpdateUser, isAdmin } from './users.policy.ts';
import * as usersRepo from './users.repository.ts';
import type { UpdateUserBody, UserListQuery } from './users.schemas.ts';

export interface UsersServiceDeps {
  db: Db;
  clock: Clock;
  passwords: PasswordHasher;
  storage: FileStorage;
  log: { warn(details: object, message: string): void };
  /** Deactivation and email changes are announced here ('user.deactivated', 'user.email_changed'). */
  events: EventHub;
  mailQueued: () => void;
}

export const ADMIN_ONLY = 'This action needs one of these roles: admin';

const cannotModifySelf = (message: string) => badRequest('cannot_modify_self', message);

/** Avatars are cropped square; small, since they are shown small. */
const AVATAR_SIDE = 400;

export function createUsersService(deps: UsersServiceDeps) {
  const { db, clock, storage } = deps;

  /** Removes an avatar file we stored, once nothing points at it any more. */
  async function forgetAvatar(key: string | null | undefined) {
    if (!key) return;
    await storage.delete(key).catch((error: unknown) => deps.log.warn({ err: error, key }, 'could not delete a replaced avatar'));
  }

  /** Inside the caller's transaction; the follow-ups (refunds) run once it has committed. */
  async function deactivate(tx: Tx, userId: number, now: Date): Promise<FollowUp[]> {
    await usersRepo.updateById(tx, userId, { isActive: false }, now);
    return deps.events.emit(tx, 'user.deactivated', { userId, now });
  }

  async function list(actor: Principal, query: UserListQuery) {
    if (!canListUsers(actor.user)) throw forbidden(ADMIN_ONLY);
    const page = pageRequest(query);
    const filters: usersRepo.UserFilters = {};
    if (query.role) filters.role = query.role;
    if (query.q) filters.q = query.q;
    if (query.is_active !== undefined) filters.isActive = query.is_active;
    const { rows, total } = await usersRepo.findMany(db, filters, { limit: page.perPage, offset: page.offset });
    return pageOf('users', rows, total, page);
  }

  async function getById(actor: Principal, id: number) {
    // Refuse before looking, so a stranger cannot learn which ids exist.
    if (!canReadUser(actor.user, id)) throw forbidden('You may only view your own account');
    const user = await usersRepo.findById(db, id);
    if (!user) throw notFound('User');
    return user;
  }

  async function update(actor: Principal, id: number, body: UpdateUserBody) {
    if (!canUpdateUser(actor.user, id)) throw forbidden('You may only change your own account');
    const admin = isAdmin(actor.user);
    const privileged = ADMIN_ONLY_FIELDS.filter((field) => body[field] !== undefined);
    if (!admin && privileged.length > 0) throw forbidden(`Only an admin may set ${privileged.join(', ')}`);
    const self = actor.user.id === id;
    if (self && body.is_active === false) throw cannotModifySelf('You cannot deactivate your own account');
    if (self && body.role !== undefined && body.role !== actor.user.role) throw cannotModifySelf('You cannot change your own role');

    const target = await usersRepo.findById(db, id);
    if (!target) throw notFound('User');

    const changes: usersRepo.UserChanges = {};
    if (body.first_name !== undefined) changes.firstName = body.first_name.trim();
    if (body.last_name !== undefined) changes.lastName = body.last_name.trim();
    if (body.phone !== undefined) changes.phone = body.phone;
    if (body.bio !== undefined) changes.bio = body.bio;
    if (body.avatar_url !== undefined && body.avatar_url !== target.avatarUrl) {
      changes.avatarUrl = body.avatar_url;
      changes.avatarKey = null;
    }
    if (body.role !== undefined) changes.role = body.role;
    if (body.is_verified !== undefined) changes.isVerified = body.is_verified;
    if (body.is_active === true) changes.isActive = true;

    const emailChanged = body.email !== undefined && usersRepo.normalizeEmail(body.email) !== target.email;
    if (emailChanged) {
      if (self) {
        if (!body.current_password) throw validationError('current_password', 'is required to change your email');
        if (!(await deps.passwords.verify(body.current_password, target.passwordHash))) {
          throw new AppError(400, 'invalid_password', 'The current password is wrong', { details: [{ field: 'current_password', message: 'is wrong' }] });
        }
      }
      changes.email = body.email!;
      // A new address is unproven until its owner clicks the link, unless an admin vouches for it here.
      if (body.is_verified === undefined) changes.isVerified = false;
    }

    const now = clock.now();
    let replacedAvatarKey: string | null = null;
    let followUps: FollowUp[] = [];
    const updated = await db.transaction(async (tx) => {
      // Locked, so the avatar file this change replaces is the one really replaced.
      const current = await usersRepo.lockById(tx, id);
      if (!current) throw notFound('User');
      if (changes.avatarKey === null) replacedAvatarKey = current.avatarKey;
      if (body.is_active === false && current.isActive) followUps = await deactivate(tx, id, now);
      const row = await usersRepo.updateById(tx, id, changes, now);
      if (!row) throw notFound('User');
      if (emailChanged && !row.isVerified) await deps.events.emit(tx, 'user.email_changed', { user: row, now });
      return row;
    });
    await runFollowUps(followUps, deps.log);
    if (emailChanged) deps.mailQueued();
    await forgetAvatar(replacedAvatarKey);
    return updated;
  }

  function assertMayUpdate(actor: Principal, id: number) {
    if (!canUpdateUser(actor.user, id)) throw forbidden('You may only change your own avatar');
  }

  async function setAvatar(actor: Principal, id: number, file: Buffer) {
    assertMayUpdate(actor, id);
    const target = await usersRepo.findById(db, id);
    if (!target) throw notFound('User');
    const image = await processImage(file, { maxSide: AVATAR_SIDE, square: true });
    let stored: StoredFile;
    try {
      stored = await storage.put(`avatars/${id}`, image);
    } catch (error) {
      deps.log.warn({ err: error }, 'avatar upload failed');
      throw serviceUnavailable('Image storage is unavailable, please retry', 5);
    }
    let result: { user: UserRow; replaced: string | null };
    try {
      result = await db.transaction(async (tx) => {
        const current = await usersRepo.lockById(tx, id);
        if (!current) throw notFound('User');
        const user = await usersRepo.updateById(tx, id, { avatarUrl: stored.url, avatarKey: stored.key }, clock.now());
        return { user: user!, replaced: current.avatarKey };
      });
    } catch (error) {
      await forgetAvatar(stored.key);
      throw error;
    }
    await forgetAvatar(result.replaced);
    return result.user;
  }

  async function remove(actor: Principal, id: number) {
    if (!canDeactivateUsers(actor.user)) throw forbidden(ADMIN_ONLY);
    if (actor.user.id === id) throw cannotModifySelf('You cannot delete your own account');
    const now = clock.now();
    const followUps = await db.transaction(async (tx) => {
      const target = await usersRepo.findById(tx, id);
      if (!target) throw notFound('User');
      return target.isActive ? deactivate(tx, id, now) : [];
    });
    await runFollowUps(followUps, deps.log);
  }

  /**
   * Account rows for the modules that work with them inside their own transactions (auth's
   * registration, logins and password changes; the spaces' owner checks). This module stays the
   * only writer of the users table.
   */
  const accounts = {
    findById: (handle: DbOrTx, id: number) => usersRepo.findById(handle, id),
    findByEmail: (handle: DbOrTx, email: string) => usersRepo.findByEmail(handle, email),
    insert: (handle: DbOrTx, user: usersRepo.NewUser) => usersRepo.insert(handle, user),
    updateById: (handle: DbOrTx, id: number, changes: Pick<usersRepo.UserChanges, 'passwordHash' | 'isVerified'>, now: Date) =>
      usersRepo.updateById(handle, id, changes, now),
    normalizeEmail: usersRepo.normalizeEmail,
  };

  /** Every account counted by role, for the admin stats. */
  const roleCounts: SqlFigure<{ total: number; by_role: Record<Role, number> }> = {
    sql: usersRepo.countsByRoleJson,
    read(value) {
      const byRole = (value ?? {}) as Partial<Record<Role, number>>;
      const counts = Object.fromEntries(ROLES.map((role) => [role, byRole[role] ?? 0])) as Record<Role, number>;
      return { total: ROLES.reduce((sum, role) => sum + counts[role], 0), by_role: counts };
    },
  };

  return { list, getById, update, remove, assertMayUpdate, setAvatar, roleCounts, present: toUserResponse, accounts };
}

export type UserAccounts = UsersService['accounts'];

export type UsersService = ReturnType<typeof createUsersService>;
