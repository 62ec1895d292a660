// Two runs side by side, on the tasks both ran: which tasks the later run newly solves or newly
// fails, and how pass@1 and cost moved. A task counts as *solved* when its answer passed: the
// final pick of rtv / pdr, or (sample) at least half of its rollouts. Each scheduled run is
// compared with the previous run of its schedule; `agentscale compare` does it for any two.
// Whether a change is real or noise: the paired difference of the solved share with its bootstrap
// interval, and an exact McNemar test on the tasks whose verdict changed.
import { workflowPageUrl } from './config';
import { totalCost, type RunReport, type TaskReport } from './report';
import {
  DEFAULT_BOOTSTRAP,
  formatInterval,
  pairedComparison,
  type BootstrapSettings,
  type Interval,
} from './statistics';

export interface RunComparison {
  previous: string;
  current: string;
  /** Tasks both runs ran; only these are compared. */
  tasks: number;
  onlyInPrevious: string[];
  onlyInCurrent: string[];
  newlyPassing: string[];
  newlyFailing: string[];
  /** Mean pass@1 over the shared tasks, before and after. */
  pass1: { previous: number; current: number; change: number };
  /** Solved share of the shared tasks, before and after. */
  solved: { previous: number; current: number; change: number };
  /** Total dollars of each run (agent, and summaries and judge where there were any). */
  costUsd: { previous: number; current: number; change: number };
  /** Absent in comparisons written before it existed. */
  significance?: Significance;
  /** Each changed task's workflow (its rollouts are its children) in the Temporal UI, in each run. */
  links?: Record<string, { previous: string; current: string }>;
}

export interface Significance {
  /** Current minus previous solved share, paired over the shared tasks, with its interval. */
  difference: Interval | null;
  /** Exact two-sided McNemar p-value on the tasks whose verdict changed. */
  pValue: number;
  /** The level a change must reach to count (the configured `report.regressionLevel`). */
  level: number;
  verdict: 'regression' | 'improvement' | 'no significant change';
  test: string;
  bootstrap: BootstrapSettings;
}

export const taskSolved = (t: TaskReport) => (t.final !== undefined ? t.final : t.rollouts > 0 && t.pass1 >= 0.5);

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

export function compareRuns(
  previous: RunReport,
  current: RunReport,
  options: { level?: number; bootstrap?: BootstrapSettings; ui?: { url: string; namespace: string } } = {},
): RunComparison {
  const level = options.level ?? 0.05;
  const bootstrap = options.bootstrap ?? DEFAULT_BOOTSTRAP;
  const before = new Map(previous.perTask.map((t) => [t.taskId, t]));
  const after = new Map(current.perTask.map((t) => [t.taskId, t]));
  const shared = [...after.keys()].filter((id) => before.has(id)).sort();
  const pair = (id: string) => [before.get(id)!, after.get(id)!] as const;
  const pass1 = {
    previous: mean(shared.map((id) => pair(id)[0].pass1)),
    current: mean(shared.map((id) => pair(id)[1].pass1)),
  };
  const solved = {
    previous: mean(shared.map((id) => (taskSolved(pair(id)[0]) ? 1 : 0))),
    current: mean(shared.map((id) => (taskSolved(pair(id)[1]) ? 1 : 0))),
  };
  // An unknown cost (a model without a price) compares as 0; the reports say it is unknown.
  const cost = { previous: totalCost(previous) ?? 0, current: totalCost(current) ?? 0 };
  const paired = pairedComparison(
    shared.map((id) => {
      const [b, a] = pair(id);
      const before = taskSolved(b);
      const now = taskSolved(a);
      return { before, now, rateBefore: before ? 1 : 0, rateNow: now ? 1 : 0 };
    }),
    bootstrap,
  );
  const change = solved.current - solved.previous;
  const significant = paired.pValue < level;
  const newlyPassing = shared.filter((id) => !taskSolved(pair(id)[0]) && taskSolved(pair(id)[1]));
  const newlyFailing = shared.filter((id) => taskSolved(pair(id)[0]) && !taskSolved(pair(id)[1]));
  const ui = options.ui;
  // The task workflow's id is `<run>/<task>` (workflows/run.ts).
  const page = (runId: string, taskId: string) => workflowPageUrl(ui!.url, ui!.namespace, `${runId}/${taskId}`);
  return {
    previous: previous.runId,
    current: current.runId,
    tasks: shared.length,
    onlyInPrevious: [...before.keys()].filter((id) => !after.has(id)).sort(),
    onlyInCurrent: [...after.keys()].filter((id) => !before.has(id)).sort(),
    newlyPassing,
    newlyFailing,
    pass1: { ...pass1, change: pass1.current - pass1.previous },
    solved: { ...solved, change: solved.current - solved.previous },
    costUsd: { ...cost, change: cost.current - cost.previous },
    significance: {
      difference: paired.difference,
      pValue: paired.pValue,
      level,
      verdict: !significant ? 'no significant change' : change < 0 ? 'regression' : 'improvement',
      test: `exact McNemar, two-sided, on ${paired.onlyBefore + paired.onlyNow} changed verdicts: ${paired.onlyNow} newly passing, ${paired.onlyBefore} newly failing`,
      bootstrap,
    },
    ...(ui
      ? {
          links: Object.fromEntries(
            [...newlyPassing, ...newlyFailing].map((id) => [
              id,
              { previous: page(previous.runId, id), current: page(current.runId, id) },
            ]),
          ),
        }
      : {}),
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const signed = (x: number, f: (v: number) => string) => `${x > 0 ? '+' : x < 0 ? '-' : '±'}${f(Math.abs(x))}`;
const list = (ids: string[], links?: RunComparison['links']) =>
  ids.length
    ? ids
        .map((id) => (links?.[id] ? `${id} ([before](${links[id].previous}), [now](${links[id].current}))` : id))
        .join(', ')
    : 'none';

function renderSignificance(s: Significance): string {
  const diff = formatInterval(s.difference, (x) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} pts`);
  const verdict = s.verdict === 'no significant change' ? s.verdict : `**${s.verdict}**`;
  return `${verdict} at level ${s.level}: p = ${s.pValue < 0.001 ? s.pValue.toExponential(2) : s.pValue.toPrecision(3)} (${s.test}); solved difference ${diff} (${Math.round(100 * s.bootstrap.level)}% paired bootstrap over tasks)`;
}

export function renderComparison(c: RunComparison): string {
  return [
    `## Compared with ${c.previous}`,
    '',
    `On the ${c.tasks} tasks both ran: solved ${pct(c.solved.previous)} -> ${pct(c.solved.current)} (${signed(c.solved.change, pct)}), ` +
      `pass@1 ${pct(c.pass1.previous)} -> ${pct(c.pass1.current)} (${signed(c.pass1.change, pct)}), ` +
      `cost $${c.costUsd.previous.toFixed(4)} -> $${c.costUsd.current.toFixed(4)} (${signed(c.costUsd.change, (v) => `$${v.toFixed(4)}`)})`,
    '',
    ...(c.significance ? [renderSignificance(c.significance), ''] : []),
    `- newly passing (${c.newlyPassing.length}): ${list(c.newlyPassing, c.links)}`,
    `- newly failing (${c.newlyFailing.length}): ${list(c.newlyFailing, c.links)}`,
    ...(c.onlyInPrevious.length ? [`- only in ${c.previous}: ${list(c.onlyInPrevious)}`] : []),
    ...(c.onlyInCurrent.length ? [`- only in ${c.current}: ${list(c.onlyInCurrent)}`] : []),
  ].join('\n');
}

export type GridCell = 'pass' | 'fail' | 'error';

/** Tasks × a schedule's recent runs (oldest first): what report.html of a scheduled run shows. */
export interface RunGrid {
  runs: string[];
  tasks: { taskId: string; cells: (GridCell | undefined)[]; links: (string | undefined)[] }[];
}

const cellOf = (t: TaskReport): GridCell => (t.error ? 'error' : taskSolved(t) ? 'pass' : 'fail');

/**
 * Every task of the runs by run; a run that did not have the task leaves its cell empty. Each cell
 * links to the task's workflow in that run (its rollouts are its children) when the UI is known.
 */
export function runGrid(reports: readonly RunReport[], ui?: { url: string; namespace: string }): RunGrid {
  const ids = [...new Set(reports.flatMap((r) => r.perTask.map((t) => t.taskId)))].sort();
  const byRun = reports.map((r) => new Map(r.perTask.map((t) => [t.taskId, t])));
  return {
    runs: reports.map((r) => r.runId),
    tasks: ids.map((taskId) => ({
      taskId,
      cells: byRun.map((m) => {
        const t = m.get(taskId);
        return t ? cellOf(t) : undefined;
      }),
      links: reports.map((r, i) =>
        ui && byRun[i]!.has(taskId) ? workflowPageUrl(ui.url, ui.namespace, `${r.runId}/${taskId}`) : undefined,
      ),
    })),
  };
}
