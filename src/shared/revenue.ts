import { Type, type Static } from 'typebox';

/** The contract's default currency, reported when nothing has been earned yet. */
const DEFAULT_CURRENCY = 'KES';

export const RevenueSchema = Type.Object({
  total: Type.Number({ description: 'Revenue in `currency`: the currency that earned the most' }),
  currency: Type.String(),
  by_currency: Type.Array(Type.Object({ currency: Type.String(), total: Type.Number() }), {
    description: 'Every currency earned in, largest first; amounts in different currencies are never added together',
  }),
});
export type Revenue = Static<typeof RevenueSchema>;

/** Sums in minor units per currency, largest first, as the contract's revenue figure. */
export function revenueFigures(minorByCurrency: { currency: string; total: number }[]): Revenue {
  const byCurrency = minorByCurrency.map((row) => ({ currency: row.currency, total: row.total / 100 }));
  const [main] = byCurrency;
  return { total: main?.total ?? 0, currency: main?.currency ?? DEFAULT_CURRENCY, by_currency: byCurrency };
}

const MonthSchema = Type.Object({
  month: Type.String({ pattern: '^[0-9]{4}-[0-9]{2}$', description: "YYYY-MM in the platform's time zone (Africa/Nairobi)" }),
  amount: Type.Number(),
});

export const MonthlyRevenueSchema = Type.Object({
  total: RevenueSchema.properties.total,
  currency: RevenueSchema.properties.currency,
  by_month: Type.Array(MonthSchema, { description: "Months of `currency` with revenue, oldest first; a refund counts in its payment's month" }),
  by_currency: Type.Array(Type.Object({ currency: Type.String(), total: Type.Number(), by_month: Type.Array(MonthSchema) }), {
    description: 'Every currency earned in, largest first, each with its own months; amounts in different currencies are never added together',
  }),
});
export type MonthlyRevenue = Static<typeof MonthlyRevenueSchema>;

/** Sums in minor units per currency and month, as revenue whose main currency also shows its months. */
export function monthlyRevenueFigures(minorByMonth: { currency: string; month: string; total: number }[]): MonthlyRevenue {
  const currencies = new Map<string, { total: number; months: { month: string; amount: number }[] }>();
  for (const row of minorByMonth) {
    const entry = currencies.get(row.currency) ?? { total: 0, months: [] };
    entry.total += row.total;
    if (row.total !== 0) entry.months.push({ month: row.month, amount: row.total / 100 });
    currencies.set(row.currency, entry);
  }
  const byCurrency = [...currencies.entries()]
    .filter(([, entry]) => entry.total > 0)
    .sort(([a, x], [b, y]) => y.total - x.total || a.localeCompare(b))
    .map(([currency, entry]) => ({ currency, total: entry.total / 100, by_month: entry.months.sort((x, y) => x.month.localeCompare(y.month)) }));
  const [main] = byCurrency;
  return { total: main?.total ?? 0, currency: main?.currency ?? DEFAULT_CURRENCY, by_month: main?.by_month ?? [], by_currency: byCurrency };
}
