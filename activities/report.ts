// A run's report, written when its last task ends: results.json and results.md from the rollouts'
// result files (and, for rtv / pdr, each task's scaling outcome), and preds.json in SWE-bench's
// shape with each SWE-bench task's answer.
import { renderRunReport, runReport, type RunReport } from '../core/report';
import { scalingReport } from '../core/scalingReport';
import { byRolloutId } from '../core/rollout';
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

export function createReportActivities() {
  return {
    async writeRunReport(input: {
      runDir: string;
      runId: string;
      taskIds: string[];
      errors: { taskId: string; error: string }[];
    }): Promise<RunReport> {
      const folder = runFolder(input.runDir);
      const meta = readJson<{ strategy: string; model: string; note?: string }>(folder.run);
      const byTask = new Map(input.taskIds.map((id) => [id, finishedRollouts(input.runDir, id).sort(byRolloutId)]));
      const errors = new Map(input.errors.map((e) => [e.taskId, e.error]));
      const report = runReport(
        { runId: input.runId, strategy: meta.strategy, model: meta.model, note: meta.note },
        byTask,
        errors,
      );
      // rtv / pdr: the paper's analysis, over every task (a failed one with no iterations).
      const outcomes = new Map(
        input.taskIds.map((id): [string, TaskScalingResult] => [
          id,
          readIfExists<TaskScalingResult>(taskFolder(input.runDir, id).scaling) ?? {
            taskId: id,
            error: errors.get(id) ?? 'no outcome was recorded',
            iterations: [],
            cost: emptyCost(),
          },
        ]),
      );
      if (meta.strategy !== 'sample') {
        report.scaling = scalingReport([...outcomes.values()], stageTokens(input.runDir, [...outcomes.values()]));
        for (const t of report.perTask) {
          const o = outcomes.get(t.taskId);
          t.final = !!o?.final && !!o.iterations.at(-1)?.rollouts.find((r) => r.rolloutId === o.final)?.passed;
        }
      }
      writeJson(folder.results, { ...report, taskErrors: input.errors });
      writeFileAtomic(folder.table, `${renderRunReport(report)}\n`);
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
