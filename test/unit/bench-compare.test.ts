import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cleanup } from '../../bench/cleanup.ts';
import { compareFigure, interleavedOrder, median, ratio, reading, renderReport, spread } from '../../bench/compare-stats.ts';
import type { Figures } from '../../bench/harness.ts';

describe('bench:compare order', () => {
  it('alternates which side goes first, so each pair of rounds runs A B B A', () => {
    assert.deepEqual(interleavedOrder(4), [
      ['current', 'rev'],
      ['rev', 'current'],
      ['current', 'rev'],
      ['rev', 'current'],
    ]);
    assert.deepEqual(interleavedOrder(1), [['current', 'rev']]);
  });

  it('gives each side the first slot as often as the other over an even number of rounds', () => {
    for (const rounds of [2, 6, 10]) {
      const firsts = interleavedOrder(rounds).map(([first]) => first);
      assert.equal(firsts.filter((side) => side === 'current').length, rounds / 2);
    }
  });

  it('refuses a round count that is not a whole number of at least one', () => {
    for (const rounds of [0, -1, 2.5, NaN]) assert.throws(() => interleavedOrder(rounds), /rounds must be/);
  });
});

describe('bench:compare arithmetic', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([7]), 7);
    assert.ok(Number.isNaN(median([])));
  });

  it('measures the spread of a side as (max − min) / median', () => {
    assert.equal(spread([90, 100, 110]), 0.2);
    assert.equal(spread([100, 100]), 0);
  });

  it('divides only by a non-zero figure', () => {
    assert.equal(ratio(150, 100), 1.5);
    assert.ok(Number.isNaN(ratio(5, 0)));
    assert.ok(Number.isNaN(ratio(NaN, 3)));
  });

  it('compares the medians and each round with its own pair', () => {
    const comparison = compareFigure([110, 120, 100], [100, 100, 100]);
    assert.equal(comparison.current.median, 110);
    assert.equal(comparison.rev.median, 100);
    assert.equal(comparison.ratioOfMedians, 1.1);
    assert.deepEqual(comparison.perRound, [1.1, 1.2, 1]);
    assert.deepEqual(comparison.range, [1, 1.2]);
    // A round where both sides were equal already leaves the direction open.
    assert.equal(comparison.crossesOne, true);
    assert.equal(compareFigure([110, 120], [100, 100]).crossesOne, false);
    assert.equal(compareFigure([90, 80], [100, 100]).crossesOne, false);
  });

  it('needs the same number of rounds on both sides', () => {
    assert.throws(() => compareFigure([1, 2], [1]), /same number of rounds/);
    assert.throws(() => compareFigure([], []), /same number of rounds/);
  });

  it('reads a difference only when every round agrees, and says when it is smaller than the spread', () => {
    assert.equal(reading(compareFigure([120, 130], [100, 100]), 'higher', 2), 'current higher in every round (better, 25 %)');
    assert.equal(reading(compareFigure([120, 130], [100, 100]), 'lower', 2), 'current higher in every round (worse, 25 %)');
    assert.equal(reading(compareFigure([80, 90], [100, 100]), 'lower', 2), 'current lower in every round (better, 15 %)');
    assert.match(reading(compareFigure([90, 120], [100, 100]), 'higher', 2), /no clear difference/);
    assert.match(reading(compareFigure([50, 50], [50, 50]), 'higher', 2), /no clear difference/);
    // 5 % faster in both rounds, but each side's own rounds lie 40 % apart.
    assert.match(reading(compareFigure([84, 126], [80, 120]), 'higher', 2), /within the spread of the rounds/);
    assert.equal(reading(compareFigure([120], [100]), 'higher', 1), 'one round: no noise estimate');
    assert.equal(reading(compareFigure([0, 0], [0, 0]), 'lower', 2), 'no ratio (a median is 0)');
    // A figure the row does not have (the peak RSS of a probe run from its own process).
    assert.equal(reading(compareFigure([NaN, NaN], [NaN, NaN]), 'lower', 2), '–');
  });
});

describe('bench:compare report', () => {
  const row = (requestsPerSecond: number, p99Ms: number, extra: Partial<Figures> = {}): Figures => ({
    scenario: 'GET /health',
    requestsPerSecond,
    p50Ms: 1,
    p99Ms,
    non2xx: 0,
    errors: 0,
    peakRssMb: 300,
    ...extra,
  });

  it('shows every round, the medians, the ratios and the reading', () => {
    const lines = renderReport({
      revLabel: 'HEAD~5',
      order: interleavedOrder(2),
      current: [[row(1100, 4)], [row(1200, 5)]],
      rev: [[row(1000, 5)], [row(1000, 5, { errors: 2 })]],
    });
    const text = lines.join('\n');
    assert.match(text, /### GET \/health/);
    assert.match(text, /\| 1 \| current, HEAD~5 \| 1100 \| 1000 \| 1\.10 \| 4 \| 5 \| 0\.80 \|/);
    assert.match(text, /\| 2 \| HEAD~5, current \| 1200 \| 1000 \| 1\.20 \| 5 \| 5 \| 1\.00 \|/);
    assert.match(text, /\| requests\/s \| 1150 \| 1000 \| 1\.15 \| 1\.10–1\.20 \| 9 % \| 0 % \| current higher in every round \(better, 15 %\) \|/);
    assert.match(text, /\| p99 ms \| 4\.5 \| 5 \| 0\.90 \| 0\.80–1\.00 \| 22 % \| 0 % \| no clear difference/);
    assert.match(text, /current 0 non-2xx, 0 errors; HEAD~5 0 non-2xx, 2 errors/);
  });

  it('leaves a figure the row does not have as dashes', () => {
    const probe = (requestsPerSecond: number) => row(requestsPerSecond, 3, { peakRssMb: undefined });
    const text = renderReport({ revLabel: 'abc', order: interleavedOrder(2), current: [[probe(50)], [probe(50)]], rev: [[probe(50)], [probe(50)]] }).join('\n');
    assert.match(text, /\| server peak RSS MB \| – \| – \| – \| – \| – \| – \| – \|/);
  });

  it('counts only the rounds both sides finished', () => {
    const text = renderReport({ revLabel: 'abc', order: interleavedOrder(2), current: [[row(1, 1)]], rev: [[row(1, 1)], [row(2, 2)]] }).join('\n');
    assert.match(text, /Over the 1 round:/);
    assert.doesNotMatch(text, /\| 2 \|/);
    assert.deepEqual(renderReport({ revLabel: 'abc', order: interleavedOrder(1), current: [], rev: [[row(1, 1)]] }), ['no complete round: nothing to compare']);
  });
});

describe('bench:compare cleanup', () => {
  it('undoes newest first, each step once, and goes on past a failing step', async () => {
    const done: string[] = [];
    const reports: string[] = [];
    const cleanup = new Cleanup((message) => reports.push(message));
    cleanup.add('worktree', () => void done.push('worktree'));
    cleanup.add('database', () => {
      throw new Error('connection refused');
    });
    const stopServer = cleanup.add('server', async () => void done.push('server'));
    cleanup.add('data', () => void done.push('data'));
    await stopServer();
    await stopServer();
    await Promise.all([cleanup.run(), cleanup.run()]);
    assert.deepEqual(done, ['server', 'data', 'worktree']);
    assert.deepEqual(reports, ['cleanup: database failed: connection refused']);
  });

  it('undoes at once what is registered after the cleanup ran', async () => {
    const done: string[] = [];
    const cleanup = new Cleanup();
    await cleanup.run();
    cleanup.add('late server', () => void done.push('late server'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(done, ['late server']);
  });
});
