import { and, asc, between, count, desc, eq, inArray, isNotNull, isNull, sql, type SQL } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.ts';
import { spaceImages, spaces, users, type SpaceImageRow, type SpaceRow } from '../../db/schema/index.ts';
import type { SpaceSort } from './spaces.schemas.ts';
import { boundingBox } from './spaces.rules.ts';

export type NewSpace = typeof spaces.$inferInsert;
export type SpaceChanges = Partial<Omit<NewSpace, 'id' | 'createdAt' | 'search'>>;

/** A listing with what every response shows beside it. */
export interface SpaceRecord {
  space: SpaceRow;
  ownerName: string;
  distanceKm?: number;
}

const ownerName = sql<string>`trim(${users.firstName} || ' ' || ${users.lastName})`;
const live = isNull(spaces.archivedAt);

export async function insertSpace(db: DbOrTx, values: NewSpace): Promise<SpaceRow> {
  const [row] = await db.insert(spaces).values(values).returning();
  return row!;
}

function buildFindLive(db: Db) {
  return db
    .select({ space: spaces, ownerName })
    .from(spaces)
    .innerJoin(users, eq(users.id, spaces.ownerId))
    .where(and(eq(spaces.id, sql.placeholder('id')), live))
    .limit(1)
    .prepare('spaces_find_live');
}
const findLiveStatements = new WeakMap<Db, ReturnType<typeof buildFindLive>>();

/** One live (not archived) listing with its owner's name; a prepared statement, as it serves every space page. */
export async function findLive(db: Db, id: number): Promise<SpaceRecord | undefined> {
  let statement = findLiveStatements.get(db);
  if (!statement) {
    statement = buildFindLive(db);
    findLiveStatements.set(db, statement);
  }
  const [row] = await statement.execute({ id });
  return row;
}

/** Locks the listing for the rest of the transaction (image counts, archiving). */
export async function lockLive(db: DbOrTx, id: number): Promise<SpaceRow | undefined> {
  const [row] = await db.select().from(spaces).where(and(eq(spaces.id, id), live)).for('update');
  return row;
}

export async function updateSpace(db: DbOrTx, id: number, changes: SpaceChanges, now: Date): Promise<SpaceRow | undefined> {
  const [row] = await db
    .update(spaces)
    .set({ ...changes, updatedAt: now })
    .where(and(eq(spaces.id, id), live))
    .returning();
  return row;
}

export async function archiveSpace(db: DbOrTx, id: number, now: Date): Promise<boolean> {
  const rows = await db
    .update(spaces)
    .set({ archivedAt: now, isAvailable: false, updatedAt: now })
    .where(and(eq(spaces.id, id), live))
    .returning({ id: spaces.id });
  return rows.length > 0;
}

/** Unlists every live space of an owner (when the account is deactivated). */
export async function unlistOwnerSpaces(db: DbOrTx, ownerId: number, now: Date): Promise<void> {
  await db
    .update(spaces)
    .set({ isAvailable: false, updatedAt: now })
    .where(and(eq(spaces.ownerId, ownerId), live, eq(spaces.isAvailable, true)));
}

export interface SpaceFilters {
  isAvailable?: boolean;
  city?: string;
  q?: string;
  minPrice?: number;
  maxPrice?: number;
  minCapacity?: number;
  amenities?: string[];
  ownerId?: number;
  near?: { lat: number; lng: number; radiusKm: number };
  /** Conditions other modules contribute (availability windows), over the `spaces` table. */
  extra?: SQL[];
}

const searchQuery = (q: string) => sql`websearch_to_tsquery('english', ${q})`;

/** Great-circle distance in km (haversine) from a point to the listing. */
const distanceFrom = (point: { lat: number; lng: number }) =>
  sql<number>`(2 * 6371 * asin(sqrt(
    power(sin(radians(${spaces.latitude} - ${point.lat}) / 2), 2) +
    cos(radians(${point.lat})) * cos(radians(${spaces.latitude})) * power(sin(radians(${spaces.longitude} - ${point.lng}) / 2), 2)
  )))`;

function whereClause(filters: SpaceFilters): SQL {
  const conditions: SQL[] = [live];
  if (filters.isAvailable !== undefined) conditions.push(eq(spaces.isAvailable, filters.isAvailable));
  if (filters.city) conditions.push(sql`lower(${spaces.city}) = ${filters.city.trim().toLowerCase()}`);
  if (filters.q) conditions.push(sql`${spaces.search} @@ ${searchQuery(filters.q)}`);
  if (filters.minPrice !== undefined) conditions.push(sql`${spaces.pricePerHour} >= ${filters.minPrice}`);
  if (filters.maxPrice !== undefined) conditions.push(sql`${spaces.pricePerHour} <= ${filters.maxPrice}`);
  if (filters.minCapacity !== undefined) conditions.push(sql`${spaces.capacity} >= ${filters.minCapacity}`);
  if (filters.amenities && filters.amenities.length > 0) {
    conditions.push(sql`${spaces.amenities} @> ${sql`array[${sql.join(filters.amenities.map((amenity) => sql`${amenity}`), sql`, `)}]::text[]`}`);
  }
  if (filters.ownerId !== undefined) conditions.push(eq(spaces.ownerId, filters.ownerId));
  if (filters.near) {
    // The box narrows the search with the location index; the exact distance decides.
    const box = boundingBox(filters.near, filters.near.radiusKm);
    conditions.push(isNotNull(spaces.latitude), between(spaces.latitude, box.minLat, box.maxLat), between(spaces.longitude, box.minLng, box.maxLng));
    conditions.push(sql`${distanceFrom(filters.near)} <= ${filters.near.radiusKm}`);
  }
  if (filters.extra) conditions.push(...filters.extra);
  return and(...conditions)!;
}

function orderBy(sort: SpaceSort, filters: SpaceFilters): SQL[] {
  switch (sort) {
    case 'price_asc':
      return [asc(spaces.pricePerHour), asc(spaces.id)];
    case 'price_desc':
      return [desc(spaces.pricePerHour), desc(spaces.id)];
    case 'rating':
      return [sql`(${spaces.ratingSum}::numeric / nullif(${spaces.ratingCount}, 0)) desc nulls last`, desc(spaces.ratingCount), asc(spaces.id)];
    case 'relevance':
      return [sql`ts_rank(${spaces.search}, ${searchQuery(filters.q!)}) desc`, asc(spaces.id)];
    case 'distance':
      return [sql`${distanceFrom(filters.near!)} asc`, asc(spaces.id)];
    case 'newest':
      return [desc(spaces.createdAt), desc(spaces.id)];
  }
}

/** One page of listings plus the total: two statements, whatever the page size. */
export async function findMany(db: DbOrTx, filters: SpaceFilters, sort: SpaceSort, page: { limit: number; offset: number }) {
  const where = whereClause(filters);
  const rows = await db
    .select({
      space: spaces,
      ownerName,
      ...(filters.near ? { distanceKm: distanceFrom(filters.near) } : {}),
    })
    .from(spaces)
    .innerJoin(users, eq(users.id, spaces.ownerId))
    .where(where)
    .orderBy(...orderBy(sort, filters))
    .limit(page.limit)
    .offset(page.offset);
  const [total] = await db.select({ value: count() }).from(spaces).where(where);
  return { rows: rows as SpaceRecord[], total: total?.value ?? 0 };
}

/** Images of many listings in one statement, primary first. */
export async function imagesOf(db: DbOrTx, spaceIds: number[]): Promise<Map<number, SpaceImageRow[]>> {
  const bySpace = new Map<number, SpaceImageRow[]>(spaceIds.map((id) => [id, []]));
  if (spaceIds.length === 0) return bySpace;
  const rows = await db
    .select()
    .from(spaceImages)
    .where(inArray(spaceImages.spaceId, spaceIds))
    .orderBy(asc(spaceImages.spaceId), desc(spaceImages.isPrimary), asc(spaceImages.id));
  for (const row of rows) bySpace.get(row.spaceId)?.push(row);
  return bySpace;
}

export async function countImages(db: DbOrTx, spaceId: number): Promise<number> {
  const [row] = await db.select({ value: count() }).from(spaceImages).where(eq(spaceImages.spaceId, spaceId));
  return row?.value ?? 0;
}

export async function hasPrimaryImage(db: DbOrTx, spaceId: number): Promise<boolean> {
  const [row] = await db.select({ id: spaceImages.id }).from(spaceImages).where(and(eq(spaceImages.spaceId, spaceId), eq(spaceImages.isPrimary, true))).limit(1);
  return row !== undefined;
}

export async function insertImages(db: DbOrTx, images: Array<typeof spaceImages.$inferInsert>): Promise<SpaceImageRow[]> {
  if (images.length === 0) return [];
  return db.insert(spaceImages).values(images).returning();
}

export async function findImage(db: DbOrTx, spaceId: number, imageId: number): Promise<SpaceImageRow | undefined> {
  const [row] = await db.select().from(spaceImages).where(and(eq(spaceImages.id, imageId), eq(spaceImages.spaceId, spaceId)));
  return row;
}

/** Makes one image the primary: the old one is cleared first, as the unique index demands. */
export async function makePrimary(db: DbOrTx, spaceId: number, imageId: number): Promise<SpaceImageRow | undefined> {
  await db
    .update(spaceImages)
    .set({ isPrimary: false })
    .where(and(eq(spaceImages.spaceId, spaceId), eq(spaceImages.isPrimary, true)));
  const [row] = await db
    .update(spaceImages)
    .set({ isPrimary: true })
    .where(and(eq(spaceImages.id, imageId), eq(spaceImages.spaceId, spaceId)))
    .returning();
  return row;
}

export async function deleteImage(db: DbOrTx, spaceId: number, imageId: number): Promise<SpaceImageRow | undefined> {
  const [row] = await db
    .delete(spaceImages)
    .where(and(eq(spaceImages.id, imageId), eq(spaceImages.spaceId, spaceId)))
    .returning();
  return row;
}

/** The oldest remaining image, promoted when the primary goes. */
export async function oldestImage(db: DbOrTx, spaceId: number): Promise<SpaceImageRow | undefined> {
  const [row] = await db.select().from(spaceImages).where(eq(spaceImages.spaceId, spaceId)).orderBy(asc(spaceImages.id)).limit(1);
  return row;
}

export async function countByAvailability(db: DbOrTx, ownerId: number | undefined) {
  const conditions = [live];
  if (ownerId !== undefined) conditions.push(eq(spaces.ownerId, ownerId));
  const [row] = await db
    .select({
      total: count(),
      available: sql<number>`count(*) filter (where ${spaces.isAvailable})::int`,
    })
    .from(spaces)
    .where(and(...conditions));
  return { total: row?.total ?? 0, available: row?.available ?? 0 };
}
