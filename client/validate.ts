// `agentscale validate`: load and check the datasets before anything starts, store them in the
// run folder, start (or attach to) the dataset workflow, show progress, print the table.
import { existsSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import type { Config } from '../core/config';
import { SA } from '../core/searchAttributes';
import { taskRef, type RejectedTask, type Task } from '../core/task';
import { loadDatasets, loadPartialDatasets, type TaskSelection } from '../datasets';
import { loadRunDataset, readJson, storeDataset, writeJson } from '../runtime/artifacts';
import { applyTimeoutMultipliers } from '../core/harbor';
import { rejectedVerdict, renderTable, summaryLine } from '../core/validation';
import { runDirOf, runFolder } from '../runtime/runFolder';
import type { ServerHandle } from '../runtime/temporal';
import { validateDataset, type ValidationResult } from '../workflows/validate';
import { assertKind, progressLine, progressOf } from './control';
import { EXIT } from './exitCodes';
import { awaitResult, detached, newRunId, startOrAttach, withClient, workflowUrl } from './job';
import { printJson } from './output';

export interface ValidateOptions extends TaskSelection {
  runId?: string;
  /** Refuse the whole dataset when a task is unsupported or malformed (the old behaviour). */
  strict?: boolean;
  timeoutMultiplier?: number;
  detach?: boolean;
  concurrency?: number;
  worker?: boolean;
  json?: boolean;
}

/**
 * The tasks to validate (or run) and the ones a partial dataset skips (unsupported or malformed),
 * with the timeouts scaled by the config's (or the option's) multipliers as Harbor scales them.
 */
export async function loadForValidation(
  config: Config,
  datasets: string[],
  opts: Pick<ValidateOptions, 'strict' | 'timeoutMultiplier' | 'instances' | 'filter'> = {},
): Promise<{ tasks: Task[]; rejected: RejectedTask[] }> {
  const c = config.timeouts;
  const m = {
    multiplier: opts.timeoutMultiplier ?? c.multiplier,
    agent: c.agentMultiplier,
    verifier: c.verifierMultiplier,
    build: c.buildMultiplier,
  };
  const scale = (t: Task) => applyTimeoutMultipliers(t, m);
  if (opts.strict) return { tasks: (await loadDatasets(datasets, opts)).map(scale), rejected: [] };
  const { tasks, rejected } = await loadPartialDatasets(datasets, opts);
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
  const runDir = runDirOf(config, runId);
  if (tasks) storeDataset(runDir, tasks);
  // A partial dataset's skipped tasks: listed in the results, never run.
  if (tasks && rejected.length) writeJson(runFolder(runDir).rejected, rejected.map(rejectedVerdict));
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

/** invalid or erroring tasks make a validation's exit status `problems`. */
const validationExitCode = (s: ValidationResult['summary']) =>
  s.invalid || s.error || s.skipped ? EXIT.problems : EXIT.ok;

export function validateCommand(config: Config, datasets: string[], opts: ValidateOptions): Promise<number> {
  return withClient(config, async (server, client) => {
    const runId = opts.runId ?? newRunId('validate');
    const folder = runFolder(runDirOf(config, runId));
    const url = workflowUrl(server, runId);
    const status = await assertKind(client, runId, 'validate');
    const print = (result: Pick<ValidationResult, 'summary' | 'table'>) => {
      if (opts.json) printJson(existsSync(folder.results) ? readJson(folder.results) : result);
      else {
        console.log(result.table);
        const s = result.summary;
        console.log(`\n${summaryLine(s)}`);
        console.log(`results: ${folder.table}${url ? `\nrun:     ${url}` : ''}`);
      }
      return validationExitCode(result.summary);
    };
    if (status === 'COMPLETED') {
      // Reported as it is: a finished run is never started again.
      console.error(`run ${runId} has finished; its results:`);
      const stored = readJson<{ summary: ValidationResult['summary']; verdicts: ValidationResult['verdicts'] }>(
        folder.results,
      );
      return print({ summary: stored.summary, table: renderTable(stored.verdicts) });
    }
    // Running: attached to as it is. Stopped (failed, terminated, cancelled): started again on the
    // tasks it began with. New: every task checked before anything starts.
    const loaded = status ? undefined : await loadForValidation(config, datasets, opts);
    const tasks = status === 'RUNNING' ? undefined : status ? loadRunDataset(folder.root) : loaded!.tasks;
    const rejected = loaded?.rejected ?? [];
    for (const r of rejected) console.error(`not run: ${r.id} (${r.kind}): ${r.reasons.join('; ')}`);
    const handle = await startValidation(config, server, client, tasks, runId, opts.concurrency, rejected);
    const count = tasks
      ? ` (${tasks.length} task${tasks.length === 1 ? '' : 's'}${rejected.length ? `; ${rejected.length} not run` : ''})`
      : '';
    const verb = status === 'RUNNING' ? 'attached to' : status ? `restarted (${status.toLowerCase()})` : 'started';
    console.error(`${verb} run ${runId}${count}${url ? `\n  ${url}` : ''}`);
    if (opts.detach) return detached(config, server, client, runId);

    const result = await awaitResult<ValidationResult>(config, server, handle, {
      worker: opts.worker,
      progress: async () => progressLine(await progressOf(client, server, runId, folder.root)),
    });
    if (!result) {
      console.error(
        `interrupted; run ${runId} goes on with any worker. Follow it with: agentscale watch ${runId}; attach here with: agentscale validate --run-id ${runId}`,
      );
      return EXIT.interrupted;
    }
    return print(result);
  });
}
