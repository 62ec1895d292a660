// `validate`: every task's oracle must pass and its null attempt must fail. One dataset workflow
// keeps a bounded window of per-task child workflows; each child builds the image and runs both
// attempts, each in its own container, removed whatever happens.
import {
  CancellationScope,
  defineQuery,
  executeChild,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { RecordActivities, SandboxActivities } from '../activities';
import { FAILURE } from '../core/failures';
import { recordOptions, sandboxOptions } from './activityOptions';
import { failureOf } from './failures';
import { slidingWindow } from './window';
import { SA } from '../core/searchAttributes';
import { containerName, type TaskRef } from '../core/task';
import {
  decideVerdict,
  errorVerdict,
  summarize,
  type AttemptKind,
  type AttemptResult,
  type TaskVerdict,
  type ValidationSummary,
} from '../core/validation';

export interface ValidateDatasetInput {
  runId: string;
  /** The run folder (artifact store) holding dataset.json; workers read tasks from it. */
  runDir: string;
  tasks: TaskRef[];
  concurrency: number;
  /** Whether the server has our search attributes registered. */
  searchAttributes: boolean;
}

export interface ValidateTaskInput {
  runId: string;
  runDir: string;
  task: TaskRef;
  searchAttributes: boolean;
}

export interface ValidationProgress {
  total: number;
  done: number;
  valid: number;
  invalid: number;
  error: number;
  running: string[];
}

export interface ValidationResult {
  summary: ValidationSummary;
  table: string;
  verdicts: TaskVerdict[];
}

export const progressQuery = defineQuery<ValidationProgress>('progress');

/** A crash can cost an attempt its container; it is restarted at most this often. */
const MAX_TRIES = 3;

const sandbox = proxyActivities<SandboxActivities>(sandboxOptions);
const record = proxyActivities<RecordActivities>(recordOptions);

export async function validateDataset(input: ValidateDatasetInput): Promise<ValidationResult> {
  const verdicts: TaskVerdict[] = [];
  const running = new Set<string>();
  setHandler(progressQuery, () => {
    const s = summarize(input.runId, verdicts);
    return {
      total: input.tasks.length,
      done: verdicts.length,
      valid: s.valid,
      invalid: s.invalid,
      error: s.error,
      running: [...running],
    };
  });

  const childOptions = (task: TaskRef) => ({
    workflowId: `${input.runId}/${task.id}`,
    staticSummary: `validate ${task.id} (${task.format})`,
    typedSearchAttributes: input.searchAttributes
      ? [
          { key: SA.runId, value: input.runId },
          { key: SA.taskId, value: task.id },
          { key: SA.job, value: 'validate-task' },
        ]
      : undefined,
  });

  await slidingWindow(
    input.tasks,
    input.concurrency,
    (task) =>
      executeChild(validateTask, {
        ...childOptions(task),
        args: [{ runId: input.runId, runDir: input.runDir, task, searchAttributes: input.searchAttributes }],
      }).catch((e) => errorVerdict(task.id, task.format, `validation workflow failed: ${failureOf(e).message}`)),
    {
      onStart: (task) => running.add(task.id),
      onEnd: (task, verdict) => {
        running.delete(task.id);
        verdicts.push(verdict);
      },
    },
  );

  // Anything a crashed worker left behind goes now, not at the next `gc`.
  await sandbox.removeRunContainers.executeWithOptions({ summary: 'remove leftover containers' }, [
    { runId: input.runId },
  ]);
  const { summary, table } = await record.writeValidationReport.executeWithOptions(
    { summary: 'write results.json and results.md' },
    [{ runDir: input.runDir, runId: input.runId, verdicts }],
  );
  if (input.searchAttributes) upsertSearchAttributes([{ key: SA.status, value: 'completed' }]);
  return { summary, table, verdicts };
}

export async function validateTask(input: ValidateTaskInput): Promise<TaskVerdict> {
  const { task, runDir } = input;
  const ref = { runDir, taskId: task.id };
  let verdict: TaskVerdict;
  try {
    const { image } = await sandbox.prepareImage.executeWithOptions(
      { summary: `image for ${task.id}`, startToCloseTimeout: `${task.buildTimeoutSec + 60} seconds` },
      [ref],
    );
    const [oracle, nul] = await Promise.all([attempt(input, image, 'oracle'), attempt(input, image, 'null')]);
    verdict = decideVerdict(task.id, task.format, oracle, nul, image);
  } catch (e) {
    verdict = errorVerdict(task.id, task.format, failureOf(e).message);
  }
  await record.recordVerdict.executeWithOptions({ summary: `verdict: ${verdict.status}` }, [{ runDir, verdict }]);
  if (input.searchAttributes) upsertSearchAttributes([{ key: SA.status, value: verdict.status }]);
  return verdict;
}

/**
 * One attempt: the oracle runs the reference solution, the null attempt does nothing; then the
 * hidden tests judge the result. A lost container (a crash mid-step) restarts the attempt in a
 * fresh one, since the old container's state can no longer be trusted.
 */
async function attempt(input: ValidateTaskInput, image: string, kind: AttemptKind): Promise<AttemptResult> {
  const { task } = input;
  const started = Date.now();
  const result = (tries: number, r: Omit<AttemptResult, 'kind' | 'tries' | 'durationMs'>): AttemptResult => ({
    kind,
    tries,
    durationMs: Date.now() - started,
    ...r,
  });
  if (kind === 'oracle' && !task.hasSolution)
    return result(0, { reason: 'not run', error: 'the task has no reference solution' });

  const verifierTimeout = `${task.verifierTimeoutSec + 120} seconds`;
  for (let tryNo = 1; ; tryNo++) {
    const ref = {
      runDir: input.runDir,
      runId: input.runId,
      taskId: task.id,
      attempt: kind,
      name: containerName(input.runId, task.id, kind, tryNo),
    };
    try {
      if (task.grading === 'patch') {
        const o = await sandbox.evaluatePatch.executeWithOptions(
          {
            summary: `${kind}: ${kind === 'oracle' ? 'gold' : 'empty'} patch + hidden tests`,
            startToCloseTimeout: verifierTimeout,
          },
          [{ ...ref, image, patch: kind === 'oracle' ? 'gold' : 'empty' }],
        );
        return result(tryNo, { passed: o.passed, reason: o.reason });
      }
      try {
        const { containerId, network } = await sandbox.startSandbox.executeWithOptions(
          { summary: `${kind}: start ${ref.name}` },
          [{ ...ref, image }],
        );
        let note = '';
        if (kind === 'oracle') {
          const s = await sandbox.runSolution.executeWithOptions(
            {
              summary: 'oracle: run the reference solution',
              startToCloseTimeout: `${task.agentTimeoutSec + 120} seconds`,
            },
            [{ ...ref, containerId }],
          );
          if (s.timedOut) note = ` (solution timed out after ${task.agentTimeoutSec} s)`;
          else if (s.exitCode !== 0) note = ` (solution exited ${s.exitCode})`;
        }
        const o = await sandbox.evaluateContainer.executeWithOptions(
          { summary: `${kind}: hidden tests`, startToCloseTimeout: verifierTimeout },
          [{ ...ref, containerId }],
        );
        // A verifier that gave no reward (Harbor: no reward file, a timeout) is an error, not a 0.
        if (o.error) return result(tryNo, { reason: o.reason + note, error: `verifier: ${o.error}${note}`, network });
        return result(tryNo, {
          passed: o.passed,
          reason: o.reason + note,
          reward: o.reward,
          ...(o.rewards && { rewards: o.rewards }),
          network,
        });
      } finally {
        // Also when the workflow is cancelled: the container must go either way.
        await CancellationScope.nonCancellable(() =>
          sandbox.removeSandbox.executeWithOptions({ summary: `remove ${ref.name}` }, [{ name: ref.name }]),
        );
      }
    } catch (e) {
      const f = failureOf(e);
      if (f.type === FAILURE.sandboxLost && tryNo < MAX_TRIES) continue;
      return result(tryNo, { reason: 'error', error: f.message });
    }
  }
}
