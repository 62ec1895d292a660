// `agentscale validate`: load and check the datasets before anything starts, store them in the
// run folder, start (or attach to) the dataset workflow, show progress, print the table.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Config } from '../core/config';
import { SA } from '../core/searchAttributes';
import { applyTimeoutMultipliers } from '../core/harbor';
import { taskRef, type RejectedTask, type Task } from '../core/task';
import { rejectedVerdict, summaryLine } from '../core/validation';
import { loadDatasets, loadPartialDatasets } from '../datasets';
import { dataPaths } from '../runtime/config';
import { readJson, runPaths, storeDataset, writeJson } from '../runtime/artifacts';
import type { ServerHandle } from '../runtime/temporal';
import { progressQuery, validateDataset, type ValidationResult } from '../workflows/validate';
import { awaitResult, newRunId, startOrAttach, withClient, workflowStatus, workflowUrl } from './job';

export interface ValidateOptions {
  runId?: string;
  concurrency?: number;
  worker?: boolean;
  json?: boolean;
  /** Refuse the whole dataset when a task is unsupported or malformed (the old behaviour). */
  strict?: boolean;
  timeoutMultiplier?: number;
}

/** Exit status when some tasks of a partial dataset were not run (unsupported or malformed). */
export const EXIT_TASKS_SKIPPED = 3;

/**
 * The tasks to validate and the ones a partial dataset skips, with the timeouts scaled by the
 * config's (or the option's) multipliers as Harbor scales them.
 */
export async function loadForValidation(
  config: Config,
  datasets: string[],
  opts: Pick<ValidateOptions, 'strict' | 'timeoutMultiplier'> = {},
): Promise<{ tasks: Task[]; rejected: RejectedTask[] }> {
  const c = config.timeouts;
  const m = {
    multiplier: opts.timeoutMultiplier ?? c.multiplier,
    agent: c.agentMultiplier,
    verifier: c.verifierMultiplier,
    build: c.buildMultiplier,
  };
  const scale = (t: Task) => applyTimeoutMultipliers(t, m);
  if (opts.strict) return { tasks: (await loadDatasets(datasets)).map(scale), rejected: [] };
  const { tasks, rejected } = await loadPartialDatasets(datasets);
  return { tasks: tasks.map(scale), rejected };
}

/** Starts the run, or attaches to it when a run with this id is running. */
export async function startValidation(
  config: Config,
  server: ServerHandle,
  client: Client,
  tasks: Task[] | undefined,
  runId: string,
  concurrency?: number,
  rejected: RejectedTask[] = [],
) {
  const runDir = path.join(dataPaths(config).runs, runId);
  if (tasks) storeDataset(runDir, tasks);
  if (tasks && rejected.length) writeJson(runPaths(runDir).rejected, rejected.map(rejectedVerdict));
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
    const loaded = existing ? undefined : await loadForValidation(config, datasets, opts);
    const tasks = loaded?.tasks;
    const rejected = loaded?.rejected ?? [];
    for (const r of rejected) console.error(`not run: ${r.id} (${r.kind}): ${r.reasons.join('; ')}`);
    const handle = await startValidation(config, server, client, tasks, runId, opts.concurrency, rejected);
    const url = workflowUrl(server, runId);
    const count = tasks
      ? ` (${tasks.length} task${tasks.length === 1 ? '' : 's'}${rejected.length ? `; ${rejected.length} not run` : ''})`
      : '';
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
      console.log(`\n${summaryLine(result.summary)}`);
      console.log(`results: ${runPaths(runDir).table}${url ? `\nrun:     ${url}` : ''}`);
    }
    return result.summary.skipped ? EXIT_TASKS_SKIPPED : 0;
  });
}
