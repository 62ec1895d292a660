// `run`: a benchmark run. One workflow per run keeps a bounded window of task workflows
// (workflows/scaling.ts, for every strategy); each builds the task's image once and runs its
// rollouts as child workflows. A run restarted under the same id skips rollouts whose results are
// already in the run folder.
import {
  defineQuery,
  executeChild,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { RecordActivities, SandboxActivities } from '../activities';
import { capReached, hasBudget, type BudgetStop } from '../core/budget';
import { MEMO_SUMMARY, runMemo } from '../core/memo';
import { addCost } from '../core/model';
import { agentCost } from '../core/pdr';
import type { RunReport } from '../core/report';
import type { RolloutResult } from '../core/rollout';
import { SA } from '../core/searchAttributes';
import { agentFor, scalingOf, type RunSettings } from '../core/settings';
import type { TaskRef } from '../core/task';
import { recordOptions, sandboxOptions } from './activityOptions';
import { failureOf } from './failures';
import { prepareTask } from './prepareTask';
import { runRolloutChild } from './rollout';
import { rolloutBase, taskScaling, type TaskScalingInput } from './scaling';
import { slidingWindow } from './window';

export interface BenchmarkRunInput {
  runId: string;
  runDir: string;
  tasks: TaskRef[];
  settings: RunSettings;
  searchAttributes: boolean;
}

export interface TaskRunResult {
  taskId: string;
  /** Set when the task could not run at all (its image did not build, say). */
  error?: string;
  rollouts: RolloutResult[];
  /** All stages (agent, summaries, judge); null when a model has no price. */
  costUsd?: number | null;
  /** A cost cap stopped the task's new rollouts (before it started, or before a later iteration). */
  budgetStop?: BudgetStop;
}

/** The run's own view: finished tasks only. `status` adds the running tasks' taskProgress. */
export interface RunProgress {
  tasks: number;
  tasksDone: number;
  rolloutsPlanned: number;
  rolloutsDone: number;
  rolloutsPassed: number;
  costUsd: number | null;
  running: string[];
}

export const runProgressQuery = defineQuery<RunProgress>('progress');

/** Runs started before `sample` became one iteration of taskScaling replay their taskRun children. */
export const SAMPLE_AS_SCALING = 'sample-as-task-scaling';

/** Runs started before cost caps (run.maxCostUsd, run.maxTaskCostUsd) were checked. */
export const BUDGET_CAPS = 'budget-caps';

/** A task workflow's input under a run's settings. */
const taskScalingInput = (
  input: { runId: string; runDir: string; settings: RunSettings; searchAttributes?: boolean },
  task: TaskRef,
): TaskScalingInput => ({
  runId: input.runId,
  runDir: input.runDir,
  task,
  scaling: scalingOf(input.settings),
  limits: input.settings.limits,
  commandTimeoutSec: input.settings.commandTimeoutSec,
  wallTimeSec: input.settings.wallTimeSec ?? task.agentTimeoutSec,
  modelRetry: input.settings.modelRetry,
  searchAttributes: input.searchAttributes,
  // Absent for runs started before there was a choice, so their histories replay unchanged.
  ...(input.settings.agents ? { agent: agentFor(input.settings, task.format) } : {}),
  ...(input.settings.budget ? { budget: input.settings.budget } : {}),
});

const sandbox = proxyActivities<SandboxActivities>(sandboxOptions);
const record = proxyActivities<RecordActivities>(recordOptions);

export async function benchmarkRun(input: BenchmarkRunInput): Promise<RunReport> {
  const { settings } = input;
  const scaling = scalingOf(settings);
  const results: TaskRunResult[] = [];
  const running = new Set<string>();
  setHandler(runProgressQuery, () => {
    const rollouts = results.flatMap((r) => r.rollouts);
    return {
      tasks: input.tasks.length,
      tasksDone: results.length,
      rolloutsPlanned: input.tasks.length * scaling.n * scaling.iterations,
      rolloutsDone: rollouts.length,
      rolloutsPassed: rollouts.filter((r) => r.passed).length,
      costUsd: results.map((r) => r.costUsd ?? agentCost(r.rollouts)).reduce<number | null>(addCost, 0),
      running: [...running],
    };
  });

  const childOptions = (task: TaskRef, summary: string) => ({
    workflowId: `${input.runId}/${task.id}`,
    staticSummary: summary,
    typedSearchAttributes: input.searchAttributes
      ? [
          { key: SA.runId, value: input.runId },
          { key: SA.taskId, value: task.id },
          { key: SA.job, value: 'run-task' },
          { key: SA.strategy, value: settings.strategy },
        ]
      : undefined,
  });
  // Cost caps: a task starts only while the run is under its cap (what the run folder records
  // as spent, running rollouts included); the task workflow checks again before each iteration.
  const budget = hasBudget(settings.budget) && patched(BUDGET_CAPS) ? settings.budget : undefined;
  const runTask = async (task: TaskRef): Promise<TaskRunResult> => {
    if (budget) {
      const spent = await record.budgetSpent.executeWithOptions({ summary: `cost so far, before ${task.id}` }, [
        { runDir: input.runDir, taskId: task.id },
      ]);
      // A task that finished before (a continued run) only reads its results back: no new rollouts.
      const stop = capReached({ runUsd: budget.runUsd }, spent, { taskId: task.id, iteration: 0 });
      if (stop && !spent.taskFinished) return { taskId: task.id, rollouts: [], costUsd: 0, budgetStop: stop };
    }
    if (settings.strategy === 'sample' && !patched(SAMPLE_AS_SCALING)) {
      return executeChild(taskRun, {
        ...childOptions(task, `${settings.strategy} x${settings.n}: ${task.id}`),
        args: [{ runId: input.runId, runDir: input.runDir, task, settings }],
      });
    }
    return executeChild(taskScaling, {
      ...childOptions(
        task,
        `${settings.strategy} (N=${scaling.n}${scaling.iterations > 1 ? `, T=${scaling.iterations}` : ''}): ${task.id}`,
      ),
      args: [taskScalingInput(input, task)],
    }).then((r): TaskRunResult => ({
      taskId: r.taskId,
      rollouts: r.iterations.flatMap((it) => it.rollouts),
      costUsd: [r.cost.agent, r.cost.summary, r.cost.judge].reduce<number | null>(addCost, 0),
      ...(r.budgetStop ? { budgetStop: r.budgetStop } : {}),
    }));
  };

  await slidingWindow(
    input.tasks,
    settings.taskConcurrency,
    (task) =>
      runTask(task).catch((e): TaskRunResult => ({ taskId: task.id, error: failureOf(e).message, rollouts: [] })),
    {
      onStart: (task) => running.add(task.id),
      onEnd: (task, result) => {
        running.delete(task.id);
        results.push(result);
      },
    },
  );

  await sandbox.removeRunContainers.executeWithOptions({ summary: 'remove leftover containers' }, [
    { runId: input.runId },
  ]);
  const report = await record.writeRunReport.executeWithOptions(
    { summary: 'write results.json, results.md, preds.json' },
    [
      {
        runDir: input.runDir,
        runId: input.runId,
        taskIds: input.tasks.map((t) => t.id),
        errors: results.filter((r) => r.error).map((r) => ({ taskId: r.taskId, error: r.error! })),
        ...(budget ? { budget, budgetStops: results.flatMap((r) => (r.budgetStop ? [r.budgetStop] : [])) } : {}),
      },
    ],
  );
  if (input.searchAttributes) upsertSearchAttributes([{ key: SA.status, value: 'completed' }]);
  if (patched(MEMO_SUMMARY)) upsertMemo(runMemo(report, report.budget?.stops));
  return report;
}

/**
 * The `sample` task workflow of runs started before SAMPLE_AS_SCALING: kept so that those runs'
 * task workflows still replay. New runs use taskScaling.
 * @deprecated
 */
export async function taskRun(input: {
  runId: string;
  runDir: string;
  task: TaskRef;
  settings: RunSettings;
}): Promise<TaskRunResult> {
  const { task, settings } = input;
  const { image, done } = await prepareTask(input.runDir, task);
  const ids = Array.from({ length: settings.n }, (_, i) => `r${i}`);
  const base = rolloutBase(taskScalingInput(input, task), image);
  const rollouts = await Promise.all(
    ids.map((rolloutId) => done.get(rolloutId) ?? runRolloutChild({ ...base, rolloutId })),
  );
  return { taskId: task.id, rollouts };
}
