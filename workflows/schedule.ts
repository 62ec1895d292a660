// A run started by a schedule (`agentscale schedule create`): the run folder is made from what
// the schedule froze, the run itself is benchmarkRun's, and its report ends with a comparison
// against the schedule's previous run. The run id is the workflow id the schedule gave it.
import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { RecordActivities } from '../activities';
import type { RunComparison } from '../core/compare';
import type { RunReport } from '../core/report';
import { SA } from '../core/searchAttributes';
import type { RunSettings } from '../core/settings';
import { recordOptions } from './activityOptions';
import { benchmarkRun } from './run';

export interface ScheduledRunInput {
  scheduleId: string;
  settings: RunSettings;
  /** The data folder's runs/ on the machines that share it; run folders go below it. */
  runsDir: string;
  searchAttributes: boolean;
}

const record = proxyActivities<RecordActivities>(recordOptions);

export async function scheduledRun(input: ScheduledRunInput): Promise<RunReport & { comparison?: RunComparison }> {
  const runId = workflowInfo().workflowId;
  const runDir = `${input.runsDir}/${runId}`;
  const { tasks, earlier } = await record.startScheduledRun.executeWithOptions(
    { summary: `run folder from schedule ${input.scheduleId}` },
    [{ scheduleId: input.scheduleId, runId, runDir }],
  );
  if (input.searchAttributes) {
    upsertSearchAttributes([
      { key: SA.runId, value: runId },
      { key: SA.job, value: 'run' },
      { key: SA.status, value: 'running' },
      { key: SA.strategy, value: input.settings.strategy },
    ]);
  }
  const report = await benchmarkRun({
    runId,
    runDir,
    tasks,
    settings: input.settings,
    searchAttributes: input.searchAttributes,
  });
  if (!earlier.length) return report;
  const comparison = await record.compareWithPrevious.executeWithOptions(
    { summary: 'compare with the previous run of the schedule' },
    [{ runDir, earlier }],
  );
  return { ...report, ...(comparison ? { comparison } : {}) };
}
