/**
 * The arithmetic of `npm run bench:compare` (bench/compare.ts), kept free of processes and I/O so
 * that the unit tests can check it.
 */

import type { Figures } from './harness.ts';

export type Side = 'current' | 'rev';

/**
 * The order of the two sides in each round: A B, B A, A B, … A steady drift of the machine (a
 * neighbour's test suite starting, caches warming) then favours neither side over each pair of
 * rounds, and neither side always runs right after a scratch database was prepared.
 */
export function interleavedOrder(rounds: number): [Side, Side][] {
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`rounds must be a whole number ≥ 1, not ${rounds}`);
  return Array.from({ length: rounds }, (_, round) => (round % 2 === 0 ? ['current', 'rev'] : ['rev', 'current']));
}

/** The middle value; the mean of the two middle ones for an even count. */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** How far one side's rounds lie apart, as a share of their median: (max − min) / median. */
export function spread(values: number[]): number {
  if (values.length === 0) return NaN;
  return (Math.max(...values) - Math.min(...values)) / median(values);
}

/** a / b, or NaN when b is 0 (a p99 of 0 ms, an endpoint that answered nothing). */
export const ratio = (a: number, b: number): number => (b === 0 || !Number.isFinite(a) || !Number.isFinite(b) ? NaN : a / b);

export interface Comparison {
  current: { median: number; spread: number };
  rev: { median: number; spread: number };
  /** median(current) / median(rev). */
  ratioOfMedians: number;
  /** current / rev within each round, in round order. */
  perRound: number[];
  /** The lowest and highest per-round ratio. */
  range: [number, number];
  /** The per-round ratios lie on both sides of 1.0 (or touch it): the rounds disagree on the direction. */
  crossesOne: boolean;
}

/** One figure (requests/s, p99, …) of both sides, round by round: `current[i]` and `rev[i]` ran in round i. */
export function compareFigure(current: number[], rev: number[]): Comparison {
  if (current.length !== rev.length || current.length === 0) throw new Error('both sides need the same number of rounds, at least one');
  const perRound = current.map((value, round) => ratio(value, rev[round]!));
  const known = perRound.filter((value) => !Number.isNaN(value));
  const range: [number, number] = known.length > 0 ? [Math.min(...known), Math.max(...known)] : [NaN, NaN];
  return {
    current: { median: median(current), spread: spread(current) },
    rev: { median: median(rev), spread: spread(rev) },
    ratioOfMedians: ratio(median(current), median(rev)),
    perRound,
    range,
    crossesOne: known.length === 0 || (range[0] <= 1 && range[1] >= 1),
  };
}

/**
 * What the figures allow one to say, in words: only a direction every round agrees on counts,
 * and a difference smaller than either side's own spread is called out as such.
 */
export function reading(comparison: Comparison, better: 'higher' | 'lower', rounds: number): string {
  const { ratioOfMedians, crossesOne, current, rev } = comparison;
  if (Number.isNaN(current.median) || Number.isNaN(rev.median)) return '–';
  if (Number.isNaN(ratioOfMedians)) return 'no ratio (a median is 0)';
  if (rounds === 1) return 'one round: no noise estimate';
  if (crossesOne) return 'no clear difference: the per-round ratios reach or straddle 1.0';
  const higher = comparison.range[0] > 1;
  const verdict = (higher ? better === 'higher' : better === 'lower') ? 'better' : 'worse';
  const percent = Math.round(Math.abs(ratioOfMedians - 1) * 100);
  const words = `current ${higher ? 'higher' : 'lower'} in every round (${verdict}, ${percent} %)`;
  const noise = Math.max(current.spread, rev.spread);
  return Math.abs(ratioOfMedians - 1) < noise ? `${words}, but within the spread of the rounds` : words;
}

/** Numbers for the tables: ratios with two decimals, shares as whole percents, '–' for NaN. */
export const formatRatio = (value: number): string => (Number.isNaN(value) ? '–' : value.toFixed(2));
export const formatPercent = (value: number): string => (Number.isNaN(value) ? '–' : `${Math.round(value * 100)} %`);
export const formatFigure = (value: number): string => (Number.isNaN(value) ? '–' : String(Math.round(value * 10) / 10));

export interface Measured {
  /** The column name of the revision, e.g. `HEAD~5`. */
  revLabel: string;
  order: [Side, Side][];
  /** The rows each side's scenario returned, round by round (rounds[r][row]). */
  current: Figures[][];
  rev: Figures[][];
}

const cell = (value: number | undefined) => formatFigure(value ?? NaN);

/**
 * The report in Markdown, one section per row of the scenario: each round, then the medians, the
 * ratio current / revision, the spread of each side and a reading. Only rounds both sides finished
 * count (a run stopped half-way still reports those).
 */
export function renderReport({ revLabel, order, current, rev }: Measured): string[] {
  const rounds = Math.min(current.length, rev.length);
  if (rounds === 0) return ['no complete round: nothing to compare'];
  const name = (side: Side) => (side === 'current' ? 'current' : revLabel);
  const lines: string[] = [];
  for (let row = 0; row < current[0]!.length; row++) {
    const a = current.slice(0, rounds).map((figures) => figures[row]!);
    const b = rev.slice(0, rounds).map((figures) => figures[row]!);
    lines.push('', `### ${a[0]!.scenario.trim()}`, '');
    lines.push(`| round | order | current req/s | ${revLabel} req/s | ratio | current p99 ms | ${revLabel} p99 ms | ratio |`);
    lines.push('|---:|---|---:|---:|---:|---:|---:|---:|');
    for (let round = 0; round < rounds; round++) {
      const [x, y] = [a[round]!, b[round]!];
      lines.push(
        `| ${round + 1} | ${order[round]!.map(name).join(', ')} | ${cell(x.requestsPerSecond)} | ${cell(y.requestsPerSecond)} | ${formatRatio(ratio(x.requestsPerSecond, y.requestsPerSecond))} | ${cell(x.p99Ms)} | ${cell(y.p99Ms)} | ${formatRatio(ratio(x.p99Ms, y.p99Ms))} |`,
      );
    }
    lines.push('');
    lines.push(`| figure | current median | ${revLabel} median | current / ${revLabel} | per-round ratios | current spread | ${revLabel} spread | reading |`);
    lines.push('|---|---:|---:|---:|---|---:|---:|---|');
    const figure = (label: string, pick: (figures: Figures) => number | undefined, better: 'higher' | 'lower') => {
      const comparison = compareFigure(
        a.map((figures) => pick(figures) ?? NaN),
        b.map((figures) => pick(figures) ?? NaN),
      );
      const [low, high] = comparison.range;
      const range = rounds === 1 || Number.isNaN(low) ? formatRatio(low) : `${formatRatio(low)}–${formatRatio(high)}`;
      lines.push(
        `| ${label} | ${cell(comparison.current.median)} | ${cell(comparison.rev.median)} | ${formatRatio(comparison.ratioOfMedians)} | ${range} | ${formatPercent(comparison.current.spread)} | ${formatPercent(comparison.rev.spread)} | ${reading(comparison, better, rounds)} |`,
      );
    };
    figure('requests/s', (figures) => figures.requestsPerSecond, 'higher');
    figure('p99 ms', (figures) => figures.p99Ms, 'lower');
    figure('server peak RSS MB', (figures) => figures.peakRssMb, 'lower');
    const failures = (runs: Figures[]) => `${sum(runs.map((figures) => figures.non2xx))} non-2xx, ${sum(runs.map((figures) => figures.errors))} errors`;
    lines.push('', `Over the ${rounds} round${rounds === 1 ? '' : 's'}: current ${failures(a)}; ${revLabel} ${failures(b)}.`);
    for (const [label, runs] of [
      ['current', a],
      [revLabel, b],
    ] as const) {
      const notes = [...new Set(runs.map((figures) => figures.note).filter(Boolean))];
      if (notes.length > 0) lines.push(`Notes (${label}): ${notes.join(' | ')}`);
    }
  }
  return lines;
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
