// The human summary each workflow leaves in its Temporal memo (shown in the UI's workflow page and
// in `temporal workflow describe`): one line saying how it ended. Fields with nothing to say are
// left out, so the UI shows no empty payloads.
import { describeStop, type BudgetStop } from './budget';
import type { TaskScalingResult } from './pdr';
import { totalCost, type RunReport } from './report';
import type { RolloutResult } from './rollout';

export type Memo = Record<string, string>;

/** The patch id behind which run, task and rollout workflows set their memo (older histories replay without). */
export const MEMO_SUMMARY = 'memo-summary';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const money = (x: number | null) => (x === null ? 'cost unknown' : `$${x.toFixed(4)}`);

/** Drops the fields with no content. */
export const memoOf = (fields: Record<string, string | undefined>): Memo =>
  Object.fromEntries(Object.entries(fields).filter((e): e is [string, string] => !!e[1]));

export function rolloutMemo(r: RolloutResult): Memo {
  const verdict = r.evalError ? 'not evaluated' : r.passed ? 'passed' : 'failed';
  return memoOf({
    summary: `${verdict}: ${r.exitStatus} after ${r.steps} step${r.steps === 1 ? '' : 's'}, ${money(r.costUsd)}${r.sandboxRestarts ? `, ${r.sandboxRestarts} sandbox restart${r.sandboxRestarts === 1 ? '' : 's'}` : ''}`,
    detail: r.detail?.split('\n')[0],
    evalError: r.evalError?.split('\n')[0],
  });
}

export function taskMemo(r: TaskScalingResult): Memo {
  const last = r.iterations.at(-1);
  const passed = last?.rollouts.filter((x) => x.passed).length ?? 0;
  const final = r.final ? last?.rollouts.find((x) => x.rolloutId === r.final) : undefined;
  const cost = [r.cost.agent, r.cost.summary, r.cost.judge].reduce<number | null>(
    (a, b) => (a === null || b === null ? null : a + b),
    0,
  );
  return memoOf({
    summary:
      `${r.iterations.length} iteration${r.iterations.length === 1 ? '' : 's'}; last: ${passed}/${last?.rollouts.length ?? 0} passed` +
      (final ? `; final pick ${final.rolloutId} ${final.passed ? 'passed' : 'failed'}` : '') +
      `; ${money(cost)}`,
    budget: r.budgetStop ? describeStop(r.budgetStop) : undefined,
  });
}

export function runMemo(r: RunReport, stops: BudgetStop[] = []): Memo {
  const failed = r.perTask.filter((t) => t.error).length;
  return memoOf({
    summary:
      `pass@1 ${pct(r.pass1)}, pass@N ${pct(r.passN)}${r.scaling ? `, Final ${pct(r.scaling.final)}` : ''}; ` +
      `${r.tasks} tasks, ${r.rollouts} rollouts; ${money(totalCost(r))}`,
    failedTasks: failed ? `${failed} task${failed === 1 ? '' : 's'} could not run` : undefined,
    budget: stops.length
      ? `cost cap reached: ${stops.length} task${stops.length === 1 ? '' : 's'} stopped (${stops[0]!.scope} cap)`
      : undefined,
  });
}
