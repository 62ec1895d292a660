// Cost caps (budgets): a run's and each task's dollars, checked before new rollouts start. What has
// been spent is every model call recorded in the run folder so far (agent steps, summaries, judge
// votes), in-flight rollouts' paid steps included; rollouts already running finish, so a run can
// end somewhat above its cap, by at most what its in-flight rollouts still spend.

/** The caps a run was started with (run.json, the workflow input); either may be absent. */
export interface Budget {
  /** Dollars for the whole run, every stage. */
  runUsd?: number;
  /** Dollars for one task (all its rollouts, summaries and judge votes). */
  taskUsd?: number;
}

/** Dollars spent so far, from the run folder. */
export interface Spent {
  runUsd: number;
  taskUsd: number;
}

/** Where a cap stopped new rollouts: before a task started (`iteration` 0) or before a later iteration. */
export interface BudgetStop {
  taskId: string;
  scope: 'run' | 'task';
  /** The first iteration not started (0: the task got no rollouts at all). */
  iteration: number;
  capUsd: number;
  spentUsd: number;
}

export const hasBudget = (b: Budget | undefined): b is Budget =>
  !!b && (b.runUsd !== undefined || b.taskUsd !== undefined);

/** A cap cannot be kept without the model's price: the problem, said before anything starts. */
export function budgetProblem(budget: Budget | undefined, model: string, prices: Record<string, unknown>) {
  return hasBudget(budget) && !prices[model]
    ? `a cost cap (--max-cost, --max-task-cost, run.maxCostUsd, run.maxTaskCostUsd) needs the model's price: model.prices has none for ${model}`
    : undefined;
}

/** The cap reached, if any: the run's first (it stops every task), then the task's. */
export function capReached(
  budget: Budget,
  spent: Spent,
  where: { taskId: string; iteration: number },
): BudgetStop | undefined {
  if (budget.runUsd !== undefined && spent.runUsd >= budget.runUsd)
    return { ...where, scope: 'run', capUsd: budget.runUsd, spentUsd: spent.runUsd };
  if (budget.taskUsd !== undefined && spent.taskUsd >= budget.taskUsd)
    return { ...where, scope: 'task', capUsd: budget.taskUsd, spentUsd: spent.taskUsd };
  return undefined;
}

const usd = (x: number) => `$${x.toFixed(4)}`;
/** A cap as the user wrote it (a tiny one must not read as $0.0000). */
const cap = (x: number) => `$${x}`;

/** One line per stop, for results.md and the CLI. */
export function describeStop(s: BudgetStop): string {
  const which = s.scope === 'run' ? `the run's cost cap ${cap(s.capUsd)}` : `the task cost cap ${cap(s.capUsd)}`;
  const what = s.iteration === 0 ? 'not started' : `stopped before iteration ${s.iteration}`;
  return `${s.taskId}: ${what}: ${which} was reached (${usd(s.spentUsd)} spent ${s.scope === 'run' ? 'in the run' : 'on the task'})`;
}

/** The report's budget section: the caps, and where they stopped new rollouts. */
export function renderBudget(budget: Budget | undefined, stops: BudgetStop[]): string[] {
  if (!hasBudget(budget)) return [];
  const caps = [
    budget.runUsd !== undefined ? `run ${cap(budget.runUsd)}` : undefined,
    budget.taskUsd !== undefined ? `per task ${cap(budget.taskUsd)}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  if (!stops.length) return [`cost caps: ${caps}; not reached`];
  return [
    `**cost cap reached** (caps: ${caps}): no new rollouts were started past it; rollouts already running finished.`,
    ...stops.map((s) => `- ${describeStop(s)}`),
  ];
}
