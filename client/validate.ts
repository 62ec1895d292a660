// `agentscale validate`: load and check the datasets before anything starts, store them in the
// run folder, start (or attach to) the dataset workflow, show progress, print the table.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Config } from '../core/config';
import { SA } from '../core/searchAttributes';
import { taskRef, type Task } from '../core/task';
import { loadDatasets, type TaskSelection } from '../datasets';
import { dataPaths } from '../runtime/config';
import { readJson, runPaths, storeDataset } from '../runtime/artifacts';
import type { ServerHandle } from '../runtime/temporal';
import { progressQuery, validateDataset, type ValidationResult } from '../workflows/validate';
import { awaitResult, newRunId, startOrAttach, withClient, workflowStatus, workflowUrl } from './job';

export interface ValidateOptions extends TaskSelection {
  runId?: string;
  concurrency?: number;
  worker?: boolean;
  json?: boolean;
}

/** Starts the run, or attaches to it when a run with this id is running. */
export async function startValidation(
  config: Config,
  server: ServerHandle,
  client: Client,
  tasks: Task[] | undefined,
  runId: string,
  concurrency?: number,
) {
  const runDir = path.join(dataPaths(config).runs, runId);
  if (tasks) storeDataset(runDir, tasks);
  return startOrAttach(
    () =>
      client.workflow.start(validateDataset, {
        workflowId: runId,
        taskQueue: config.temporal.taskQueue,
        args: [
          {
            runId,
            runDir,
            tasks: (tasks ?? []).map(taskRef),
            concurrency: concurrency ?? config.validate.concurrency,
            searchAttributes: server.searchAttributes,
          },
        ],
        staticSummary: `validate ${tasks?.length ?? 0} tasks`,
        typedSearchAttributes: server.searchAttributes
          ? [
              { key: SA.runId, value: runId },
              { key: SA.job, value: 'validate' },
              { key: SA.status, value: 'running' },
            ]
          : undefined,
      }),
    client,
    runId,
  );
}

export function validateCommand(config: Config, datasets: string[], opts: ValidateOptions): Promise<number> {
  return withClient(config, async (server, client) => {
    const runId = opts.runId ?? newRunId('validate');
    // An existing run is attached to as it is; a new one checks every task before starting.
    const existing = (await workflowStatus(client, runId)) !== undefined;
    const tasks = existing ? undefined : await loadDatasets(datasets, opts);
    const handle = await startValidation(config, server, client, tasks, runId, opts.concurrency);
    const url = workflowUrl(server, runId);
    const count = tasks ? ` (${tasks.length} task${tasks.length === 1 ? '' : 's'})` : '';
    console.error(`${existing ? 'attached to' : 'started'} run ${runId}${count}${url ? `\n  ${url}` : ''}`);

    const result = await awaitResult<ValidationResult>(config, server, handle, {
      worker: opts.worker,
      progress: async () => {
        const p = await handle.query(progressQuery);
        const running = p.running.length
          ? `; running ${p.running.slice(0, 4).join(', ')}${p.running.length > 4 ? ', ...' : ''}`
          : '';
        return `${p.done}/${p.total} done: ${p.valid} valid, ${p.invalid} invalid, ${p.error} errors${running}`;
      },
    });
    if (!result) {
      console.error(
        `interrupted; run ${runId} waits for a worker. Resume it with: agentscale validate --run-id ${runId} ${datasets.join(' ')}`,
      );
      return 130;
    }
    const runDir = path.join(dataPaths(config).runs, runId);
    if (opts.json) {
      console.log(
        JSON.stringify(existsSync(runPaths(runDir).results) ? readJson(runPaths(runDir).results) : result, null, 2),
      );
    } else {
      console.log(result.table);
      const s = result.summary;
      console.log(`\n${s.valid}/${s.total} valid, ${s.invalid} invalid, ${s.error} errors`);
      console.log(`results: ${runPaths(runDir).table}${url ? `\nrun:     ${url}` : ''}`);
    }
    return 0;
  });
}
