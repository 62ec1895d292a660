// The start every task workflow shares.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { TaskRef } from '../core/task';
import type { RolloutResult } from '../runtime/rollouts';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

/**
 * What every task workflow starts with: the image (built once per task), and the rollouts that
 * already have results (a continued run skips them).
 */
export async function prepareTask(
  runDir: string,
  task: TaskRef,
): Promise<{ image: string; done: Map<string, RolloutResult> }> {
  const { image } = await acts.prepareImage.executeWithOptions(
    { summary: `image for ${task.id}`, startToCloseTimeout: `${task.buildTimeoutSec + 60} seconds` },
    [{ runDir, taskId: task.id }],
  );
  const finished = await acts.finishedRollouts.executeWithOptions({ summary: 'rollouts finished earlier' }, [
    { runDir, taskId: task.id },
  ]);
  return { image, done: new Map(finished.map((r) => [r.rolloutId, r])) };
}
