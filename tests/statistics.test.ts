// The report's statistics against independent references: pass@k against brute-force enumeration,
// McNemar against exact binomial tails in BigInt arithmetic, and the bootstrap's coverage and width
// measured on simulated runs with known rates.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bootstrap,
  mcnemarExact,
  meanInterval,
  pairedComparison,
  passAtK,
  passAtKCurve,
  quantile,
  selectionEfficiency,
  type BootstrapSettings,
} from '../core/statistics';
import { rng } from '../core/tournament';

/** Every k-subset of n rollouts, the first c of which pass: the share containing a pass. */
function bruteForcePassAtK(n: number, c: number, k: number): number {
  let hit = 0;
  let all = 0;
  const walk = (start: number, left: number, any: boolean) => {
    if (left === 0) {
      all++;
      if (any) hit++;
      return;
    }
    for (let i = start; i <= n - left; i++) walk(i + 1, left - 1, any || i < c);
  };
  walk(0, k, false);
  return hit / all;
}

const choose = (n: bigint, k: bigint): bigint => {
  let r = 1n;
  for (let i = 1n; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
};

/** Two-sided exact McNemar p-value as an exact rational, converted once at the end. */
function bigIntMcNemar(b: number, c: number): number {
  const n = BigInt(b + c);
  if (n === 0n) return 1;
  const m = BigInt(Math.min(b, c));
  let tail = 0n;
  for (let i = 0n; i <= m; i++) tail += choose(n, i);
  // 2 * tail / 2^n, scaled to keep 15 significant digits through Number().
  const scale = 10n ** 18n;
  const p = Number((2n * tail * scale) / 2n ** n) / 1e18;
  return Math.min(1, p);
}

/** A run of `tasks` tasks whose true rates are spread evenly over [0, 1], n rollouts each. */
function simulateRun(tasks: number, n: number, seed: number): { rates: number[]; trueMean: number } {
  const random = rng(seed);
  const truth = Array.from({ length: tasks }, () => random());
  const rates = truth.map((p) => {
    let passed = 0;
    for (let i = 0; i < n; i++) if (random() < p) passed++;
    return passed / n;
  });
  return { rates, trueMean: 0.5 };
}

const quick: BootstrapSettings = { resamples: 400, seed: 7, level: 0.95 };

describe('statistics', () => {
  it('pass@k equals brute-force enumeration of k-subsets', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 10 })
          .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n }), fc.integer({ min: 1, max: n }))),
        ([n, c, k]) => {
          expect(passAtK(n, c, k)).toBeCloseTo(bruteForcePassAtK(n, c, k), 12);
        },
      ),
    );
  });

  it('pass@k is pass@1 at k = 1, the oracle at k = n, and refuses impossible arguments', () => {
    expect(passAtK(16, 5, 1)).toBeCloseTo(5 / 16, 15);
    expect(passAtK(16, 1, 16)).toBe(1);
    expect(passAtK(16, 0, 16)).toBe(0);
    expect(() => passAtK(4, 5, 2)).toThrow(/0 <= c <= n/);
    expect(() => passAtK(4, 1, 5)).toThrow(/k <= n/);
  });

  it('pass@k curve: non-decreasing in k, up to the smallest n, failed tasks counted as unsolved', () => {
    const curve = passAtKCurve(
      [
        { n: 4, c: 1 },
        { n: 6, c: 3 },
        { n: 0, c: 0 },
      ],
      quick,
    );
    expect(curve.map((p) => p.k)).toEqual([1, 2, 3, 4]);
    const est = curve.map((p) => p.interval.estimate);
    for (let i = 1; i < est.length; i++) expect(est[i]!).toBeGreaterThanOrEqual(est[i - 1]!);
    expect(est[0]).toBeCloseTo((1 / 4 + 3 / 6 + 0) / 3, 12);
    expect(est[3]).toBeCloseTo((1 + bruteForcePassAtK(6, 3, 4) + 0) / 3, 12);
  });

  it('McNemar equals the exact binomial tail computed in integers', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 200 }), (b, c) => {
        const ours = mcnemarExact(b, c);
        const exact = bigIntMcNemar(b, c);
        expect(Math.abs(ours - exact)).toBeLessThanOrEqual(1e-9 * Math.max(exact, 1e-300) + 1e-15);
      }),
    );
    // Known values: b = 0, c = 5 gives 2 / 32; a tie is never significant.
    expect(mcnemarExact(0, 5)).toBeCloseTo(0.0625, 15);
    expect(mcnemarExact(7, 7)).toBe(1);
  });

  it('quantile interpolates linearly between order statistics', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10], 0.3)).toBe(10);
    expect(quantile([0, 10], 0.25)).toBe(2.5);
  });

  it('the same data and seed give the same interval; another seed may differ only slightly', () => {
    const { rates } = simulateRun(60, 4, 3);
    expect(meanInterval(rates, quick)).toEqual(meanInterval(rates, quick));
    const other = meanInterval(rates, { ...quick, seed: 8 })!;
    const one = meanInterval(rates, quick)!;
    expect(other.estimate).toBe(one.estimate);
    expect(Math.abs(other.low - one.low)).toBeLessThan(0.03);
  });

  it('a 95% interval covers the true rate about 95% of the time (clustered over tasks)', () => {
    const seeds = 300;
    let covered = 0;
    for (let s = 0; s < seeds; s++) {
      const { rates, trueMean } = simulateRun(80, 4, 1000 + s);
      const i = meanInterval(rates, { ...quick, seed: s })!;
      if (i.low <= trueMean && trueMean <= i.high) covered++;
    }
    // Binomial sd at 300 seeds is 1.3 points; the percentile bootstrap runs slightly narrow at 80 tasks.
    expect(covered / seeds).toBeGreaterThan(0.9);
    expect(covered / seeds).toBeLessThan(0.99);
  });

  it('intervals narrow as tasks are added', () => {
    const width = (tasks: number) => {
      let w = 0;
      for (let s = 0; s < 20; s++) {
        const i = meanInterval(simulateRun(tasks, 4, s).rates, quick)!;
        w += i.high - i.low;
      }
      return w / 20;
    };
    const [w25, w100, w400] = [width(25), width(100), width(400)];
    expect(w100).toBeLessThan(w25);
    expect(w400).toBeLessThan(w100);
    // About 1/sqrt(tasks): four times the tasks, half the width.
    expect(w400 / w100).toBeGreaterThan(0.35);
    expect(w400 / w100).toBeLessThan(0.65);
  });

  it('bootstrap is undefined when the statistic is, and a point for a single task', () => {
    expect(bootstrap([], () => NaN, quick)).toBeNull();
    expect(meanInterval([0.25], quick)).toEqual({ estimate: 0.25, low: 0.25, high: 0.25 });
  });

  it('selection efficiency of a judge of known accuracy is 2a - 1 on one-of-two tasks', () => {
    const accuracy = 0.8;
    const random = rng(11);
    // 2 rollouts per task, one passing in every task: pass@1 = 0.5, oracle = 1, final = accuracy.
    const tasks = Array.from({ length: 2000 }, () => ({ pass1: 0.5, passN: 1, final: random() < accuracy ? 1 : 0 }));
    const i = bootstrap(tasks, selectionEfficiency, quick)!;
    expect(i.low).toBeLessThan(2 * accuracy - 1);
    expect(i.high).toBeGreaterThan(2 * accuracy - 1);
    expect(Math.abs(i.estimate - 0.6)).toBeLessThan(0.05);
    expect(selectionEfficiency([{ pass1: 1, passN: 1, final: 1 }])).toBeNaN();
  });

  it('paired comparison flags a real drop and not a null difference', () => {
    const random = rng(5);
    const drop = Array.from({ length: 300 }, () => {
      const before = random() < 0.6;
      const now = before ? random() < 0.75 : random() < 0.1; // about 0.6 -> 0.49
      return { before, now, rateBefore: before ? 1 : 0, rateNow: now ? 1 : 0 };
    });
    const d = pairedComparison(drop, quick);
    expect(d.pValue).toBeLessThan(0.01);
    expect(d.difference!.high).toBeLessThan(0);

    // With no change, the test at the 5% level flags about 5% of runs (exact McNemar: at most that).
    let flagged = 0;
    for (let s = 0; s < 200; s++) {
      const r = rng(100 + s);
      const same = Array.from({ length: 300 }, () => {
        const before = r() < 0.6;
        const now = r() < 0.6;
        return { before, now, rateBefore: before ? 1 : 0, rateNow: now ? 1 : 0 };
      });
      if (pairedComparison(same, { ...quick, resamples: 50 }).pValue < 0.05) flagged++;
    }
    expect(flagged / 200).toBeLessThan(0.09);
  });
});
