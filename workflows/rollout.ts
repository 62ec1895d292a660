// One rollout: an agent attempt on one task in its own container, step by step. Each step is a
// model activity and an exec activity, idempotent by (rollout, step) through the run folder, so a
// crash costs at most the step in flight. History carries small summaries only; the conversation
// stays in the rollout store.
import {
  CancellationScope,
  executeChild,
  patched,
  proxyActivities,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { ExecActivities, ModelActivities, RecordActivities, SandboxActivities } from '../activities';
import { limitReached, stepSummary, type AgentLimits, type ExitStatus } from '../core/agent';
import { FAILURE } from '../core/failures';
import { MEMO_SUMMARY, rolloutMemo } from '../core/memo';
import { SA } from '../core/searchAttributes';
import { addCost, addUsage, emptyUsage } from '../core/model';
import { containerName, type TaskRef } from '../core/task';
import { rolloutOutcome, type RolloutResult } from '../core/rollout';
import { MAX_DURATION_SEC, type AgentKind } from '../core/terminal';
import type { ModelRetry } from '../core/settings';
import { execOptions, modelOptions, recordOptions, sandboxOptions } from './activityOptions';
import { failureOf } from './failures';

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
  /** Set when the server has our search attributes: the rollout is findable in the UI by these. */
  searchAttributes?: { strategy: string; iteration: number };
  /**
   * Which agent plays the rollout; absent (rollouts started before there was a choice): bash.
   * The terminal agent's steps are keystroke activities in a tmux session (core/terminal.ts).
   */
  agent?: AgentKind;
}

/** Rollouts started before they recorded their outcome as a search attribute. */
export const OUTCOME_ATTRIBUTE = 'rollout-outcome-attribute';

/** What the UI's filters see of a finished rollout (AgentscaleOutcome). */
export const outcomeOf = rolloutOutcome;

/** Rollouts started before the patch was collected apart from (and before) the evaluation. */
export const PATCH_BEFORE_EVALUATION = 'patch-before-evaluation';

/** Rollouts started before a sandbox failure skipped the evaluation. */
const SKIP_EVAL_AFTER_SANDBOX_ERROR = 'skip-eval-after-sandbox-error';

/** A container lost under the evaluation is restored (its steps replayed) and evaluated again. */
const RESTORE_FOR_EVALUATION = 'restore-sandbox-for-evaluation';

/** Fresh containers a rollout may need after losing one before it gives up. */
const MAX_SANDBOX_TRIES = 3;

const sandbox = proxyActivities<SandboxActivities>(sandboxOptions);
const record = proxyActivities<RecordActivities>(recordOptions);

export async function rollout(input: RolloutInput): Promise<RolloutResult> {
  const { task, runId, rolloutId } = input;
  const ref = { runDir: input.runDir, runId, taskId: task.id, rolloutId };
  const started = Date.now();
  const model = proxyActivities<ModelActivities>(modelOptions(input.modelRetry));
  const exec = proxyActivities<ExecActivities>(execOptions(input.commandTimeoutSec));

  let tryNo = 1;
  let name = containerName(runId, task.id, rolloutId, tryNo);
  let containerId: string | undefined;
  const terminal = input.agent === 'terminal';
  const startSandbox = async () => {
    containerId = undefined;
    containerId = (
      await sandbox.startSandbox.executeWithOptions({ summary: `start ${name}` }, [
        { ...ref, attempt: rolloutId, name, image: input.image },
      ])
    ).containerId;
    // The terminal agent's session lives in the container: a fresh container gets a fresh one.
    if (terminal)
      await exec.startTerminal.executeWithOptions({ summary: `tmux session in ${name}` }, [{ ...ref, containerId }]);
  };
  const initRollout = () =>
    record.initRollout.executeWithOptions({ summary: 'write prompts' }, [
      { ...ref, contextFrom: input.contextFrom, ...(terminal ? { agent: 'terminal' as const } : {}) },
    ]);

  let steps = 0;
  let apiCalls = 0;
  let cost: number | null = 0;
  let usage = emptyUsage();
  let formatErrorsInARow = 0;
  let exitStatus: ExitStatus | undefined;
  let detail: string | undefined;
  let outcome: Awaited<ReturnType<SandboxActivities['evaluateRollout']>> | undefined;
  let evalError: string | undefined;
  let patchBytes: number | undefined;

  try {
    // The terminal agent's first prompt shows the session's first screen, so the session comes first.
    if (!terminal) await initRollout();
    await startSandbox();
    if (terminal) await initRollout();

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
      usage = addUsage(usage, turn.usage);

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

    // SWE-bench: the answer is the diff, taken now, so what selection knows of the rollout (did
    // it produce anything?) never depends on how its evaluation went.
    if (task.grading === 'patch' && patched(PATCH_BEFORE_EVALUATION)) {
      if (exitStatus !== 'Submitted' || !containerId) patchBytes = 0;
      else {
        try {
          const collected = await sandbox.collectPatch.executeWithOptions({ summary: 'collect the patch' }, [
            { ...ref, containerId },
          ]);
          patchBytes = collected.patchBytes;
        } catch (e) {
          detail ??= `could not collect the patch: ${failureOf(e).message}`;
        }
      }
    }

    // A sandbox that failed under the agent says nothing about its work: no verdict then
    // (older histories evaluated it anyway; they replay as they ran).
    const evaluate = exitStatus !== 'SandboxError' || !patched(SKIP_EVAL_AFTER_SANDBOX_ERROR);
    if (!evaluate) evalError = `not evaluated: ${detail ?? 'the sandbox failed'}`;
    else {
      const evaluateOnce = () =>
        sandbox.evaluateRollout.executeWithOptions(
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
      try {
        outcome = await evaluateOnce();
      } catch (e) {
        let failure: ReturnType<typeof failureOf> | undefined = failureOf(e);
        // A container lost under the evaluation (a Docker daemon restart, say) says nothing about
        // the agent's work: the work is restored in a fresh container, as for a lost step, and
        // evaluated again (older histories kept the evaluation error; they replay as they ran).
        while (failure?.type === FAILURE.sandboxLost && tryNo < MAX_SANDBOX_TRIES && patched(RESTORE_FOR_EVALUATION)) {
          // SWE-bench is graded from its stored patch in a container of its own: nothing to restore.
          if (task.grading === 'container') await rebuildSandbox(steps + 1);
          else {
            await sandbox.removeSandbox.executeWithOptions({ summary: `remove ${name}` }, [{ name }]);
            name = containerName(runId, task.id, rolloutId, ++tryNo);
          }
          try {
            outcome = await evaluateOnce();
            failure = undefined;
          } catch (e2) {
            failure = failureOf(e2);
          }
        }
        if (failure) evalError = failure.message;
      }
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
    usage,
    passed: outcome?.passed,
    reward: outcome?.reward,
    evalReason: outcome?.reason,
    evalError,
    patchBytes: patchBytes ?? outcome?.patchBytes,
    sandboxRestarts: tryNo - 1,
    durationMs: Date.now() - started,
  };
  if (input.searchAttributes && patched(OUTCOME_ATTRIBUTE)) {
    upsertSearchAttributes([{ key: SA.outcome, value: outcomeOf(result) }]);
  }
  // The UI's workflow page says how the rollout ended (rollouts started before say nothing).
  if (patched(MEMO_SUMMARY)) upsertMemo(rolloutMemo(result));
  await record.finishRollout.executeWithOptions(
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
        const args = [{ ...ref, step, containerId: containerId! }] as const;
        const summary = { summary: stepSummary(step, preview) };
        return await (terminal
          ? // A batch may hold several waits of up to a minute each; the activity heartbeats meanwhile.
            exec.keystrokeStep.executeWithOptions({ ...summary, startToCloseTimeout: '30 minutes' }, [...args])
          : exec.execStep.executeWithOptions(summary, [...args]));
      } catch (e) {
        const f = failureOf(e);
        if (f.type !== FAILURE.sandboxLost || tryNo >= MAX_SANDBOX_TRIES) {
          exitStatus = 'SandboxError';
          detail = f.message;
          return undefined;
        }
        await rebuildSandbox(step);
      }
    }
  }

  /**
   * A lost container replaced by a fresh one in which the rollout's steps before `upTo` are
   * replayed from the store (commands run again, or keystrokes typed again), with no model call.
   */
  async function rebuildSandbox(upTo: number) {
    await sandbox.removeSandbox.executeWithOptions({ summary: `remove ${name}` }, [{ name }]);
    name = containerName(runId, task.id, rolloutId, ++tryNo);
    await startSandbox();
    const args = [{ ...ref, containerId: containerId!, upTo }] as const;
    if (terminal)
      await sandbox.replayKeystrokes.executeWithOptions(
        {
          summary: `replay keystrokes of steps 1..${upTo - 1} in ${name}`,
          startToCloseTimeout: `${(upTo + 1) * (MAX_DURATION_SEC * 4 + 30)} seconds`,
        },
        [...args],
      );
    else
      await sandbox.replaySteps.executeWithOptions(
        {
          summary: `replay steps 1..${upTo - 1} in ${name}`,
          startToCloseTimeout: `${(upTo + 1) * (input.commandTimeoutSec + 5)} seconds`,
        },
        [...args],
      );
  }
}

/** Runs a rollout as a child of a task workflow, named under its run and task for the UI. */
export function runRolloutChild(input: RolloutInput): Promise<RolloutResult> {
  const context = input.contextFrom?.length ? ` (context: ${input.contextFrom.join(', ')})` : '';
  const sa = input.searchAttributes;
  return executeChild(rollout, {
    workflowId: `${input.runId}/${input.task.id}/${input.rolloutId}`,
    staticSummary: `rollout ${input.rolloutId} of ${input.task.id}${context}`,
    typedSearchAttributes: sa
      ? [
          { key: SA.runId, value: input.runId },
          { key: SA.taskId, value: input.task.id },
          { key: SA.rollout, value: input.rolloutId },
          { key: SA.job, value: 'rollout' },
          { key: SA.strategy, value: sa.strategy },
          { key: SA.iteration, value: sa.iteration },
        ]
      : undefined,
    args: [input],
  });
}
