// A run's report, written when its last task ends: results.json and results.md from the rollouts'
// result files (and, for rtv / pdr, each task's scaling outcome), and preds.json in SWE-bench's
// shape with each SWE-bench task's answer.
import type { Budget, BudgetStop } from '../core/budget';
import { renderImageMappings, type ImageMapping } from '../core/dockerfile';
import { renderRunReport, runReport, type RunReport } from '../core/report';
import { renderReportHtml } from '../core/reportHtml';
import { chartLibrary } from '../runtime/chartLibrary';
import type { TaskVerdict } from '../core/validation';
import { finalPassed, scalingReport } from '../core/scalingReport';
import { byRolloutId, type RolloutResult } from '../core/rollout';
import { emptyCost, type TaskScalingResult } from '../core/pdr';
import {
  loadRunTask,
  readIfExists,
  readJson,
  readTextIfExists,
  writeFileAtomic,
  writeJson,
} from '../runtime/artifacts';
import { finishedRollouts } from '../runtime/rollouts';
import { rolloutFolder, runFolder, taskFolder } from '../runtime/runFolder';
import { stageTokens } from './scaling';

/** The image mappings each task's build applied, read from the run folder. */
export function imageMappingsOf(runDir: string, taskIds: string[]): Record<string, ImageMapping[]> {
  const out: Record<string, ImageMapping[]> = {};
  for (const id of taskIds) {
    const m = readIfExists<ImageMapping[]>(taskFolder(runDir, id).imageMappings);
    if (m?.length) out[id] = m;
  }
  return out;
}

/**
 * The run's report from its run folder: every task's finished rollouts and, for rtv / pdr, the
 * paper's analysis over every task (a failed one with no iterations). `verdicts` lets `regrade`
 * swap in new verdicts; the stored brackets and picks stay as they are.
 */
export function composeRunReport(
  runDir: string,
  runId: string,
  taskIds: string[],
  taskErrors: { taskId: string; error: string }[],
  verdicts?: { rollout: (r: RolloutResult) => RolloutResult; outcome: (t: TaskScalingResult) => TaskScalingResult },
) {
  const meta = readJson<{ strategy: string; model: string; note?: string }>(runFolder(runDir).run);
  const byTask = new Map(
    taskIds.map((id) => {
      const rs = finishedRollouts(runDir, id).sort(byRolloutId);
      return [id, verdicts ? rs.map(verdicts.rollout) : rs];
    }),
  );
  const errors = new Map(taskErrors.map((e) => [e.taskId, e.error]));
  const report = runReport({ runId, strategy: meta.strategy, model: meta.model, note: meta.note }, byTask, errors);
  const outcomes = new Map(
    taskIds.map((id): [string, TaskScalingResult] => {
      const stored = readIfExists<TaskScalingResult>(taskFolder(runDir, id).scaling) ?? {
        taskId: id,
        error: errors.get(id) ?? 'no outcome was recorded',
        iterations: [],
        cost: emptyCost(),
      };
      return [id, verdicts ? verdicts.outcome(stored) : stored];
    }),
  );
  if (meta.strategy !== 'sample') {
    report.scaling = scalingReport([...outcomes.values()], stageTokens(runDir, [...outcomes.values()]));
    for (const t of report.perTask) {
      const o = outcomes.get(t.taskId);
      t.final = !!o && finalPassed(o) === 1;
    }
  }
  return { report, outcomes, byTask, meta };
}

export function createReportActivities() {
  return {
    async writeRunReport(input: {
      runDir: string;
      runId: string;
      taskIds: string[];
      errors: { taskId: string; error: string }[];
      /** The run's cost caps and where they stopped new rollouts. */
      budget?: Budget;
      budgetStops?: BudgetStop[];
    }): Promise<RunReport> {
      const folder = runFolder(input.runDir);
      const { report, outcomes, byTask, meta } = composeRunReport(
        input.runDir,
        input.runId,
        input.taskIds,
        input.errors,
      );
      if (input.budget) report.budget = { caps: input.budget, stops: input.budgetStops ?? [] };
      // A partial dataset's skipped tasks are listed with the tasks that could not run.
      const skipped = (readIfExists<TaskVerdict[]>(folder.rejected) ?? []).map((v) => ({
        taskId: v.taskId,
        error: `${v.status}: ${v.problems.join('; ')}`,
      }));
      const mappings = imageMappingsOf(input.runDir, input.taskIds);
      writeJson(folder.results, { ...report, taskErrors: [...input.errors, ...skipped], imageMappings: mappings });
      const notRun = skipped.map((e) => `- ${e.taskId}: ${e.error.split('\n')[0]}`).join('\n');
      writeFileAtomic(
        folder.table,
        `${renderRunReport(report)}\n${notRun ? `\nTasks not run (partial dataset):\n${notRun}\n` : ''}${renderImageMappings(mappings)}`,
      );
      writeFileAtomic(folder.html, renderReportHtml(report, chartLibrary()));
      const preds: Record<string, { instance_id: string; model_name_or_path: string; model_patch: string }> = {};
      for (const id of input.taskIds) {
        const task = loadRunTask(input.runDir, id);
        // sample: the first rollout; rtv / pdr: the rollout the final tournament picked.
        const final = outcomes.get(id)?.final;
        const pick = final ? byTask.get(id)?.find((r) => r.rolloutId === final) : byTask.get(id)?.[0];
        if (task.format !== 'swebench' || !pick) continue;
        const patch = readTextIfExists(rolloutFolder(input.runDir, id, pick.rolloutId).patch) ?? '';
        preds[id] = { instance_id: id, model_name_or_path: meta.model, model_patch: patch };
      }
      writeJson(folder.preds, preds);
      return report;
    },
  };
}
