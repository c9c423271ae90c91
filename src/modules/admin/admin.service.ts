import type { Db } from '../../db/client.ts';
import type { SqlFigure } from '../../db/fragments.ts';
import { forbidden } from '../../shared/errors.ts';
import type { Principal } from '../../shared/principal.ts';
import type { MonthlyRevenue } from '../../shared/revenue.ts';
import { ADMINS_ONLY, canSeePlatformStats } from './admin.policy.ts';
import { platformFiguresStatement } from './admin.repository.ts';
import type { AdminStats } from './admin.schemas.ts';

/**
 * The admin module owns no table: each figure is a scalar subquery lent by the module that owns
 * its rows, wired in app.ts, and the four are read by one statement (a statement each took four
 * pooled connections per request; bench/README.md, "Admin stats in one statement"). Listings,
 * bookings and revenue come from trigger-kept counters (ADRs 0007, 0016, 0013), so none grows
 * with the rows it counts (bench/README.md, "Admin stats plans").
 */
export interface AdminServiceDeps {
  db: Db;
  figures: {
    users: SqlFigure<AdminStats['users']>;
    spaces: SqlFigure<AdminStats['spaces']>;
    bookingsByStatus: SqlFigure<AdminStats['bookings']['by_status']>;
    revenue: SqlFigure<MonthlyRevenue>;
  };
}

export function createAdminService({ db, figures }: AdminServiceDeps) {
  const readFigures = platformFiguresStatement(figures);

  async function stats(actor: Principal): Promise<AdminStats> {
    if (!canSeePlatformStats(actor.user)) throw forbidden(ADMINS_ONLY);
    const { users, spaces, bookingsByStatus, revenue } = await readFigures(db);
    const total = Object.values(bookingsByStatus).reduce((sum, value) => sum + value, 0);
    return { users, spaces, bookings: { total, by_status: bookingsByStatus }, revenue };
  }

  return { stats };
}

export type AdminService = ReturnType<typeof createAdminService>;
