// `regrade`: every stored rollout of a finished run evaluated again with today's grader, without a
// model call (activities/regrade.ts), then the run's report recomputed from the new verdicts with
// the stored brackets. Durable like a run: a verdict written is never made again, so a regrade
// that is resumed (a new workflow with the same id after a crash or a cancel) goes on from there.
import { CancellationScope, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { RecordActivities, SandboxActivities } from '../activities';
import type { RegradeSummary } from '../activities/regrade';
import { containerName, type TaskRef } from '../core/task';
import { recordOptions, sandboxOptions } from './activityOptions';
import { failureOf } from './failures';
import { slidingWindow } from './window';

export interface RegradeInput {
  runId: string;
  runDir: string;
  regradeId: string;
  /** The regrade's own folder: a run folder holding the tasks as read today. */
  regradeDir: string;
  /** The tasks as read today (their tests may have changed since the run). */
  tasks: TaskRef[];
  /** Rollouts evaluated at once (each holds a container). */
  concurrency: number;
}

const sandbox = proxyActivities<SandboxActivities>(sandboxOptions);
const record = proxyActivities<RecordActivities>(recordOptions);

export async function regradeRun(input: RegradeInput): Promise<RegradeSummary> {
  const jobId = workflowInfo().workflowId;
  const byId = new Map(input.tasks.map((t) => [t.id, t]));
  const plan = await record.regradePlan.executeWithOptions({ summary: 'rollouts to regrade' }, [
    { runDir: input.runDir, regradeId: input.regradeId },
  ]);
  const errors = new Map<string, string>();
  // Each task's image is built once, when its first rollout needs it.
  const images = new Map<string, Promise<string>>();
  const imageOf = (task: TaskRef) => {
    let image = images.get(task.id);
    if (!image) {
      image = sandbox.prepareImage
        .executeWithOptions(
          { summary: `image for ${task.id}`, startToCloseTimeout: `${task.buildTimeoutSec + 60} seconds` },
          [{ runDir: input.regradeDir, taskId: task.id }],
        )
        .then((p) => p.image);
      images.set(task.id, image);
    }
    return image;
  };
  const work = plan.flatMap((p) => p.rolloutIds.map((rolloutId) => ({ task: byId.get(p.taskId)!, rolloutId })));
  await slidingWindow(
    work,
    input.concurrency,
    async ({ task, rolloutId }) => {
      const ref = { runDir: input.runDir, runId: input.runId, regradeId: input.regradeId, taskId: task.id, rolloutId };
      const name = containerName(jobId, task.id, `${rolloutId}-regrade`, 1);
      const notRegraded = (error: string) =>
        record.recordRegradeError.executeWithOptions({ summary: `${rolloutId}: not regraded` }, [{ ...ref, error }]);
      let image: string;
      try {
        image = await imageOf(task);
      } catch (e) {
        // The task cannot run today: every rollout of it says so, and the report lists the task.
        const error = `the task's image: ${failureOf(e).message}`;
        errors.set(task.id, error);
        await notRegraded(error);
        return;
      }
      try {
        await sandbox.regradeRollout.executeWithOptions(
          {
            summary: `regrade ${task.id} ${rolloutId}`,
            startToCloseTimeout: `${task.verifierTimeoutSec + task.agentTimeoutSec + 600} seconds`,
          },
          [{ ...ref, jobId, image, name }],
        );
      } catch (e) {
        await notRegraded(failureOf(e).message);
      } finally {
        await CancellationScope.nonCancellable(() =>
          sandbox.removeSandbox.executeWithOptions({ summary: `remove ${name}` }, [{ name }]),
        );
      }
    },
    { onEnd: () => undefined },
  );
  return record.writeRegradeReport.executeWithOptions({ summary: 'report from the new verdicts' }, [
    {
      runDir: input.runDir,
      runId: input.runId,
      regradeId: input.regradeId,
      errors: [...errors].map(([taskId, error]) => ({ taskId, error })),
    },
  ]);
}
