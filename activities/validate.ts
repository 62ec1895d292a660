// `validate`'s attempts: the oracle runs the task's reference solution, the null attempt does
// nothing, and the hidden tests judge each; then the verdicts and the table are written.
import type { Config } from '../core/config';
import { renderImageMappings } from '../core/dockerfile';
import { renderTable, summarize, summaryLine, type TaskVerdict, type ValidationSummary } from '../core/validation';
import { loadRunTask, readIfExists, writeFileAtomic, writeJson } from '../runtime/artifacts';
import { evaluateContainer, evaluatePatch, runSolutionScript, sandboxSpec, type Outcome } from '../runtime/evaluate';
import { runFolder, taskFolder } from '../runtime/runFolder';
import { mkdirSync } from 'node:fs';
import { guarded, InterruptedStepError } from './failures';
import { activityAttempt, withHeartbeat } from './heartbeat';
import { imageMappingsOf } from './report';
import type { AttemptRef, LabelsFor } from './sandbox';

export function createValidateActivities(config: Config, labelsFor: LabelsFor) {
  const attemptDir = (ref: AttemptRef) => {
    const dir = taskFolder(ref.runDir, ref.taskId).attempt(ref.attempt);
    mkdirSync(dir, { recursive: true });
    return dir;
  };

  return {
    /** The oracle's step. A retry means the first run was cut off mid-way: its state is unknown. */
    async runSolution(
      input: AttemptRef & { containerId: string },
    ): Promise<{ exitCode: number; timedOut: boolean; durationMs: number }> {
      const task = loadRunTask(input.runDir, input.taskId);
      return guarded(() =>
        withHeartbeat(async () => {
          if (activityAttempt() > 1) {
            throw new InterruptedStepError(
              `solution run in ${input.name} was interrupted; restarting the attempt in a fresh container`,
            );
          }
          const r = await runSolutionScript(task, input.containerId, attemptDir(input), config);
          return { exitCode: r.exitCode, timedOut: r.timedOut, durationMs: r.durationMs };
        }),
      );
    },

    async evaluateContainer(input: AttemptRef & { containerId: string }): Promise<Outcome> {
      const task = loadRunTask(input.runDir, input.taskId);
      return guarded(() => withHeartbeat(() => evaluateContainer(task, input.containerId, attemptDir(input), config)));
    },

    /** SWE-bench: the gold patch (oracle) or an empty one (null) graded in a fresh container. */
    async evaluatePatch(input: AttemptRef & { image: string; patch: 'gold' | 'empty' }): Promise<Outcome> {
      const task = loadRunTask(input.runDir, input.taskId);
      return guarded(() =>
        withHeartbeat(() => {
          const patch = input.patch === 'gold' && task.solution.kind === 'patch' ? task.solution.patch : '';
          const spec = sandboxSpec(task, config, input.image, input.name, labelsFor(input));
          return evaluatePatch(task, patch, spec, config, attemptDir(input));
        }),
      );
    },

    async recordVerdict(input: { runDir: string; verdict: TaskVerdict }): Promise<void> {
      writeJson(taskFolder(input.runDir, input.verdict.taskId).verdict, input.verdict);
    },

    async writeValidationReport(input: {
      runDir: string;
      runId: string;
      verdicts: TaskVerdict[];
    }): Promise<{ summary: ValidationSummary; table: string }> {
      const folder = runFolder(input.runDir);
      // A partial dataset's skipped tasks are listed beside the ones that ran.
      const verdicts = [...input.verdicts, ...(readIfExists<TaskVerdict[]>(folder.rejected) ?? [])];
      const summary = summarize(input.runId, verdicts);
      const table = renderTable(verdicts);
      const mappings = imageMappingsOf(
        input.runDir,
        verdicts.map((v) => v.taskId),
      );
      writeJson(folder.results, { summary, verdicts, imageMappings: mappings });
      writeFileAtomic(
        folder.table,
        `# Validation ${input.runId}\n\n${summaryLine(summary)}\n\n${table}\n${renderImageMappings(mappings)}`,
      );
      return { summary, table: `${table}\n${renderImageMappings(mappings)}`.trimEnd() };
    },
  };
}
