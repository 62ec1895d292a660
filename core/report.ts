// What a run reports: per task and overall, the mean pass@1 over rollouts, pass@N (any rollout
// passed), cost, steps and exit statuses. Pure, so the report activity, the CLI and tests agree.
import type { ExitStatus } from './agent';
import { renderBudget, type Budget, type BudgetStop } from './budget';
import { addCost } from './model';
import type { RolloutResult } from './rollout';
import { renderScalingReport, type ScalingReport } from './scalingReport';
import {
  DEFAULT_BOOTSTRAP,
  formatInterval,
  meanInterval,
  passAtKCurve,
  type BootstrapSettings,
  type Interval,
} from './statistics';

/** What a task's line and the run's headline both report. */
interface Totals {
  rollouts: number;
  /** pass@1: a task's mean over its rollouts; the run's mean over tasks of that. */
  pass1: number;
  /** pass@N: 1 when any rollout passed (the oracle's view: what selection could at best reach); the run's mean over tasks. */
  passN: number;
  meanSteps: number;
  /** Known cost; `costUnknown` counts rollouts whose model had no price. */
  costUsd: number;
  costUnknown: number;
  exitStatuses: Partial<Record<ExitStatus, number>>;
  evalErrors: number;
}

export interface TaskReport extends Totals {
  taskId: string;
  passed: number;
  /** The task could not run (its image did not build, its workflow failed): it counts as unsolved. */
  error?: string;
  /** rtv / pdr: whether the final pick passed. */
  final?: boolean;
}

export interface RunReport extends Totals {
  runId: string;
  /** Said at the top of the report, e.g. that a scripted model stood in for a real one. */
  note?: string;
  strategy: string;
  model: string;
  tasks: number;
  perTask: TaskReport[];
  /** rtv / pdr: the paper's table. */
  scaling?: ScalingReport;
  /** Intervals of the headline rates (bootstrap over tasks), and pass@k for every k up to the smallest N. */
  intervals?: RunIntervals;
  /** The run's cost caps and where they stopped new rollouts (absent when it had none). */
  budget?: { caps: Budget; stops: BudgetStop[] };
}

export interface RunIntervals {
  pass1: Interval | null;
  passN: Interval | null;
  passAtK: { k: number; interval: Interval }[];
  bootstrap: BootstrapSettings;
}

/** Every stage's dollars (agent, and summaries and judge where there were any); null when a price is missing. */
export const totalCost = (r: RunReport): number | null =>
  r.scaling
    ? [r.scaling.cost.agent, r.scaling.cost.summary, r.scaling.cost.judge].reduce<number | null>(addCost, 0)
    : r.costUnknown
      ? null
      : r.costUsd;

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

function countStatuses(rs: RolloutResult[]) {
  const out: Partial<Record<ExitStatus, number>> = {};
  for (const r of rs) out[r.exitStatus] = (out[r.exitStatus] ?? 0) + 1;
  return out;
}

export function taskReport(taskId: string, rs: RolloutResult[]): TaskReport {
  const passed = rs.filter((r) => r.passed).length;
  return {
    taskId,
    rollouts: rs.length,
    passed,
    pass1: rs.length ? passed / rs.length : 0,
    passN: passed > 0 ? 1 : 0,
    meanSteps: mean(rs.map((r) => r.steps)),
    costUsd: rs.reduce((a, r) => a + (r.costUsd ?? 0), 0),
    costUnknown: rs.filter((r) => r.costUsd === null).length,
    exitStatuses: countStatuses(rs),
    evalErrors: rs.filter((r) => r.evalError).length,
  };
}

export function runReport(
  meta: { runId: string; strategy: string; model: string; note?: string },
  byTask: Map<string, RolloutResult[]>,
  errors: ReadonlyMap<string, string> = new Map(),
  bootstrap: BootstrapSettings = DEFAULT_BOOTSTRAP,
): RunReport {
  // A task that could not run counts, with its rollouts so far (often none), as unsolved.
  const perTask = [...byTask]
    .map(([id, rs]) => ({ ...taskReport(id, rs), ...(errors.has(id) ? { error: errors.get(id) } : {}) }))
    .sort((a, b) => a.taskId.localeCompare(b.taskId));
  const all = [...byTask.values()].flat();
  return {
    ...meta,
    tasks: perTask.length,
    rollouts: all.length,
    pass1: mean(perTask.map((t) => t.pass1)),
    passN: mean(perTask.map((t) => t.passN)),
    meanSteps: mean(all.map((r) => r.steps)),
    costUsd: perTask.reduce((a, t) => a + t.costUsd, 0),
    costUnknown: perTask.reduce((a, t) => a + t.costUnknown, 0),
    exitStatuses: countStatuses(all),
    evalErrors: perTask.reduce((a, t) => a + t.evalErrors, 0),
    perTask,
    intervals: {
      pass1: meanInterval(
        perTask.map((t) => t.pass1),
        bootstrap,
      ),
      passN: meanInterval(
        perTask.map((t) => t.passN),
        bootstrap,
      ),
      passAtK: passAtKCurve(
        perTask.map((t) => ({ n: t.rollouts, c: t.passed })),
        bootstrap,
      ),
      bootstrap,
    },
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
/** A rate and, when known, its interval: `41.0% [35.2%, 47.1%]`. */
const rate = (x: number, i: Interval | null | undefined) => (i ? formatInterval(i, pct) : pct(x));
const usd = (x: number, unknown: number) => `$${x.toFixed(4)}${unknown ? ` (+${unknown} unknown)` : ''}`;
const statuses = (s: Partial<Record<ExitStatus, number>>) =>
  Object.entries(s)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

/** The headline's cost: every stage's, the agent's alone when there are no other stages. */
function headlineCost(r: RunReport): string {
  if (!r.scaling) return usd(r.costUsd, r.costUnknown);
  const total = totalCost(r);
  return `${total === null ? 'unknown (a model has no price)' : `$${total.toFixed(4)}`} (all stages; agent ${usd(r.costUsd, r.costUnknown)})`;
}

const intervalsNote = (i: RunIntervals) =>
  `[low, high]: ${Math.round(100 * i.bootstrap.level)}% intervals, bootstrap over tasks (a task's rollouts resampled together), ${i.bootstrap.resamples} resamples, seed ${i.bootstrap.seed}`;

/** pass@k by the unbiased estimator, for k = 1 .. N, when there is more than one k. */
function passAtKTable(i: RunIntervals | undefined): string[] {
  if (!i || i.passAtK.length < 2) return [];
  return [
    '',
    '| k | pass@k (unbiased estimator) |',
    '|---|---|',
    ...i.passAtK.map((p) => `| ${p.k} | ${formatInterval(p.interval, pct)} |`),
  ];
}

export function renderRunReport(r: RunReport): string {
  const notStarted = new Set(r.budget?.stops.filter((s) => s.iteration === 0).map((s) => s.taskId));
  const rows = r.perTask.map(
    (t) =>
      `| ${t.taskId} | ${t.passed}/${t.rollouts} | ${pct(t.pass1)} | ${t.passN ? 'yes' : 'no'} | ${t.meanSteps.toFixed(1)} | ${usd(t.costUsd, t.costUnknown)} | ${t.error ? `**task failed**: ${t.error.split('\n')[0]}` : notStarted.has(t.taskId) && !t.rollouts ? '**not started**: cost cap' : statuses(t.exitStatuses)} |`,
  );
  const failed = r.perTask.filter((t) => t.error);
  return [
    `# Run ${r.runId}`,
    '',
    ...(r.note ? [`> ${r.note}`, ''] : []),
    `strategy ${r.strategy}, model ${r.model}: ${r.tasks} tasks, ${r.rollouts} rollouts`,
    '',
    `**pass@1 ${rate(r.pass1, r.intervals?.pass1)}**, pass@N ${rate(r.passN, r.intervals?.passN)}, mean steps ${r.meanSteps.toFixed(1)}, cost ${headlineCost(r)}`,
    `exit statuses: ${statuses(r.exitStatuses)}${r.evalErrors ? `; evaluation errors: ${r.evalErrors}` : ''}`,
    ...(failed.length ? [`**${failed.length} of ${r.tasks} tasks could not run**; they count as unsolved.`] : []),
    ...(r.intervals ? [intervalsNote(r.intervals)] : []),
    ...passAtKTable(r.intervals),
    ...(r.budget ? ['', ...renderBudget(r.budget.caps, r.budget.stops)] : []),
    '',
    '| task | passed | pass@1 | pass@N | mean steps | cost | exit statuses |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    ...(r.scaling
      ? [
          '',
          `## Test-time scaling (${r.strategy})`,
          '',
          renderScalingReport(r.scaling),
          '',
          'The table above counts every rollout of every iteration; Final is the one answer per task.',
        ]
      : []),
  ].join('\n');
}
