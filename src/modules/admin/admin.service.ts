import { forbidden } from '../../shared/errors.ts';
import type { Principal } from '../../shared/principal.ts';
import type { MonthlyRevenue } from '../../shared/revenue.ts';
import { ADMINS_ONLY, canSeePlatformStats } from './admin.policy.ts';
import type { AdminStats } from './admin.schemas.ts';

/**
 * The admin module owns no table: each figure comes from the module that owns its rows, wired in
 * app.ts. Listings, bookings and revenue come from trigger-kept counters (ADRs 0007, 0016, 0013), so
 * none grows with the rows it counts (bench/README.md, "Admin stats plans").
 */
export interface AdminServiceDeps {
  users: () => Promise<AdminStats['users']>;
  spaces: () => Promise<AdminStats['spaces']>;
  bookingsByStatus: () => Promise<AdminStats['bookings']['by_status']>;
  revenue: () => Promise<MonthlyRevenue>;
}

export function createAdminService(deps: AdminServiceDeps) {
  async function stats(actor: Principal): Promise<AdminStats> {
    if (!canSeePlatformStats(actor.user)) throw forbidden(ADMINS_ONLY);
    const [users, spaces, byStatus, revenue] = await Promise.all([deps.users(), deps.spaces(), deps.bookingsByStatus(), deps.revenue()]);
    const total = Object.values(byStatus).reduce((sum, value) => sum + value, 0);
    return { users, spaces, bookings: { total, by_status: byStatus }, revenue };
  }

  return { stats };
}

export type AdminService = ReturnType<typeof createAdminService>;
