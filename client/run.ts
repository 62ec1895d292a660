// `agentscale run`: rollouts of an agent on every task, evaluated with the hidden tests. The same
// command with the same --run-id continues the run: a running run is attached to, a finished one
// is reported, and one that failed or was terminated starts again, skipping finished rollouts.
import { existsSync } from 'node:fs';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { budgetProblem } from '../core/budget';
import type { Config } from '../core/config';
import { scalingProblems, SettingsError } from '../core/input';
import { renderRunReport, type RunReport } from '../core/report';
import { SA } from '../core/searchAttributes';
import {
  agentFor,
  batchProblems,
  describeAgents,
  describeSettings,
  runSettings,
  type RunSettings,
  type SettingsOptions,
} from '../core/settings';
import { taskRef, type Task } from '../core/task';
import type { TaskSelection } from '../datasets';
import { loadRunDataset, readJson, writeJson } from '../runtime/artifacts';
import { setAsideErrored } from '../runtime/rollouts';
import { rejectedVerdict } from '../core/validation';
import { writeRunRecord } from '../runtime/runRecord';
import { runDirOf, runFolder } from '../runtime/runFolder';
import type { ServerHandle } from '../runtime/temporal';
import { benchmarkRun } from '../workflows/run';
import { assertKind, progressLine, progressOf, UsageError } from './control';
import { EXIT } from './exitCodes';
import { awaitResult, detached, newRunId, startOrAttach, withClient, workflowUrl } from './job';
import { printJson } from './output';
import { loadForValidation } from './validate';
import { assertImagesReady, assertModelAnswers } from './preflight';
import { tmuxBundle } from '../runtime/tmux';

export interface RunOptions extends SettingsOptions, TaskSelection {
  runId?: string;
  /** Refuse the whole dataset when a task is unsupported or malformed. */
  strict?: boolean;
  timeoutMultiplier?: number;
  worker?: boolean;
  json?: boolean;
  /** Start and return: print the run id and UI link; workers elsewhere do the work. */
  detach?: boolean;
  /** Do not build the task images before the start (workers elsewhere build them). */
  skipImageCheck?: boolean;
  /** A stopped or finished run: run again the rollouts that ended in ModelError or SandboxError. */
  retryErrors?: boolean;
}

/** Set by scripts/quickstart.sh when it runs against the bundled scripted model (no API key). */
export const SCRIPTED_MODEL_NOTE = process.env.AGENTSCALE_SCRIPTED_MODEL
  ? "NOTE: no ANTHROPIC_API_KEY, so this run talks to the bundled scripted local model (scripted-model/), not to Claude: its numbers show the pipeline working, not a model's ability."
  : undefined;

export interface StartRunInput {
  runId: string;
  tasks: Task[];
  settings: RunSettings;
  /** Where the tasks came from, for run.json. */
  datasets?: string[];
  note?: string;
  /** The tasks and settings were read back from the run folder: nothing to store. */
  resumed?: boolean;
}

/**
 * Starts a benchmark run, or attaches to the running one with this id: the one way every caller
 * (the CLI, the tests, the benchmarks) starts a run. The tasks and settings go to the run folder
 * first (dataset.json, run.json), where the workers read them.
 */
export async function startRun(
  config: Config,
  server: ServerHandle,
  client: Client,
  input: StartRunInput,
): Promise<{ runDir: string; handle: WorkflowHandle<typeof benchmarkRun> }> {
  const { runId, tasks, settings } = input;
  const runDir = runDirOf(config, runId);
  if (!input.resumed) writeRunRecord(config, runDir, input);
  const handle = await startOrAttach(
    () =>
      client.workflow.start(benchmarkRun, {
        workflowId: runId,
        taskQueue: config.temporal.taskQueue,
        args: [{ runId, runDir, tasks: tasks.map(taskRef), settings, searchAttributes: server.searchAttributes }],
        staticSummary: `${describeSettings(settings)} on ${tasks.length} tasks (${config.model.name})`,
        typedSearchAttributes: server.searchAttributes
          ? [
              { key: SA.runId, value: runId },
              { key: SA.job, value: 'run' },
              { key: SA.status, value: 'running' },
              { key: SA.strategy, value: settings.strategy },
              { key: SA.model, value: config.model.name },
            ]
          : undefined,
      }),
    client,
    runId,
  );
  return { runDir, handle: handle as WorkflowHandle<typeof benchmarkRun> };
}

/**
 * A finished run's exit status: problems when a task could not run or a rollout could not
 * finish, or a cost cap left rollouts unstarted (the run is incomplete).
 */
export function runExitCode(report: RunReport, skipped = false): number {
  const broken = report.perTask.some(
    (t) => t.error || t.evalErrors || t.exitStatuses.ModelError || t.exitStatuses.SandboxError,
  );
  return broken || skipped || !!report.budget?.stops.length ? EXIT.problems : EXIT.ok;
}

/** The tasks a continued run was started with must be the ones asked for now. */
async function assertSameDataset(
  config: Config,
  stored: Task[],
  datasets: string[],
  selection: Pick<RunOptions, 'instances' | 'filter' | 'strict'>,
  runId: string,
): Promise<void> {
  if (!datasets.length) return;
  // As the run loaded them: a partial dataset's skipped tasks are not among the stored ones.
  const asked = (await loadForValidation(config, datasets, selection)).tasks.map((t) => t.id).sort();
  const had = stored.map((t) => t.id).sort();
  if (asked.join('\n') !== had.join('\n')) {
    throw new UsageError(
      `run ${runId} was started on another dataset (${had.length} tasks; these datasets hold ${asked.length}, ` +
        `${asked.filter((id) => !had.includes(id)).length} of them new); continue it without datasets, or choose another --run-id`,
    );
  }
}

export function runCommand(config: Config, datasets: string[], opts: RunOptions): Promise<number> {
  // Before anything starts: settings that contradict each other.
  const asked = runSettings(config, opts);
  const problems = [...scalingProblems(asked.scaling), ...batchProblems(config, asked)];
  const unpriced = budgetProblem(asked.budget, config.model.name, config.model.prices);
  if (unpriced) problems.push(unpriced);
  if (problems.length) return Promise.reject(new SettingsError(problems.join('\n')));
  if (SCRIPTED_MODEL_NOTE) console.error(SCRIPTED_MODEL_NOTE);
  return withClient(config, async (server, client) => {
    const runId = opts.runId ?? newRunId('run');
    const folder = runFolder(runDirOf(config, runId));
    const url = workflowUrl(server, runId);
    let status = await assertKind(client, runId, 'run');

    const print = (report: RunReport) => {
      if (opts.json) printJson(readJson(folder.results));
      else
        console.log(
          `${renderRunReport(report)}\n\nresults: ${folder.table}\nreport:  ${folder.html}\npreds:   ${folder.preds}${url ? `\nrun:     ${url}` : ''}`,
        );
      return runExitCode(report, existsSync(folder.rejected));
    };
    if (opts.retryErrors) {
      if (status === undefined || !existsSync(folder.dataset))
        throw new UsageError(`--retry-errors continues an earlier run: no run ${runId} to continue`);
      if (status === 'RUNNING')
        throw new UsageError(`run ${runId} is still running; --retry-errors applies once it has stopped or finished`);
      const moved = setAsideErrored(
        folder.root,
        loadRunDataset(folder.root).map((t) => t.id),
      );
      for (const m of moved) console.error(`retrying ${m.taskId}/${m.rolloutId} (ended in ${m.exitStatus})`);
      if (moved.length === 0) console.error(`run ${runId}: no rollout ended in ModelError or SandboxError`);
      else {
        console.error(`${moved.length} rollout${moved.length === 1 ? '' : 's'} set aside under tasks/<task>/retried/`);
        status = 'TERMINATED'; // continued like a stopped run, even when it had finished
      }
    }
    if (status === 'COMPLETED') {
      // Reported as it is, unchanged.
      console.error(`run ${runId} has finished; its results:`);
      return print(readJson<RunReport>(folder.results));
    }

    // A run that stopped (failed, terminated) continues with the tasks and settings it started with.
    const resumed = status !== undefined && existsSync(folder.dataset) && existsSync(folder.run);
    // A partial dataset runs the tasks it can; the others are listed in the report (--strict refuses it).
    const loaded = resumed ? undefined : await loadForValidation(config, datasets, opts);
    const tasks = loaded ? loaded.tasks : loadRunDataset(folder.root);
    for (const r of loaded?.rejected ?? []) console.error(`not run: ${r.id} (${r.kind}): ${r.reasons.join('; ')}`);
    if (loaded?.rejected.length) writeJson(folder.rejected, loaded.rejected.map(rejectedVerdict));
    if (resumed) await assertSameDataset(config, tasks, datasets, opts, runId);
    // Fail early, before anything starts: the model answers with this key, every image is ready.
    if (status !== 'RUNNING') {
      await assertModelAnswers(config);
      if (!opts.skipImageCheck) {
        const { built } = await assertImagesReady(config, tasks);
        console.error(
          `checked: model ${config.model.name} answers; ${tasks.length} task image${tasks.length === 1 ? '' : 's'} ready${built ? ` (${built} built)` : ''}`,
        );
      }
    }
    const settings = resumed ? readJson<{ settings: RunSettings }>(folder.run).settings : runSettings(config, opts);
    if (tasks.some((t) => agentFor(settings, t.format) === 'terminal') && !tmuxBundle(config))
      console.error(
        'warning: the terminal agent runs tmux, and no tmux bundle is on this machine (scripts/setup.sh makes it): ' +
          'its rollouts on images without tmux will end in SandboxError here (or pass --agent bash)',
      );
    const { handle } = await startRun(config, server, client, {
      runId,
      tasks,
      settings,
      datasets,
      note: SCRIPTED_MODEL_NOTE,
      resumed,
    });
    const verb = status === 'RUNNING' ? 'attached to' : status ? `continuing (${status.toLowerCase()})` : 'started';
    console.error(
      `${verb} run ${runId}: ${describeSettings(settings)} on ${tasks.length} task${tasks.length === 1 ? '' : 's'}, ${describeAgents(
        settings,
        tasks.map((t) => t.format),
      )}, model ${config.model.name}${url ? `\n  ${url}` : ''}`,
    );
    if (opts.detach) return detached(config, server, client, runId);

    const report = await awaitResult<RunReport>(config, server, handle, {
      worker: opts.worker,
      progress: async () => progressLine(await progressOf(client, server, runId, folder.root)),
    });
    if (!report) {
      console.error(
        `interrupted; run ${runId} goes on with any worker. Follow it with: agentscale watch ${runId}; continue it here with: agentscale run --run-id ${runId}`,
      );
      return EXIT.interrupted;
    }
    return print(report);
  });
}
