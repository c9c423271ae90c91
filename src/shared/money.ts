/** Money is integer minor units everywhere inside; every currency is treated as having 2 decimals. */

/** Major units with at most two decimals → integer minor units; undefined when more precise. */
export function toMinorUnits(major: number): number | undefined {
  const minor = Math.round(major * 100);
  if (!Number.isSafeInteger(minor) || Math.abs(major * 100 - minor) > 1e-6) return undefined;
  return minor;
}

export const toMajorUnits = (minor: number) => minor / 100;

/** A percentage of an amount in minor units, rounded down: a refund never exceeds its share. */
export const shareOf = (amountMinor: number, percent: number) => Math.floor((amountMinor * percent) / 100);
