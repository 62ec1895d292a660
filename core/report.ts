// What a run reports: per task and overall, the mean pass@1 over rollouts, pass@N (any rollout
// passed), cost, steps and exit statuses. Pure, so the report activity, the CLI and tests agree.
import type { ExitStatus } from './agent';
import { addCost } from './model';
import type { StageCost, TaskScalingResult } from './pdr';
import type { RolloutResult } from './rollout';

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
}

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
): RunReport {
  const perTask = [...byTask].map(([id, rs]) => taskReport(id, rs)).sort((a, b) => a.taskId.localeCompare(b.taskId));
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
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const usd = (x: number, unknown: number) => `$${x.toFixed(4)}${unknown ? ` (+${unknown} unknown)` : ''}`;
const statuses = (s: Partial<Record<ExitStatus, number>>) =>
  Object.entries(s)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

export function renderRunReport(r: RunReport): string {
  const rows = r.perTask.map(
    (t) =>
      `| ${t.taskId} | ${t.passed}/${t.rollouts} | ${pct(t.pass1)} | ${t.passN ? 'yes' : 'no'} | ${t.meanSteps.toFixed(1)} | ${usd(t.costUsd, t.costUnknown)} | ${statuses(t.exitStatuses)} |`,
  );
  return [
    `# Run ${r.runId}`,
    '',
    ...(r.note ? [`> ${r.note}`, ''] : []),
    `strategy ${r.strategy}, model ${r.model}: ${r.tasks} tasks, ${r.rollouts} rollouts`,
    '',
    `**pass@1 ${pct(r.pass1)}**, pass@N ${pct(r.passN)}, mean steps ${r.meanSteps.toFixed(1)}, cost ${usd(r.costUsd, r.costUnknown)}`,
    `exit statuses: ${statuses(r.exitStatuses)}${r.evalErrors ? `; evaluation errors: ${r.evalErrors}` : ''}`,
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

// ---- test-time scaling (rtv, pdr): the paper's table ----------------------------------------

export interface ScalingReport {
  tasks: number;
  /** Per iteration: mean pass@1 (mean over rollouts, then tasks), pass@N (oracle), mean steps. */
  iterations: { iteration: number; pass1: number; passN: number; meanSteps: number }[];
  /** Mean pass rate of the K selected to carry forward, per iteration that selected. */
  selK: { iteration: number; mean: number }[];
  /** The single RTV-selected rollout passed, averaged over tasks. */
  final: number;
  /** In groups holding both a passing and a failing rollout: how often the winner passed. */
  judgeAccuracy: { correct: number; groups: number; rate: number | null };
  /** Tasks by how many of their last iteration's rollouts passed. */
  solveCounts: Record<number, number>;
  cost: StageCost;
}

const sumNullable = (xs: (number | null)[]) => xs.reduce<number | null>(addCost, 0);

export function scalingReport(tasks: TaskScalingResult[]): ScalingReport {
  const depth = Math.max(0, ...tasks.map((t) => t.iterations.length));
  const iterations = Array.from({ length: depth }, (_, i) => {
    const its = tasks.map((t) => t.iterations[i]).filter((x): x is TaskScalingResult['iterations'][number] => !!x);
    return {
      iteration: i,
      pass1: mean(its.map((it) => mean(it.rollouts.map((r) => (r.passed ? 1 : 0))))),
      passN: mean(its.map((it) => (it.rollouts.some((r) => r.passed) ? 1 : 0))),
      meanSteps: mean(its.flatMap((it) => it.rollouts.map((r) => r.steps))),
    };
  });
  // Sel-K: every iteration but the last selects K to carry forward (the last selects the final one).
  const selK = Array.from({ length: depth }, (_, i) => ({
    iteration: i,
    its: tasks
      .map((t) => (i < t.iterations.length - 1 ? t.iterations[i] : undefined))
      .filter((it) => it && it.selected.length > 0),
  }))
    .filter(({ its }) => its.length > 0)
    .map(({ iteration, its }) => ({
      iteration,
      mean: mean(
        its.map((it) => mean(it!.selected.map((id) => (it!.rollouts.find((r) => r.rolloutId === id)?.passed ? 1 : 0)))),
      ),
    }));
  let correct = 0;
  let groups = 0;
  for (const t of tasks) {
    for (const it of t.iterations) {
      const passed = new Map(it.rollouts.map((r) => [r.rolloutId, !!r.passed]));
      for (const round of it.bracket?.rounds ?? []) {
        for (const g of round.groups) {
          const verdicts = g.members.map((m) => passed.get(m));
          if (!verdicts.includes(true) || !verdicts.includes(false)) continue;
          groups++;
          if (passed.get(g.winner)) correct++;
        }
      }
    }
  }
  const solveCounts: Record<number, number> = {};
  for (const t of tasks) {
    const n = t.iterations.at(-1)?.rollouts.filter((r) => r.passed).length ?? 0;
    solveCounts[n] = (solveCounts[n] ?? 0) + 1;
  }
  return {
    tasks: tasks.length,
    iterations,
    selK,
    final: mean(
      tasks.map((t) => (t.final && t.iterations.at(-1)?.rollouts.find((r) => r.rolloutId === t.final)?.passed ? 1 : 0)),
    ),
    judgeAccuracy: { correct, groups, rate: groups ? correct / groups : null },
    solveCounts,
    cost: {
      agent: sumNullable(tasks.map((t) => t.cost.agent)),
      summary: sumNullable(tasks.map((t) => t.cost.summary)),
      judge: sumNullable(tasks.map((t) => t.cost.judge)),
    },
  };
}

export function renderScalingReport(r: ScalingReport): string {
  const money = (x: number | null) => (x === null ? 'unknown' : `$${x.toFixed(4)}`);
  const head = ['| iteration | pass@1 | pass@N (oracle) | Sel-K | mean steps |', '|---|---|---|---|---|'];
  const rows = r.iterations.map((it) => {
    const sel = r.selK.find((s) => s.iteration === it.iteration);
    return `| ${it.iteration} | ${pct(it.pass1)} | ${pct(it.passN)} | ${sel ? pct(sel.mean) : '-'} | ${it.meanSteps.toFixed(1)} |`;
  });
  const acc = r.judgeAccuracy;
  return [
    `**Final ${pct(r.final)}** (the single selected rollout, ${r.tasks} tasks)`,
    '',
    ...head,
    ...rows,
    '',
    `judge accuracy in mixed groups: ${acc.rate === null ? 'no mixed groups' : `${pct(acc.rate)} (${acc.correct}/${acc.groups})`}`,
    `tasks by rollouts solved in the last iteration: ${Object.entries(r.solveCounts)
      .map(([k, v]) => `${k} solved: ${v}`)
      .join(', ')}`,
    `cost by stage: agent ${money(r.cost.agent)}, summaries ${money(r.cost.summary)}, judge ${money(r.cost.judge)}`,
  ].join('\n');
}
