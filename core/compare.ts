// Two runs side by side, on the tasks both ran: which tasks the later run newly solves or newly
// fails, and how pass@1 and cost moved. A task counts as *solved* when its answer passed: the
// final pick of rtv / pdr, or (sample) at least half of its rollouts. Each scheduled run is
// compared with the previous run of its schedule; `agentscale compare` does it for any two.
import { totalCost, type RunReport, type TaskReport } from './report';

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
}

export const taskSolved = (t: TaskReport) => (t.final !== undefined ? t.final : t.rollouts > 0 && t.pass1 >= 0.5);

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

export function compareRuns(previous: RunReport, current: RunReport): RunComparison {
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
  return {
    previous: previous.runId,
    current: current.runId,
    tasks: shared.length,
    onlyInPrevious: [...before.keys()].filter((id) => !after.has(id)).sort(),
    onlyInCurrent: [...after.keys()].filter((id) => !before.has(id)).sort(),
    newlyPassing: shared.filter((id) => !taskSolved(pair(id)[0]) && taskSolved(pair(id)[1])),
    newlyFailing: shared.filter((id) => taskSolved(pair(id)[0]) && !taskSolved(pair(id)[1])),
    pass1: { ...pass1, change: pass1.current - pass1.previous },
    solved: { ...solved, change: solved.current - solved.previous },
    costUsd: { ...cost, change: cost.current - cost.previous },
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const signed = (x: number, f: (v: number) => string) => `${x > 0 ? '+' : x < 0 ? '-' : '±'}${f(Math.abs(x))}`;
const list = (ids: string[]) => (ids.length ? ids.join(', ') : 'none');

export function renderComparison(c: RunComparison): string {
  return [
    `## Compared with ${c.previous}`,
    '',
    `On the ${c.tasks} tasks both ran: solved ${pct(c.solved.previous)} -> ${pct(c.solved.current)} (${signed(c.solved.change, pct)}), ` +
      `pass@1 ${pct(c.pass1.previous)} -> ${pct(c.pass1.current)} (${signed(c.pass1.change, pct)}), ` +
      `cost $${c.costUsd.previous.toFixed(4)} -> $${c.costUsd.current.toFixed(4)} (${signed(c.costUsd.change, (v) => `$${v.toFixed(4)}`)})`,
    '',
    `- newly passing (${c.newlyPassing.length}): ${list(c.newlyPassing)}`,
    `- newly failing (${c.newlyFailing.length}): ${list(c.newlyFailing)}`,
    ...(c.onlyInPrevious.length ? [`- only in ${c.previous}: ${list(c.onlyInPrevious)}`] : []),
    ...(c.onlyInCurrent.length ? [`- only in ${c.current}: ${list(c.onlyInCurrent)}`] : []),
  ].join('\n');
}
