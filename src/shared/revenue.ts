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
