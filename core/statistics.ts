// The statistics behind every rate a run reports: 95% intervals by a bootstrap over tasks (a task's
// rollouts resampled together, since they share the task's difficulty), the unbiased pass@k
// estimator, an exact McNemar test for paired per-task outcomes, and selection efficiency.
// Pure and seeded, so a report computed twice is the same report.
import { rng } from './tournament';

export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

/** How an interval was made; recorded beside it so a reader can reproduce it. */
export interface BootstrapSettings {
  resamples: number;
  seed: number;
  /** Two-sided coverage, e.g. 0.95. */
  level: number;
}

export const DEFAULT_BOOTSTRAP: BootstrapSettings = { resamples: 2000, seed: 1, level: 0.95 };

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** The q-quantile of sorted values, interpolating between order statistics (numpy's default, "linear"). */
export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Percentile bootstrap over clusters (tasks): each resample draws as many tasks as there are, with
 * replacement, and recomputes `statistic` on them. Statistics that are undefined on a resample
 * (NaN, e.g. a ratio with a zero denominator) are left out of the percentiles.
 * Returns null when the statistic is undefined on the data itself.
 */
export function bootstrap<T>(
  clusters: readonly T[],
  statistic: (sample: readonly T[]) => number,
  settings: BootstrapSettings = DEFAULT_BOOTSTRAP,
): Interval | null {
  const estimate = statistic(clusters);
  if (!Number.isFinite(estimate)) return null;
  if (clusters.length < 2) return { estimate, low: estimate, high: estimate };
  const random = rng(settings.seed);
  const values: number[] = [];
  const sample: T[] = new Array(clusters.length);
  for (let b = 0; b < settings.resamples; b++) {
    for (let i = 0; i < clusters.length; i++) sample[i] = clusters[Math.floor(random() * clusters.length)]!;
    const v = statistic(sample);
    if (Number.isFinite(v)) values.push(v);
  }
  values.sort((a, b) => a - b);
  const tail = (1 - settings.level) / 2;
  return { estimate, low: quantile(values, tail), high: quantile(values, 1 - tail) };
}

/** A mean over tasks of a per-task value in [0, 1], with its clustered bootstrap interval. */
export const meanInterval = (perTask: readonly number[], settings?: BootstrapSettings) =>
  bootstrap(perTask, mean, settings);

/**
 * The unbiased pass@k estimator (Chen et al. 2021) for a task with n rollouts of which c passed:
 * 1 - C(n-c, k) / C(n, k), as a product so that large n does not overflow.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(c) || !Number.isInteger(k) || k < 1 || k > n || c < 0 || c > n)
    throw new RangeError(`pass@k needs integers 1 <= k <= n and 0 <= c <= n (n=${n}, c=${c}, k=${k})`);
  if (n - c < k) return 1;
  let fail = 1;
  for (let i = n - c + 1; i <= n; i++) fail *= 1 - k / i;
  return 1 - fail;
}

/** pass@k for every k up to the smallest n among the tasks, each the mean over tasks. */
export function passAtKCurve(
  tasks: readonly { n: number; c: number }[],
  settings?: BootstrapSettings,
): { k: number; interval: Interval }[] {
  const withRollouts = tasks.filter((t) => t.n > 0);
  if (!withRollouts.length) return [];
  const maxK = Math.min(...withRollouts.map((t) => t.n));
  return Array.from({ length: maxK }, (_, i) => {
    const k = i + 1;
    // Tasks that ran no rollout (failed) count as unsolved, as in every other table.
    const per = tasks.map((t) => (t.n > 0 ? passAtK(t.n, t.c, k) : 0));
    return { k, interval: meanInterval(per, settings)! };
  });
}

/** log C(n, k), exact enough for the binomial tails below (n up to a few thousand). */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/**
 * Exact two-sided McNemar test on paired binary outcomes: of the discordant pairs, b changed one
 * way and c the other; under no change each is Binomial(b + c, 1/2). p = min(1, 2 P(X <= min(b, c))).
 */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const m = Math.min(b, c);
  let tail = 0;
  for (let i = 0; i <= m; i++) tail += Math.exp(logChoose(n, i) - n * Math.LN2);
  return Math.min(1, 2 * tail);
}

export interface PairedComparison {
  tasks: number;
  /** Current minus previous, mean over shared tasks, with its paired bootstrap interval. */
  difference: Interval | null;
  /** Discordant tasks: solved only before, solved only now. */
  onlyBefore: number;
  onlyNow: number;
  pValue: number;
}

/** Paired per-task outcomes (solved before, solved now) and per-task rates, for `compare`. */
export function pairedComparison(
  pairs: readonly { before: boolean; now: boolean; rateBefore: number; rateNow: number }[],
  settings?: BootstrapSettings,
): PairedComparison {
  const onlyBefore = pairs.filter((p) => p.before && !p.now).length;
  const onlyNow = pairs.filter((p) => !p.before && p.now).length;
  return {
    tasks: pairs.length,
    difference: meanInterval(
      pairs.map((p) => p.rateNow - p.rateBefore),
      settings,
    ),
    onlyBefore,
    onlyNow,
    pValue: mcnemarExact(onlyBefore, onlyNow),
  };
}

/** The share of the gap between pass@1 and the oracle (pass@N) that selection closed; NaN with no gap. */
export function selectionEfficiency(tasks: readonly { pass1: number; passN: number; final: number }[]): number {
  const gap = mean(tasks.map((t) => t.passN)) - mean(tasks.map((t) => t.pass1));
  return gap > 0 ? (mean(tasks.map((t) => t.final)) - mean(tasks.map((t) => t.pass1))) / gap : NaN;
}

/** A ratio of sums over tasks (e.g. correct votes over informative groups), NaN when nothing was counted. */
export const ratioOfSums = (tasks: readonly { num: number; den: number }[]) => {
  const den = tasks.reduce((a, t) => a + t.den, 0);
  return den > 0 ? tasks.reduce((a, t) => a + t.num, 0) / den : NaN;
};

export const formatInterval = (i: Interval | null | undefined, f: (x: number) => string) =>
  i ? `${f(i.estimate)} [${f(i.low)}, ${f(i.high)}]` : '-';
