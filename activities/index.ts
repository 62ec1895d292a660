// The activities a worker registers. Each is one retryable step: it reads the task from the run
// folder by id (claim-check), does its work, writes logs to the run folder and returns a small
// result. Built from the worker's config so limits, image maps and recipes come from one place.
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../core/config';
import { renderTable, summarize, summaryLine, type TaskVerdict, type ValidationSummary } from '../core/validation';
import { renderImageMappings, type ImageMapping } from '../core/dockerfile';
import { renderRunReport, runReport, scalingReport, type RunReport, type ScalingOutcome } from '../core/report';
import {
  loadRunTask,
  readIfExists,
  readJson,
  readTextIfExists,
  runPaths,
  writeFileAtomic,
  writeJson,
} from '../runtime/artifacts';
import { finishedRollouts, rolloutPaths, type RolloutResult } from '../runtime/rollouts';
import type { NetworkMode } from '../core/harbor';
import {
  evaluateContainer,
  evaluatePatch,
  prepareSandbox,
  runSolutionScript,
  sandboxSpec,
  taskNetwork,
  type Outcome,
} from '../runtime/evaluate';
import { prepareTaskImage, type PreparedImage } from '../runtime/images';
import { createSandbox, LABEL, removeSandbox, removeSandboxes } from '../runtime/sandbox';
import { createModelClient, type ModelClient } from '../runtime/model';
import { createRolloutActivities, type LabelsFor } from './rollout';
import { createScalingActivities, scalingPath } from './scaling';
import { activityAttempt, guarded, InterruptedStepError, withHeartbeat } from './support';

/** Identifies containers made by this worker process, so its shutdown can remove them. */
export const WORKER_ID = `${os.hostname()}-${process.pid}`;

export interface AttemptRef {
  runDir: string;
  runId: string;
  taskId: string;
  /** oracle / null (later: rollout ids). */
  attempt: string;
  /** Container name; unique per try so a restarted attempt never inherits a half-done state. */
  name: string;
}

/**
 * @param server the `serverKey` of the Temporal server these activities work for; containers
 *   carry it so that `gc` judges them by the runs of the right server.
 */
export function createActivities(config: Config, server: string) {
  const labelsFor: LabelsFor = (ref) => ({
    [LABEL.run]: ref.runId,
    [LABEL.task]: ref.taskId,
    [LABEL.attempt]: ref.attempt,
    [LABEL.worker]: WORKER_ID,
    [LABEL.server]: server,
  });
  const attemptDir = (ref: AttemptRef) => {
    const dir = runPaths(ref.runDir).attempt(ref.taskId, ref.attempt);
    mkdirSync(dir, { recursive: true });
    return dir;
  };

  // One frozen model plays agent, summariser and judge; its client is made on first use.
  let client: ModelClient | undefined;
  const model = () => (client ??= createModelClient(config.model));

  return {
    ...createRolloutActivities(config, labelsFor, model),
    ...createScalingActivities(config, model),

    async prepareImage(input: { runDir: string; taskId: string }): Promise<PreparedImage> {
      const task = loadRunTask(input.runDir, input.taskId);
      const lines: string[] = [];
      return guarded(() =>
        withHeartbeat(
          async () => {
            try {
              const prepared = await prepareTaskImage(task, config, (l) => lines.push(l));
              writeJson(runPaths(input.runDir).imageMappings(task.id), prepared.rewrites ?? []);
              return prepared;
            } finally {
              if (lines.length)
                writeFileAtomic(path.join(runPaths(input.runDir).task(task.id), 'build.log'), `${lines.join('\n')}\n`);
            }
          },
          () => ({ lines: lines.length }),
        ),
      );
    },

    /** Also says which network the container got: the task's, or none on an offline host. */
    async startSandbox(
      input: AttemptRef & { image: string },
    ): Promise<{ containerId: string; network: { requested: NetworkMode; effective: NetworkMode } }> {
      const task = loadRunTask(input.runDir, input.taskId);
      return guarded(() =>
        withHeartbeat(async () => {
          const { containerId } = await createSandbox(
            sandboxSpec(task, config, input.image, input.name, labelsFor(input)),
          );
          // environment/ files of a prebuilt image, then the task's healthcheck (may take a while).
          await prepareSandbox(task, containerId, config);
          return { containerId, network: taskNetwork(task, config) };
        }),
      );
    },

    /** The oracle's step. A retry means the first run was cut off mid-way: its state is unknown. */
    async runSolution(
      input: AttemptRef & { containerId: string },
    ): Promise<{ exitCode: number; timedOut: boolean; durationMs: number }> {
      const task = loadRunTask(input.runDir, input.taskId);
      return guarded(() =>
        withHeartbeat(async () => {
          if (activityAttempt() > 1)
            throw new InterruptedStepError(
              `solution run in ${input.name} was interrupted; restarting the attempt in a fresh container`,
            );
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

    async removeSandbox(input: { name: string }): Promise<void> {
      await removeSandbox(input.name);
    },

    /** Removes whatever a run still has (after crashes); returns how many containers it removed. */
    async removeRunContainers(input: { runId: string }): Promise<number> {
      return removeSandboxes({ [LABEL.run]: input.runId });
    },

    async recordVerdict(input: { runDir: string; verdict: TaskVerdict }): Promise<void> {
      writeJson(path.join(runPaths(input.runDir).task(input.verdict.taskId), 'verdict.json'), input.verdict);
    },

    async finishedRollouts(input: { runDir: string; taskId: string }): Promise<RolloutResult[]> {
      return finishedRollouts(input.runDir, input.taskId);
    },

    /**
     * results.json and results.md from the rollouts' result files, and preds.json in SWE-bench's
     * shape (keyed by instance id) with each SWE-bench task's pick: for `sample`, rollout r0.
     */
    async writeRunReport(input: {
      runDir: string;
      runId: string;
      taskIds: string[];
      errors: { taskId: string; error: string }[];
    }): Promise<RunReport> {
      const paths = runPaths(input.runDir);
      const meta = readJson<{ strategy: string; model: string; note?: string }>(paths.run);
      const byTask = new Map(
        input.taskIds.map((id) => [
          id,
          finishedRollouts(input.runDir, id).sort((a, b) =>
            a.rolloutId.localeCompare(b.rolloutId, 'en', { numeric: true }),
          ),
        ]),
      );
      const report = runReport(
        { runId: input.runId, strategy: meta.strategy, model: meta.model, note: meta.note },
        byTask,
      );
      // rtv / pdr: the paper's table, from each task's scaling outcome.
      const outcomes = new Map(
        input.taskIds.flatMap((id) => {
          const o = readIfExists<ScalingOutcome>(scalingPath(input.runDir, id));
          return o ? [[id, o] as const] : [];
        }),
      );
      if (meta.strategy !== 'sample') report.scaling = scalingReport([...outcomes.values()]);
      // A partial dataset's skipped tasks are listed with the tasks that failed to run.
      const skipped = (readIfExists<TaskVerdict[]>(paths.rejected) ?? []).map((v) => ({
        taskId: v.taskId,
        error: `${v.status}: ${v.problems.join('; ')}`,
      }));
      const taskErrors = [...input.errors, ...skipped];
      const mappings = imageMappingsOf(input.runDir, input.taskIds);
      writeJson(paths.results, { ...report, taskErrors, imageMappings: mappings });
      const errors = taskErrors.map((e) => `- ${e.taskId}: ${e.error.split('\n')[0]}`).join('\n');
      writeFileAtomic(
        paths.table,
        `${renderRunReport(report)}\n${errors ? `\nTasks that could not run:\n${errors}\n` : ''}${renderImageMappings(mappings)}`,
      );
      const preds: Record<string, { instance_id: string; model_name_or_path: string; model_patch: string }> = {};
      for (const id of input.taskIds) {
        const task = loadRunTask(input.runDir, id);
        // sample: rollout r0; rtv / pdr: the rollout the final tournament picked.
        const final = outcomes.get(id)?.final;
        const pick = final ? byTask.get(id)?.find((r) => r.rolloutId === final) : byTask.get(id)?.[0];
        if (task.format !== 'swebench' || !pick) continue;
        const patch = readTextIfExists(rolloutPaths(input.runDir, id, pick.rolloutId).patch) ?? '';
        preds[id] = { instance_id: id, model_name_or_path: meta.model, model_patch: patch };
      }
      writeJson(path.join(input.runDir, 'preds.json'), preds);
      return report;
    },

    async writeValidationReport(input: {
      runDir: string;
      runId: string;
      verdicts: TaskVerdict[];
    }): Promise<{ summary: ValidationSummary; table: string }> {
      const paths = runPaths(input.runDir);
      // A partial dataset's skipped tasks are listed beside the ones that ran.
      const verdicts = [...input.verdicts, ...(readIfExists<TaskVerdict[]>(paths.rejected) ?? [])];
      const summary = summarize(input.runId, verdicts);
      const table = renderTable(verdicts);
      const mappings = imageMappingsOf(
        input.runDir,
        verdicts.map((v) => v.taskId),
      );
      writeJson(paths.results, { summary, verdicts, imageMappings: mappings });
      writeFileAtomic(
        paths.table,
        `# Validation ${input.runId}\n\n${summaryLine(summary)}\n\n${table}\n${renderImageMappings(mappings)}`,
      );
      return { summary, table: `${table}\n${renderImageMappings(mappings)}`.trimEnd() };
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** The image mappings each task's build applied, read from the run folder. */
function imageMappingsOf(runDir: string, taskIds: string[]): Record<string, ImageMapping[]> {
  const out: Record<string, ImageMapping[]> = {};
  for (const id of taskIds) {
    const m = readIfExists<ImageMapping[]>(runPaths(runDir).imageMappings(id));
    if (m?.length) out[id] = m;
  }
  return out;
}
