// A run's report, written when its last task ends: results.json and results.md from the rollouts'
// result files (and, for rtv / pdr, each task's scaling outcome), and preds.json in SWE-bench's
// shape with each SWE-bench task's answer.
import { renderRunReport, runReport, scalingReport, type RunReport } from '../core/report';
import { byRolloutId } from '../core/rollout';
import type { TaskScalingResult } from '../core/pdr';
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
      const report = runReport(
        { runId: input.runId, strategy: meta.strategy, model: meta.model, note: meta.note },
        byTask,
      );
      // rtv / pdr: the paper's table, from each task's scaling outcome.
      const outcomes = new Map(
        input.taskIds.flatMap((id) => {
          const o = readIfExists<TaskScalingResult>(taskFolder(input.runDir, id).scaling);
          return o ? [[id, o] as const] : [];
        }),
      );
      if (meta.strategy !== 'sample') report.scaling = scalingReport([...outcomes.values()]);
      writeJson(folder.results, { ...report, taskErrors: input.errors });
      const errors = input.errors.map((e) => `- ${e.taskId}: ${e.error.split('\n')[0]}`).join('\n');
      writeFileAtomic(
        folder.table,
        `${renderRunReport(report)}\n${errors ? `\nTasks that could not run:\n${errors}\n` : ''}`,
      );
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
