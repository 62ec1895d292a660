// `run`: a benchmark run. One workflow per run keeps a bounded window of task workflows; each task
// workflow builds the image once and runs its rollouts as child workflows. Strategy `sample`:
// N independent rollouts per task, every one evaluated with the hidden tests. A run restarted
// under the same id skips rollouts whose results are already in the run folder.
import { defineQuery, executeChild, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AgentLimits } from '../core/agent';
import type { RunReport } from '../core/report';
import { SA } from '../core/searchAttributes';
import type { TaskRef } from '../core/task';
import type { RolloutResult } from '../runtime/rollouts';
import { failureOf } from './failures';
import { prepareTask } from './prepareTask';
import { slidingWindow } from './window';
import { rollout, type ModelRetry } from './rollout';
import { taskScaling, type ScalingSettings } from './scaling';

export interface RunSettings {
  strategy: 'sample' | 'rtv' | 'pdr';
  /** rtv and pdr: the method's parameters (N, T, K, G, V, context mode, judge input, seed). */
  scaling?: ScalingSettings;
  n: number;
  taskConcurrency: number;
  limits: AgentLimits;
  commandTimeoutSec: number;
  /** Overrides each task's agent timeout when set. */
  wallTimeSec?: number;
  modelRetry: ModelRetry;
}

export interface BenchmarkRunInput {
  runId: string;
  runDir: string;
  tasks: TaskRef[];
  settings: RunSettings;
  searchAttributes: boolean;
}

export interface TaskRunInput {
  runId: string;
  runDir: string;
  task: TaskRef;
  settings: RunSettings;
}

export interface TaskRunResult {
  taskId: string;
  /** Set when the task could not run at all (its image did not build, say). */
  error?: string;
  rollouts: RolloutResult[];
}

export interface RunProgress {
  tasks: number;
  tasksDone: number;
  rolloutsDone: number;
  rolloutsPassed: number;
  running: string[];
}

export const runProgressQuery = defineQuery<RunProgress>('progress');

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

export async function benchmarkRun(input: BenchmarkRunInput): Promise<RunReport> {
  const results: TaskRunResult[] = [];
  const running = new Set<string>();
  setHandler(runProgressQuery, () => {
    const rollouts = results.flatMap((r) => r.rollouts);
    return {
      tasks: input.tasks.length,
      tasksDone: results.length,
      rolloutsDone: rollouts.length,
      rolloutsPassed: rollouts.filter((r) => r.passed).length,
      running: [...running],
    };
  });

  const scaled = (task: TaskRef) =>
    executeChild(taskScaling, {
      workflowId: `${input.runId}/${task.id}`,
      staticSummary: `${input.settings.strategy} (N=${input.settings.scaling!.n}, T=${input.settings.scaling!.iterations}): ${task.id}`,
      typedSearchAttributes: input.searchAttributes
        ? [
            { key: SA.runId, value: input.runId },
            { key: SA.taskId, value: task.id },
            { key: SA.job, value: 'run-task' },
            { key: SA.strategy, value: input.settings.strategy },
          ]
        : undefined,
      args: [
        {
          runId: input.runId,
          runDir: input.runDir,
          task,
          scaling: input.settings.scaling!,
          limits: input.settings.limits,
          commandTimeoutSec: input.settings.commandTimeoutSec,
          wallTimeSec: input.settings.wallTimeSec ?? task.agentTimeoutSec,
          modelRetry: input.settings.modelRetry,
        },
      ],
    }).then((r): TaskRunResult => ({ taskId: r.taskId, rollouts: r.iterations.flatMap((it) => it.rollouts) }));

  await slidingWindow(
    input.tasks,
    input.settings.taskConcurrency,
    (task) =>
      (input.settings.strategy !== 'sample'
        ? scaled(task)
        : executeChild(taskRun, {
            workflowId: `${input.runId}/${task.id}`,
            staticSummary: `${input.settings.strategy} x${input.settings.n}: ${task.id}`,
            typedSearchAttributes: input.searchAttributes
              ? [
                  { key: SA.runId, value: input.runId },
                  { key: SA.taskId, value: task.id },
                  { key: SA.job, value: 'run-task' },
                  { key: SA.strategy, value: input.settings.strategy },
                ]
              : undefined,
            args: [{ runId: input.runId, runDir: input.runDir, task, settings: input.settings }],
          })
      ).catch((e): TaskRunResult => ({ taskId: task.id, error: failureOf(e).message, rollouts: [] })),
    {
      onStart: (task) => running.add(task.id),
      onEnd: (task, result) => {
        running.delete(task.id);
        results.push(result);
      },
    },
  );

  await acts.removeRunContainers.executeWithOptions({ summary: 'remove leftover containers' }, [
    { runId: input.runId },
  ]);
  const report = await acts.writeRunReport.executeWithOptions(
    { summary: 'write results.json, results.md, preds.json' },
    [
      {
        runDir: input.runDir,
        runId: input.runId,
        taskIds: input.tasks.map((t) => t.id),
        errors: results.filter((r) => r.error).map((r) => ({ taskId: r.taskId, error: r.error! })),
      },
    ],
  );
  if (input.searchAttributes) upsertSearchAttributes([{ key: SA.status, value: 'completed' }]);
  return report;
}

export async function taskRun(input: TaskRunInput): Promise<TaskRunResult> {
  const { task, settings } = input;
  const { image, done } = await prepareTask(input.runDir, task);

  const ids = Array.from({ length: settings.n }, (_, i) => `r${i}`);
  const rollouts = await Promise.all(
    ids.map(
      (rolloutId) =>
        done.get(rolloutId) ??
        executeChild(rollout, {
          workflowId: `${input.runId}/${task.id}/${rolloutId}`,
          staticSummary: `rollout ${rolloutId} of ${task.id}`,
          args: [
            {
              runDir: input.runDir,
              runId: input.runId,
              task,
              rolloutId,
              image,
              limits: settings.limits,
              commandTimeoutSec: settings.commandTimeoutSec,
              wallTimeSec: settings.wallTimeSec ?? task.agentTimeoutSec,
              modelRetry: settings.modelRetry,
            },
          ],
        }),
    ),
  );
  return { taskId: task.id, rollouts };
}
