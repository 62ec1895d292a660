// `agentscale run`: rollouts of an agent on every task, evaluated with the hidden tests. The same
// command with the same --run-id continues the run: a running run is attached to, a finished one
// is reported, and one that failed or was terminated starts again, skipping finished rollouts.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config';
import { renderRunReport, type RunReport } from '../core/report';
import { SA } from '../core/searchAttributes';
import { taskRef, TaskSchema, type Task } from '../core/task';
import { rejectedVerdict } from '../core/validation';
import { readJson, runPaths, storeDataset, writeJson } from '../runtime/artifacts';
import { dataPaths } from '../runtime/config';
import { benchmarkRun, runProgressQuery, type RunSettings } from '../workflows/run';
import type { ScalingSettings } from '../workflows/scaling';
import { awaitResult, newRunId, startOrAttach, withClient, workflowStatus, workflowUrl } from './job';
import { EXIT_TASKS_SKIPPED, loadForValidation } from './validate';

export interface RunOptions {
  runId?: string;
  strategy: 'sample' | 'rtv' | 'pdr';
  n?: number;
  iterations?: number;
  k?: number;
  groupSize?: number;
  votes?: number;
  context?: ScalingSettings['context'];
  judgeInput?: ScalingSettings['judgeInput'];
  seed?: number;
  concurrency?: number;
  worker?: boolean;
  json?: boolean;
  strict?: boolean;
  timeoutMultiplier?: number;
}

type SettingsOptions = Omit<RunOptions, 'runId' | 'worker' | 'json' | 'strict' | 'timeoutMultiplier'>;

/** The method's parameters: config.scaling (the paper's defaults), then the command's flags. */
function scalingSettings(config: Config, opts: SettingsOptions): ScalingSettings | undefined {
  if (opts.strategy === 'sample') return undefined;
  const c = config.scaling;
  return {
    strategy: opts.strategy,
    n: opts.n ?? c.n,
    // RTV alone is one iteration: N rollouts, then the tournament to one.
    iterations: opts.strategy === 'rtv' ? 1 : (opts.iterations ?? c.iterations),
    k: opts.context === 'own' ? 1 : (opts.k ?? c.k),
    groupSize: opts.groupSize ?? c.groupSize,
    votes: opts.votes ?? c.votes,
    context: opts.context ?? c.context,
    judgeInput: opts.judgeInput ?? c.judgeInput,
    seed: opts.seed ?? c.seed,
  };
}

export function runSettings(config: Config, opts: SettingsOptions): RunSettings {
  const scaling = scalingSettings(config, opts);
  return {
    strategy: opts.strategy,
    scaling,
    n: scaling?.n ?? opts.n ?? config.run.n,
    taskConcurrency: opts.concurrency ?? config.run.taskConcurrency,
    limits: {
      stepLimit: config.agent.stepLimit,
      costLimitUsd: config.agent.costLimitUsd,
      formatErrorLimit: config.agent.formatErrorLimit,
    },
    commandTimeoutSec: config.agent.commandTimeoutSec,
    wallTimeSec: config.agent.wallTimeSec,
    modelRetry: {
      maxAttempts: config.run.modelMaxAttempts,
      initialIntervalSec: config.run.modelRetryInitialSec,
      maxIntervalSec: config.run.modelRetryMaxSec,
    },
  };
}

/** One line naming the strategy and its parameters, for the UI and the first output line. */
export function describe(s: RunSettings): string {
  const m = s.scaling;
  if (!m) return `sample x${s.n}`;
  return `${m.strategy} N=${m.n} T=${m.iterations}${m.iterations > 1 ? ` K=${m.k} context=${m.context}` : ''} G=${m.groupSize} V=${m.votes} judge=${m.judgeInput} seed=${m.seed}`;
}

/** Set by scripts/quickstart.sh when it runs against the bundled scripted model (no API key). */
export const SCRIPTED_MODEL_NOTE = process.env.AGENTSCALE_SCRIPTED_MODEL
  ? "NOTE: no ANTHROPIC_API_KEY, so this run talks to the bundled scripted local model (tests/doubles), not to Claude: its numbers show the pipeline working, not a model's ability."
  : undefined;

export function runCommand(config: Config, datasets: string[], opts: RunOptions): Promise<number> {
  if (SCRIPTED_MODEL_NOTE) console.error(SCRIPTED_MODEL_NOTE);
  return withClient(config, async (server, client) => {
    const runId = opts.runId ?? newRunId('run');
    const runDir = path.join(dataPaths(config).runs, runId);
    const paths = runPaths(runDir);
    const url = workflowUrl(server, runId);
    const status = await workflowStatus(client, runId);

    const print = (report: RunReport) => {
      if (opts.json) console.log(JSON.stringify(readJson(paths.results), null, 2));
      else
        console.log(
          `${renderRunReport(report)}\n\nresults: ${paths.table}\npreds:   ${path.join(runDir, 'preds.json')}${url ? `\nrun:     ${url}` : ''}`,
        );
    };
    if (status === 'COMPLETED') {
      console.error(`run ${runId} has finished; its results:`);
      print(await client.workflow.getHandle(runId).result());
      return 0;
    }

    // A run that stopped (failed, terminated) continues with the tasks and settings it started with.
    let tasks: Task[];
    let settings: RunSettings;
    if (status !== undefined && existsSync(paths.dataset) && existsSync(paths.run)) {
      tasks = readJson<unknown[]>(paths.dataset).map((t) => TaskSchema.parse(t));
      settings = readJson<{ settings: RunSettings }>(paths.run).settings;
    } else {
      // A partial dataset runs the tasks it can; the others are listed in the report (--strict refuses it).
      const loaded = await loadForValidation(config, datasets, opts);
      tasks = loaded.tasks;
      settings = runSettings(config, opts);
      storeDataset(runDir, tasks);
      for (const r of loaded.rejected) console.error(`not run: ${r.id} (${r.kind}): ${r.reasons.join('; ')}`);
      if (loaded.rejected.length) writeJson(paths.rejected, loaded.rejected.map(rejectedVerdict));
      writeJson(paths.run, {
        runId,
        strategy: settings.strategy,
        model: config.model.name,
        provider: config.model.provider,
        note: SCRIPTED_MODEL_NOTE,
        settings,
        agent: config.agent,
        datasets: datasets.map((d) => path.resolve(d)),
        createdAt: new Date().toISOString(),
      });
    }

    const handle = await startOrAttach(
      () =>
        client.workflow.start(benchmarkRun, {
          workflowId: runId,
          taskQueue: config.temporal.taskQueue,
          args: [{ runId, runDir, tasks: tasks.map(taskRef), settings, searchAttributes: server.searchAttributes }],
          staticSummary: `${describe(settings)} on ${tasks.length} tasks (${config.model.name})`,
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
    const verb = status === 'RUNNING' ? 'attached to' : status ? `continuing (${status.toLowerCase()})` : 'started';
    console.error(
      `${verb} run ${runId}: ${describe(settings)} on ${tasks.length} task${tasks.length === 1 ? '' : 's'}, model ${config.model.name}${url ? `\n  ${url}` : ''}`,
    );

    const report = await awaitResult<RunReport>(config, server, handle, {
      worker: opts.worker,
      progress: async () => {
        const p = await handle.query(runProgressQuery);
        return `${p.tasksDone}/${p.tasks} tasks, ${p.rolloutsDone} rollouts done (${p.rolloutsPassed} passed)${p.running.length ? `; running ${p.running.slice(0, 4).join(', ')}` : ''}`;
      },
    });
    if (!report) {
      console.error(
        `interrupted; run ${runId} waits for a worker. Continue it with: agentscale run --run-id ${runId} ${datasets.join(' ')}`,
      );
      return 130;
    }
    print(report);
    return existsSync(paths.rejected) ? EXIT_TASKS_SKIPPED : 0;
  });
}
