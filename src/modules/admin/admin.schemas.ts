import { Type, type Static, type TInteger } from 'typebox';
import { BOOKING_STATUSES, ROLES, type BookingStatus, type Role } from '../../db/schema/index.ts';
import { MonthlyRevenueSchema } from '../../shared/revenue.ts';

const countsOf = <K extends string>(keys: readonly K[]) => Type.Object(Object.fromEntries(keys.map((key) => [key, Type.Integer()])) as Record<K, TInteger>);

export const AdminStatsSchema = Type.Object({
  users: Type.Object({ total: Type.Integer(), by_role: countsOf<Role>(ROLES) }),
  spaces: Type.Object({ total: Type.Integer({ description: 'Live listings (archived ones are not counted)' }), available: Type.Integer() }),
  bookings: Type.Object({ total: Type.Integer(), by_status: countsOf<BookingStatus>(BOOKING_STATUSES) }),
  revenue: MonthlyRevenueSchema,
});
export type AdminStats = Static<typeof AdminStatsSchema>;
