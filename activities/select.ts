// `select`'s reads and writes: a finished run's task outcome to play again, and the new
// selection's outcome and report beside the run's own (selections/<id>/).
import { agentCost, emptyCost, type TaskScalingResult } from '../core/pdr';
import { renderScalingReport, scalingReport, type ScalingReport } from '../core/scalingReport';
import { byRolloutId } from '../core/rollout';
import { readIfExists, writeFileAtomic, writeJson } from '../runtime/artifacts';
import { finishedRollouts } from '../runtime/rollouts';
import { selectionFolder, taskFolder } from '../runtime/runFolder';
import { stageTokens } from './scaling';

export function createSelectActivities() {
  return {
    /**
     * A task's outcome as the run left it; a `sample` run's rollouts become one iteration whose
     * final selection was never made.
     */
    async loadTaskOutcome(input: { runDir: string; taskId: string }): Promise<TaskScalingResult> {
      const stored = readIfExists<TaskScalingResult>(taskFolder(input.runDir, input.taskId).scaling);
      if (stored) {
        const iterations = stored.iterations.map(({ bracket, ...it }) => ({
          ...it,
          tournament: bracket ? { id: bracket.id, target: bracket.target } : undefined,
        }));
        return { ...stored, iterations };
      }
      const rollouts = finishedRollouts(input.runDir, input.taskId).sort(byRolloutId);
      if (rollouts.length === 0) throw new Error(`${input.taskId}: the run has no finished rollouts to select from`);
      return {
        taskId: input.taskId,
        iterations: [{ iteration: 0, rollouts, dropped: [], selected: [] }],
        cost: { agent: agentCost(rollouts), summary: 0, judge: 0 },
      };
    },

    async recordSelection(input: { runDir: string; selectId: string; result: TaskScalingResult }): Promise<void> {
      writeJson(selectionFolder(input.runDir, input.selectId).task(input.result.taskId), input.result);
    },

    /** The paper's table for a selection, beside the run's own (selections/<id>/results.md). */
    async writeSelectReport(input: {
      runDir: string;
      selectId: string;
      taskIds: string[];
      spec: object;
      errors?: { taskId: string; error: string }[];
    }): Promise<ScalingReport> {
      const folder = selectionFolder(input.runDir, input.selectId);
      // Every task counts: one whose selection failed is unsolved, and listed as failed.
      const errors = new Map((input.errors ?? []).map((e) => [e.taskId, e.error]));
      const outcomes = input.taskIds.map(
        (id): TaskScalingResult =>
          readIfExists<TaskScalingResult>(folder.task(id)) ?? {
            taskId: id,
            error: errors.get(id) ?? 'the selection recorded no outcome',
            iterations: [],
            cost: emptyCost(),
          },
      );
      const report = scalingReport(outcomes, stageTokens(input.runDir, outcomes, input.selectId));
      writeJson(folder.results, { selectId: input.selectId, spec: input.spec, tasks: outcomes.length, report });
      const spec = Object.entries(input.spec as Record<string, unknown>)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(', ');
      writeFileAtomic(
        folder.table,
        `# Selection ${input.selectId}\n\n${spec}; no new rollouts, the run's own.\n\n${renderScalingReport(report)}\n`,
      );
      return report;
    },
  };
}
