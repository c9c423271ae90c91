import type { Db, Tx } from '../../db/client.ts';
import type { SqlFigure, SqlFragment } from '../../db/fragments.ts';
import type { SpaceImageRow, SpaceRow } from '../../db/schema/index.ts';
import { processImage, type ProcessedImage } from '../../infra/images.ts';
import type { FileStorage, StoredFile } from '../../infra/storage/index.ts';
import type { Clock } from '../../shared/clock.ts';
import { AppError, badRequest, forbidden, notFound, serviceUnavailable, validationError, type ErrorDetail } from '../../shared/errors.ts';
import { runFollowUps, type EventHub } from '../../shared/events.ts';
import { jsonPageOf, pageRequest } from '../../shared/pagination.ts';
import type { Principal } from '../../shared/principal.ts';
import type { UserAccounts } from '../users/users.service.ts';
import { toImageResponse } from './spaces.mapper.ts';
import {
  canAssignOwner,
  canChangeOwner,
  canOwnSpaces,
  canCreateSpaces,
  canForceRemoval,
  canManageSpace,
  OWNERS_ONLY,
  statsOwnerScope,
} from './spaces.policy.ts';
import * as repo from './spaces.repository.ts';
import { toMinorUnits } from '../../shared/money.ts';
import { canonicalTimeZone, normalizeAmenities, normalizeOperatingHours, parseAmenityList, parseNear } from './spaces.rules.ts';
import type { CreateSpaceBody, SpaceListQuery, SpaceStats, UpdateSpaceBody } from './spaces.schemas.ts';

export const MAX_IMAGES_PER_SPACE = 10;
const IMAGE_BOX = 800;

export interface Logger {
  warn(details: object, message: string): void;
}

export interface SpacesServiceDeps {
  db: Db;
  clock: Clock;
  storage: FileStorage;
  log: Logger;
  /** Archiving is announced here ('space.archiving'), so the bookings module may refuse or cancel. */
  events: EventHub;
  /** Who may own a listing is the users module's to say. */
  accounts: Pick<UserAccounts, 'findById'>;
  /** The bookings module's "bookable for this whole window" condition (rules and conflicts), for available_from/available_to; opening hours are judged here. */
  windowCondition: (window: { from: Date; to: Date }) => SqlFragment;
  /** Booking counts and revenue of the stats, from the modules that own them. */
  bookingFigures: (ownerId: number | undefined) => Promise<Pick<SpaceStats, 'bookings_by_status' | 'revenue'>>;
}

type SpaceInput = CreateSpaceBody | UpdateSpaceBody;

/** Turns validated input into column values, checking what a schema cannot. */
function toColumns(input: SpaceInput, existing?: SpaceRow): repo.SpaceChanges {
  const problems: ErrorDetail[] = [];
  const values: repo.SpaceChanges = {};
  if (input.name !== undefined) values.name = input.name.trim();
  if (input.description !== undefined) values.description = input.description.trim();
  if (input.address !== undefined) values.address = input.address.trim();
  if (input.city !== undefined) values.city = input.city.trim();
  if (input.price_per_hour !== undefined) {
    const minor = toMinorUnits(input.price_per_hour);
    if (minor === undefined || minor < 1) problems.push({ field: 'price_per_hour', message: 'must be greater than 0 with at most 2 decimals' });
    else values.pricePerHour = minor;
  }
  if (input.capacity !== undefined) values.capacity = input.capacity;
  if (input.amenities !== undefined) values.amenities = normalizeAmenities(input.amenities);
  if (input.latitude !== undefined) values.latitude = input.latitude;
  if (input.longitude !== undefined) values.longitude = input.longitude;
  const latitude = values.latitude !== undefined ? values.latitude : (existing?.latitude ?? null);
  const longitude = values.longitude !== undefined ? values.longitude : (existing?.longitude ?? null);
  if ((latitude === null) !== (longitude === null))
    problems.push({ field: latitude === null ? 'latitude' : 'longitude', message: 'latitude and longitude go together' });
  if (input.timezone !== undefined) {
    const zone = canonicalTimeZone(input.timezone);
    if (!zone) problems.push({ field: 'timezone', message: `is not a known IANA time zone (e.g. Africa/Nairobi)` });
    else values.timezone = zone;
  }
  if (input.status !== undefined && input.is_available !== undefined && (input.status === 'available') !== input.is_available) {
    problems.push({ field: 'status', message: 'contradicts is_available' });
  }
  if (input.is_available !== undefined) values.isAvailable = input.is_available;
  else if (input.status !== undefined) values.isAvailable = input.status === 'available';
  if (input.min_booking_hours !== undefined) values.minBookingHours = input.min_booking_hours;
  if (input.max_booking_hours !== undefined) values.maxBookingHours = input.max_booking_hours;
  const minHours = values.minBookingHours ?? existing?.minBookingHours ?? 1;
  const maxHours = values.maxBookingHours ?? existing?.maxBookingHours ?? 24;
  if (minHours > maxHours) {
    problems.push(
      input.max_booking_hours === undefined
        ? { field: 'min_booking_hours', message: `must not exceed max_booking_hours (${maxHours})` }
        : { field: 'max_booking_hours', message: `must be at least min_booking_hours (${minHours})` },
    );
  }
  if (input.min_notice_hours !== undefined) values.minNoticeHours = input.min_notice_hours;
  if (input.buffer_minutes !== undefined) values.bufferMinutes = input.buffer_minutes;
  if (input.operating_hours !== undefined) {
    if (input.operating_hours === null) values.operatingHours = null;
    else {
      const checked = normalizeOperatingHours(input.operating_hours);
      if ('problem' in checked) problems.push({ field: 'operating_hours', message: checked.problem });
      else values.operatingHours = checked.hours;
    }
  }
  if (input.cancellation_policy !== undefined) values.cancellationPolicy = input.cancellation_policy;
  if (input.currency !== undefined) values.currency = input.currency;
  if (problems.length > 0) {
    throw new AppError(400, 'validation_error', `Invalid request: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`, { details: problems });
  }
  return values;
}

export const tooManyImages = (existing: number) =>
  badRequest('too_many_images', `A space holds at most ${MAX_IMAGES_PER_SPACE} images (it has ${existing})`, [
    { field: 'images', message: `at most ${MAX_IMAGES_PER_SPACE} per space` },
  ]);

export function createSpacesService(deps: SpacesServiceDeps) {
  const { db, clock, storage, log } = deps;

  async function assertOwnerAccount(ownerId: number) {
    const owner = await deps.accounts.findById(db, ownerId);
    if (!owner || !canOwnSpaces(owner)) throw validationError('owner_id', 'must be the id of an active owner account');
  }

  /** Decodes and resizes every file before anything is stored, so one bad file stores nothing. */
  async function processAll(files: Buffer[]): Promise<ProcessedImage[]> {
    const processed: ProcessedImage[] = [];
    for (const file of files) processed.push(await processImage(file, { maxSide: IMAGE_BOX }));
    return processed;
  }

  async function discard(stored: StoredFile[]) {
    for (const file of stored) {
      await storage
        .delete(file.key)
        .catch((error: unknown) => log.warn({ err: error, key: file.key }, 'could not remove an uploaded file after a failed write'));
    }
  }

  async function store(folder: string, images: ProcessedImage[], stored: StoredFile[]) {
    for (const image of images) {
      try {
        stored.push(await storage.put(folder, image));
      } catch (error) {
        log.warn({ err: error }, 'image upload failed');
        throw serviceUnavailable('Image storage is unavailable, please retry', 5);
      }
    }
  }

  const imageRows = (spaceId: number, stored: StoredFile[], images: ProcessedImage[], firstIsPrimary: boolean, now: Date) =>
    stored.map((file, index) => ({
      spaceId,
      imageUrl: file.url,
      storageKey: file.key,
      storage: file.kind,
      isPrimary: firstIsPrimary && index === 0,
      width: images[index]!.width,
      height: images[index]!.height,
      createdAt: now,
    }));

  /** The listing as the API shows it: JSON text built by the database (ADR 0008). */
  async function present(id: number): Promise<string> {
    const json = await repo.findLiveJson(db, id);
    if (!json) throw notFound('Space');
    return json;
  }

  async function create(actor: Principal, input: CreateSpaceBody, files: Buffer[] = []) {
    if (!canCreateSpaces(actor.user)) throw forbidden(OWNERS_ONLY, 'role_not_allowed');
    const ownerId = input.owner_id ?? actor.user.id;
    if (!canAssignOwner(actor.user, ownerId)) throw forbidden('Only an admin may list a space for another owner');
    if (ownerId !== actor.user.id) await assertOwnerAccount(ownerId);
    if (files.length > MAX_IMAGES_PER_SPACE) throw tooManyImages(0);
    const columns = toColumns(input);
    const images = await processAll(files);
    const now = clock.now();
    const stored: StoredFile[] = [];
    try {
      const id = await db.transaction(async (tx) => {
        const space = await repo.insert(tx, { ...(columns as repo.NewSpace), ownerId, createdAt: now, updatedAt: now });
        // The folder is named after the new id, so the upload happens inside the transaction; a failure undoes both.
        await store(`spaces/${space.id}`, images, stored);
        await repo.insertImages(tx, imageRows(space.id, stored, images, true, now));
        return space.id;
      });
      return present(id);
    } catch (error) {
      await discard(stored);
      throw error;
    }
  }

  async function update(actor: Principal, id: number, input: UpdateSpaceBody) {
    const space = await manageable(actor, id);
    const newOwner = input.owner_id !== undefined && input.owner_id !== space.ownerId ? input.owner_id : undefined;
    if (newOwner !== undefined && !canChangeOwner(actor.user)) throw forbidden("Only an admin may change a space's owner");
    const columns = toColumns(input, space);
    if (newOwner !== undefined) {
      await assertOwnerAccount(newOwner);
      columns.ownerId = newOwner;
    }
    const updated = await repo.updateById(db, id, columns, clock.now());
    if (!updated) throw notFound('Space');
    return present(id);
  }

  async function remove(actor: Principal, id: number, force: boolean) {
    const space = await manageable(actor, id);
    if (force && !canForceRemoval(actor.user)) throw forbidden('Only an admin may force the removal of a space');
    const now = clock.now();
    const followUps = await db.transaction(async (tx) => {
      const locked = await repo.lockLive(tx, space.id);
      if (!locked) throw notFound('Space');
      const after = await deps.events.emit(tx, 'space.archiving', { space: locked, force, actor, now });
      await repo.archiveById(tx, space.id, now);
      return after;
    });
    await runFollowUps(followUps, log);
  }

  const getById = present;

  function filtersFrom(query: SpaceListQuery): repo.SpaceFilters {
    const filters: repo.SpaceFilters = {};
    const problems: ErrorDetail[] = [];
    if (query.status) filters.isAvailable = query.status === 'available';
    if (query.city) filters.city = query.city;
    if (query.q) filters.q = query.q;
    if (query.min_price !== undefined) {
      const minor = toMinorUnits(query.min_price);
      if (minor === undefined) problems.push({ field: 'min_price', message: 'has more than 2 decimals' });
      else filters.minPrice = minor;
    }
    if (query.max_price !== undefined) {
      const minor = toMinorUnits(query.max_price);
      if (minor === undefined) problems.push({ field: 'max_price', message: 'has more than 2 decimals' });
      else filters.maxPrice = minor;
    }
    if (filters.minPrice !== undefined && filters.maxPrice !== undefined && filters.minPrice > filters.maxPrice) {
      problems.push({ field: 'max_price', message: 'must not be below min_price' });
    }
    if (query.min_capacity !== undefined) filters.minCapacity = query.min_capacity;
    if (query.amenities !== undefined) filters.amenities = parseAmenityList(query.amenities);
    if (query.owner_id !== undefined) filters.ownerId = query.owner_id;
    if (query.near !== undefined) {
      const centre = parseNear(query.near);
      if (!centre) problems.push({ field: 'near', message: 'must be "lat,lng" within -90..90 and -180..180' });
      else filters.near = { ...centre, radiusKm: query.radius_km ?? 10 };
    }
    if (query.radius_km !== undefined && query.near === undefined) problems.push({ field: 'radius_km', message: 'needs near' });
    const sort = query.sort ?? 'newest';
    if (sort === 'relevance' && !query.q) problems.push({ field: 'sort', message: 'relevance needs q' });
    if (sort === 'distance' && query.near === undefined) problems.push({ field: 'sort', message: 'distance needs near' });
    if ((query.available_from === undefined) !== (query.available_to === undefined)) {
      problems.push({ field: query.available_from === undefined ? 'available_from' : 'available_to', message: 'available_from and available_to go together' });
    } else if (query.available_from !== undefined && new Date(query.available_to!) <= new Date(query.available_from)) {
      problems.push({ field: 'available_to', message: 'must be after available_from' });
    }
    if (problems.length > 0) {
      throw new AppError(400, 'validation_error', `Invalid request: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`, { details: problems });
    }
    if (query.available_from !== undefined && query.available_to !== undefined) {
      const window = { from: new Date(query.available_from), to: new Date(query.available_to) };
      filters.extra = [deps.windowCondition(window), repo.openDuring(window)];
    }
    return filters;
  }

  async function list(query: SpaceListQuery) {
    const page = pageRequest(query);
    const { items, total } = await repo.findManyJson(db, filtersFrom(query), query.sort ?? 'newest', { limit: page.perPage, offset: page.offset });
    return jsonPageOf('spaces', items === '' ? [] : [items], total, page);
  }

  function mine(actor: Principal, query: SpaceListQuery) {
    if (!canCreateSpaces(actor.user)) throw forbidden(OWNERS_ONLY);
    return list({ ...query, owner_id: actor.user.id });
  }

  async function stats(actor: Principal): Promise<SpaceStats> {
    if (!canCreateSpaces(actor.user)) throw forbidden(OWNERS_ONLY);
    const ownerId = statsOwnerScope(actor.user);
    const counts = await repo.countByAvailability(db, ownerId);
    const figures = await deps.bookingFigures(ownerId);
    return { total: counts.total, available: counts.available, unavailable: counts.total - counts.available, ...figures };
  }

  async function addImages(actor: Principal, id: number, files: Buffer[]) {
    const space = await manageable(actor, id);
    if (files.length === 0) throw validationError('images', 'at least one image file is required');
    const existing = await repo.countImages(db, space.id);
    if (existing + files.length > MAX_IMAGES_PER_SPACE) throw tooManyImages(existing);
    const images = await processAll(files);
    const stored: StoredFile[] = [];
    try {
      await store(`spaces/${space.id}`, images, stored);
      const now = clock.now();
      const rows: SpaceImageRow[] = await db.transaction(async (tx) => {
        // Locked, so two uploads at once cannot both fit under the limit.
        if (!(await repo.lockLive(tx, space.id))) throw notFound('Space');
        const count = await repo.countImages(tx, space.id);
        if (count + images.length > MAX_IMAGES_PER_SPACE) throw tooManyImages(count);
        const needsPrimary = !(await repo.hasPrimaryImage(tx, space.id));
        return repo.insertImages(tx, imageRows(space.id, stored, images, needsPrimary, now));
      });
      return rows.map(toImageResponse);
    } catch (error) {
      await discard(stored);
      throw error;
    }
  }

  async function setPrimary(actor: Principal, id: number, imageId: number, isPrimary: boolean) {
    const space = await manageable(actor, id);
    if (!isPrimary) throw validationError('is_primary', 'a space always has one primary image; make another one primary instead');
    const image = await db.transaction(async (tx) => {
      // Image changes of one space take turns, so "exactly one primary" holds under concurrency.
      if (!(await repo.lockLive(tx, space.id))) throw notFound('Space');
      if (!(await repo.findImage(tx, space.id, imageId))) throw notFound('Image');
      return repo.makePrimary(tx, space.id, imageId);
    });
    return toImageResponse(image!);
  }

  async function deleteImage(actor: Principal, id: number, imageId: number) {
    const space = await manageable(actor, id);
    const deleted = await db.transaction(async (tx) => {
      if (!(await repo.lockLive(tx, space.id))) throw notFound('Space');
      const row = await repo.deleteImage(tx, space.id, imageId);
      if (!row) throw notFound('Image');
      if (row.isPrimary) {
        const next = await repo.oldestImage(tx, space.id);
        if (next) await repo.makePrimary(tx, space.id, next.id);
      }
      return row;
    });
    // After the commit: a file left behind is harmless, a row pointing at nothing is not.
    if (deleted.storage === storage.kind) {
      await storage.delete(deleted.storageKey).catch((error: unknown) => log.warn({ err: error, key: deleted.storageKey }, 'could not delete an image file'));
    } else {
      log.warn({ key: deleted.storageKey, storage: deleted.storage }, 'image was stored by another storage driver; file not deleted');
    }
  }

  /** A live listing the caller manages (its owner, or an admin): else 404 or 403. */
  async function manageable(actor: Principal, id: number, refusal = "Only the space's owner or an admin may change it") {
    const space = await repo.findLive(db, id);
    if (!space) throw notFound('Space');
    if (!canManageSpace(actor.user, space)) throw forbidden(refusal);
    return space;
  }

  /** A live listing's row, for modules that answer about it (calendar feeds); else 404. */
  async function findLive(id: number) {
    const space = await repo.findLive(db, id);
    if (!space) throw notFound('Space');
    return space;
  }

  /** Raises the calendar version: every earlier feed URL stops working. */
  async function rotateCalendar(actor: Principal, id: number, refusal: string) {
    await manageable(actor, id, refusal);
    const space = await repo.bumpCalendarVersion(db, id);
    if (!space) throw notFound('Space');
    return space;
  }

  /** An owner's deactivation unlists their spaces, inside the deactivation's transaction. */
  async function onOwnerDeactivated(tx: Tx, event: { userId: number; now: Date }) {
    await repo.unlistByOwner(tx, event.userId, event.now);
  }

  /** Keeps the prepared opening periods ahead of the booking horizon; a batch of schedules per run. */
  const sweep = async () => ({ schedulesRefreshed: await repo.refreshOpeningPeriods(db, clock.now(), 100) });

  /** Live and available listings of the whole platform (archived ones are history, not catalogue). */
  const catalogueCounts: SqlFigure<{ total: number; available: number }> = {
    sql: repo.catalogueCountsJson,
    read: (value) => (value as { total: number; available: number } | undefined) ?? { total: 0, available: 0 },
  };

  return {
    create,
    update,
    remove,
    getById,
    list,
    mine,
    stats,
    catalogueCounts,
    addImages,
    setPrimary,
    deleteImage,
    manageable,
    findLive,
    rotateCalendar,
    onOwnerDeactivated,
    sweep,
  };
}

export type SpacesService = ReturnType<typeof createSpacesService>;
