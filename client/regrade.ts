// `agentscale regrade RUN [DATASETS...]`: a finished run's rollouts evaluated again with today's
// grader (this version's harness semantics, and the tasks' tests as read now: from DATASETS when
// given, else as stored with the run), without a model call; the new verdicts and the report
// recomputed from them go to <run>/regrades/<id>/.
import { existsSync } from 'node:fs';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { RegradeSummary } from '../activities/regrade';
import type { Config } from '../core/config';
import { renderVerdictChanges } from '../core/regrade';
import { taskRef, type Task } from '../core/task';
import { loadDatasets } from '../datasets';
import { loadRunDataset, readTextIfExists, storeDataset } from '../runtime/artifacts';
import { regradeFolder, runDirOf, runFolder } from '../runtime/runFolder';
import type { ServerHandle } from '../runtime/temporal';
import { regradeRun } from '../workflows/regrade';
import { UsageError } from './control';
import { EXIT } from './exitCodes';
import { awaitResult, newRunId, startOrAttach, withClient, workflowUrl } from './job';
import { printJson } from './output';

export interface RegradeOptions {
  regradeId?: string;
  concurrency?: number;
  worker?: boolean;
  json?: boolean;
}

/** The regrade's workflow id: under its run, so the UI lists them together. */
export const regradeWorkflowId = (runId: string, regradeId: string) => `${runId}/${regradeId}`;

/**
 * The tasks a regrade grades with: the run's own, or the same ids read again from `datasets`.
 * A resumed regrade keeps the tasks it started with.
 */
async function regradeTasks(runDir: string, regradeDir: string, datasets: string[]): Promise<Task[]> {
  if (existsSync(runFolder(regradeDir).dataset)) return loadRunDataset(regradeDir);
  const stored = loadRunDataset(runDir);
  if (!datasets.length) return stored;
  const today = new Map((await loadDatasets(datasets)).map((t) => [t.id, t]));
  const missing = stored.filter((t) => !today.has(t.id)).map((t) => t.id);
  if (missing.length) throw new UsageError(`the datasets given lack task(s) of the run: ${missing.join(', ')}`);
  return stored.map((t) => today.get(t.id)!);
}

/** Starts a regrade of a finished run, or attaches to the running one with this id. */
export async function startRegrade(
  config: Config,
  client: Client,
  input: { runId: string; regradeId: string; datasets?: string[]; concurrency?: number },
): Promise<WorkflowHandle<typeof regradeRun>> {
  const runDir = runDirOf(config, input.runId);
  const folder = runFolder(runDir);
  if (!existsSync(folder.results)) {
    throw new UsageError(`run ${input.runId} has no report (${folder.results}): only a finished run can be regraded`);
  }
  const regradeDir = regradeFolder(runDir, input.regradeId).root;
  const tasks = await regradeTasks(runDir, regradeDir, input.datasets ?? []);
  storeDataset(regradeDir, tasks);
  const workflowId = regradeWorkflowId(input.runId, input.regradeId);
  return (await startOrAttach(
    () =>
      client.workflow.start(regradeRun, {
        workflowId,
        taskQueue: config.temporal.taskQueue,
        args: [
          {
            runId: input.runId,
            runDir,
            regradeId: input.regradeId,
            regradeDir,
            tasks: tasks.map(taskRef),
            concurrency: input.concurrency ?? config.validate.concurrency,
          },
        ],
        staticSummary: `regrade of ${input.runId}: every rollout evaluated again, no model call`,
      }),
    client,
    workflowId,
  )) as WorkflowHandle<typeof regradeRun>;
}

export function regradeCommand(config: Config, runId: string, datasets: string[], opts: RegradeOptions) {
  const regradeId = opts.regradeId ?? newRunId('regrade');
  return withClient(config, async (server: ServerHandle, client) => {
    const handle = await startRegrade(config, client, { runId, regradeId, datasets, concurrency: opts.concurrency });
    const url = workflowUrl(server, handle.workflowId);
    console.error(`regrade ${regradeId} of run ${runId}: no model calls${url ? `\n  ${url}` : ''}`);
    const summary = await awaitResult<RegradeSummary>(config, server, handle, {
      worker: opts.worker,
      progress: async () => 'regrading...',
    });
    if (!summary) return 130;
    const folder = regradeFolder(runDirOf(config, runId), regradeId);
    if (opts.json)
      printJson({ regradeId, rollouts: summary.rollouts, changes: summary.changes, report: summary.report });
    else {
      const table = readTextIfExists(folder.table) ?? '';
      const at = table.indexOf('## Regraded');
      console.log(at >= 0 ? table.slice(at).trimEnd() : renderVerdictChanges(summary.changes, []));
      console.log(`\nresults: ${folder.table}`);
    }
    return EXIT.ok;
  });
}
