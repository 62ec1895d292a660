// The start every task workflow shares.
import { proxyActivities } from '@temporalio/workflow';
import type { RecordActivities, SandboxActivities } from '../activities';
import type { RolloutResult } from '../core/rollout';
import type { TaskRef } from '../core/task';
import { recordOptions, sandboxOptions } from './activityOptions';

const sandbox = proxyActivities<SandboxActivities>(sandboxOptions);
const record = proxyActivities<RecordActivities>(recordOptions);

/**
 * What every task workflow starts with: the image (built once per task), and the rollouts that
 * already have results (a continued run skips them).
 */
export async function prepareTask(
  runDir: string,
  task: TaskRef,
): Promise<{ image: string; done: Map<string, RolloutResult> }> {
  const { image } = await sandbox.prepareImage.executeWithOptions(
    { summary: `image for ${task.id}`, startToCloseTimeout: `${task.buildTimeoutSec + 60} seconds` },
    [{ runDir, taskId: task.id }],
  );
  const finished = await record.finishedRollouts.executeWithOptions({ summary: 'rollouts finished earlier' }, [
    { runDir, taskId: task.id },
  ]);
  return { image, done: new Map(finished.map((r) => [r.rolloutId, r])) };
}
