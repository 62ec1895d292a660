// One rollout: an agent attempt on one task in its own container, step by step. Each step is a
// model activity and an exec activity, idempotent by (rollout, step) through the run folder, so a
// crash costs at most the step in flight. History carries small summaries only; the conversation
// stays in the rollout store.
import { CancellationScope, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { limitReached, stepSummary, type AgentLimits, type ExitStatus } from '../core/agent';
import { FAILURE } from '../core/failures';
import { addCost } from '../core/model';
import { containerName, type TaskRef } from '../core/task';
import type { RolloutResult } from '../runtime/rollouts';
import { failureOf } from './failures';

export interface ModelRetry {
  maxAttempts: number;
  initialIntervalSec: number;
  maxIntervalSec: number;
}

export interface RolloutInput {
  runDir: string;
  runId: string;
  task: TaskRef;
  rolloutId: string;
  image: string;
  limits: AgentLimits;
  /** Per-command timeout, for the exec activity's own timeout. */
  commandTimeoutSec: number;
  /** Wall time for the agent; the task's agent timeout unless the config sets one. */
  wallTimeSec: number;
  modelRetry: ModelRetry;
  /** PDR: rollouts of an earlier iteration whose summaries go into the first prompt. */
  contextFrom?: string[];
}

const SKIP_EVAL_AFTER_SANDBOX_ERROR = 'skip-eval-after-sandbox-error';

/** Fresh containers a rollout may need after losing one before it gives up. */
const MAX_SANDBOX_TRIES = 3;

const sandbox = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '20 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [FAILURE.sandboxLost],
  },
});

export async function rollout(input: RolloutInput): Promise<RolloutResult> {
  const { task, runId, rolloutId } = input;
  const ref = { runDir: input.runDir, runId, taskId: task.id, rolloutId };
  const started = Date.now();
  const model = proxyActivities<Activities>({
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '30 seconds',
    retry: {
      initialInterval: `${input.modelRetry.initialIntervalSec} seconds`,
      maximumInterval: `${input.modelRetry.maxIntervalSec} seconds`,
      backoffCoefficient: 2,
      maximumAttempts: input.modelRetry.maxAttempts,
      nonRetryableErrorTypes: [FAILURE.modelFatal],
    },
  });
  const exec = proxyActivities<Activities>({
    startToCloseTimeout: `${input.commandTimeoutSec + 120} seconds`,
    heartbeatTimeout: '20 seconds',
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumAttempts: 5,
      nonRetryableErrorTypes: [FAILURE.sandboxLost],
    },
  });

  let tryNo = 1;
  let name = containerName(runId, task.id, rolloutId, tryNo);
  let containerId: string | undefined;
  const startSandbox = async () => {
    containerId = undefined;
    containerId = (
      await sandbox.startSandbox.executeWithOptions({ summary: `start ${name}` }, [
        { ...ref, attempt: rolloutId, name, image: input.image },
      ])
    ).containerId;
  };

  let steps = 0;
  let apiCalls = 0;
  let cost: number | null = 0;
  let formatErrorsInARow = 0;
  let exitStatus: ExitStatus | undefined;
  let detail: string | undefined;
  let outcome: Awaited<ReturnType<Activities['evaluateRollout']>> | undefined;
  let evalError: string | undefined;

  try {
    await sandbox.initRollout.executeWithOptions({ summary: 'write prompts' }, [
      { ...ref, contextFrom: input.contextFrom },
    ]);
    await startSandbox();

    for (let step = 1; !exitStatus; step++) {
      let turn;
      try {
        turn = await model.modelTurn.executeWithOptions({ summary: `step ${step}: model` }, [{ ...ref, step }]);
      } catch (e) {
        exitStatus = 'ModelError';
        detail = failureOf(e).message;
        break;
      }
      steps = step;
      apiCalls++;
      cost = addCost(cost, turn.costUsd);

      if (turn.kind === 'format_error') {
        if (++formatErrorsInARow >= input.limits.formatErrorLimit) {
          exitStatus = 'RepeatedFormatError';
          break;
        }
      } else {
        formatErrorsInARow = 0;
        const obs = await runStep(step, turn.preview);
        if (!obs) break;
        if (obs.submitted) {
          exitStatus = 'Submitted';
          break;
        }
      }
      exitStatus = limitReached(
        { steps, costUsd: cost, elapsedMs: Date.now() - started },
        input.limits,
        input.wallTimeSec,
      );
    }

    // A sandbox that failed under the agent says nothing about its work: no verdict then
    // (older histories evaluated it anyway; they replay as they ran).
    const evaluate = exitStatus !== 'SandboxError' || !patched(SKIP_EVAL_AFTER_SANDBOX_ERROR);
    if (!evaluate) evalError = `not evaluated: ${detail ?? 'the sandbox failed'}`;
    if (evaluate)
      try {
        outcome = await sandbox.evaluateRollout.executeWithOptions(
          { summary: 'hidden tests', startToCloseTimeout: `${task.verifierTimeoutSec + 300} seconds` },
          [
            {
              ...ref,
              containerId,
              image: input.image,
              sandboxName: containerName(runId, task.id, `${rolloutId}-eval`, tryNo),
              submitted: exitStatus === 'Submitted',
            },
          ],
        );
      } catch (e) {
        evalError = failureOf(e).message;
      }
  } catch (e) {
    exitStatus ??= 'SandboxError';
    detail ??= failureOf(e).message;
  } finally {
    // Also when the rollout is cancelled: its container must go.
    await CancellationScope.nonCancellable(() =>
      sandbox.removeSandbox.executeWithOptions({ summary: `remove ${name}` }, [{ name }]),
    );
  }

  const result: RolloutResult = {
    taskId: task.id,
    rolloutId,
    exitStatus: exitStatus ?? 'SandboxError',
    detail,
    steps,
    apiCalls,
    costUsd: cost,
    passed: outcome?.passed,
    reward: outcome?.reward,
    evalReason: outcome?.reason,
    evalError,
    patchBytes: outcome?.patchBytes,
    sandboxRestarts: tryNo - 1,
    durationMs: Date.now() - started,
  };
  await sandbox.finishRollout.executeWithOptions(
    { summary: `${result.exitStatus}, ${result.passed ? 'passed' : 'failed'}` },
    [{ ...ref, result }],
  );
  return result;

  /**
   * The exec half of a step. A lost container is replaced, and the rollout's earlier commands are
   * replayed in the new one from the store (no model calls), before the step runs again.
   */
  async function runStep(step: number, preview: string | undefined) {
    for (;;) {
      try {
        return await exec.execStep.executeWithOptions({ summary: stepSummary(step, preview) }, [
          { ...ref, step, containerId: containerId! },
        ]);
      } catch (e) {
        const f = failureOf(e);
        if (f.type !== FAILURE.sandboxLost || tryNo >= MAX_SANDBOX_TRIES) {
          exitStatus = 'SandboxError';
          detail = f.message;
          return undefined;
        }
        await sandbox.removeSandbox.executeWithOptions({ summary: `remove ${name}` }, [{ name }]);
        name = containerName(runId, task.id, rolloutId, ++tryNo);
        await startSandbox();
        await sandbox.replaySteps.executeWithOptions(
          {
            summary: `replay steps 1..${step - 1} in ${name}`,
            startToCloseTimeout: `${(step + 1) * (input.commandTimeoutSec + 5)} seconds`,
          },
          [{ ...ref, containerId: containerId!, upTo: step }],
        );
      }
    }
  }
}
