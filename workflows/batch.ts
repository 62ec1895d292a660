// Waiting for a Message Batch in workflow code: submit (an activity, idempotent by the batch's
// key), then durable timers between polls until the batch ends or the run's maximum wait has
// passed, then collect. A worker killed meanwhile costs nothing: the new one replays the history
// to the timer in flight and polls the same batch. Whatever the batch did not answer (errored,
// canceled, expired, or still pending at the maximum wait) is asked directly afterwards by the
// summary and vote activities themselves (activities/batch.ts).
import { patched, proxyActivities, sleep } from '@temporalio/workflow';
import type { ModelActivities } from '../activities';
import type { BatchJob } from '../activities/batch';
import type { BatchSettings, ModelRetry } from '../core/settings';
import { modelOptions } from './activityOptions';

/** Summaries and votes through batches (runs started before it never ask for them). */
export const MESSAGE_BATCHES = 'message-batches';

export async function answerInBatch(
  spec: { runDir: string; taskId: string; key: string; jobs: BatchJob[] },
  batch: BatchSettings | undefined,
  modelRetry: ModelRetry,
): Promise<void> {
  if (!batch || spec.jobs.length === 0 || !patched(MESSAGE_BATCHES)) return;
  const model = proxyActivities<ModelActivities>(modelOptions(modelRetry));
  const ref = { runDir: spec.runDir, taskId: spec.taskId, key: spec.key };
  const submitted = await model.submitBatch.executeWithOptions(
    { summary: `batch ${spec.key}: ${spec.jobs.length} requests` },
    [{ ...ref, jobs: spec.jobs }],
  );
  if (submitted.batchId === null) return;
  const deadline = Date.now() + batch.maxWaitSec * 1000; // workflow time: replays the same
  for (;;) {
    const status = await model.pollBatch.executeWithOptions({ summary: `poll batch ${spec.key}` }, [ref]);
    if (status.status === 'ended') break;
    if (Date.now() >= deadline) {
      // Past the wait a run may idle: what is pending is asked directly. Canceled entries end
      // soon; results are collected only if they are already there.
      await model.cancelBatch.executeWithOptions({ summary: `cancel batch ${spec.key} (waited too long)` }, [ref]);
      return;
    }
    await sleep(Math.min(batch.pollSec * 1000, Math.max(1, deadline - Date.now())));
  }
  await model.collectBatch.executeWithOptions({ summary: `collect batch ${spec.key}` }, [ref]);
}
