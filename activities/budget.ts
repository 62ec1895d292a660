// Budgets: what the run and a task have spent so far, read from the run folder when a workflow is
// about to start new rollouts (core/budget.ts decides whether a cap is reached).
import type { Spent } from '../core/budget';
import { spentOf } from '../runtime/spent';

export function createBudgetActivities() {
  return {
    async budgetSpent(input: { runDir: string; taskId: string }): Promise<Spent> {
      return spentOf(input.runDir, input.taskId);
    },
  };
}
