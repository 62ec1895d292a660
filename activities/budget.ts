// Budgets: what the run and a task have spent so far, read from the run folder when a workflow is
// about to start new rollouts (core/budget.ts decides whether a cap is reached).
import { existsSync } from 'node:fs';
import type { Spent } from '../core/budget';
import { taskFolder } from '../runtime/runFolder';
import { spentOf } from '../runtime/spent';

export function createBudgetActivities() {
  return {
    /** Also whether the task finished before (a continued run): it then starts no new rollouts. */
    async budgetSpent(input: { runDir: string; taskId: string }): Promise<Spent & { taskFinished: boolean }> {
      return {
        ...spentOf(input.runDir, input.taskId),
        taskFinished: existsSync(taskFolder(input.runDir, input.taskId).scaling),
      };
    },
  };
}
