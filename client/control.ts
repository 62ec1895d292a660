// Run control: `status`, `watch`, `list`, `cancel` and `report` for runs and validations, started
// here or elsewhere. A run id names one job; its kind comes from its workflow type.
import { existsSync, readFileSync } from 'node:fs';
import { Client, WorkflowNotFoundError, type WorkflowExecutionDescription } from '@temporalio/client';
import type { Config } from '../core/config';
import { addCost } from '../core/model';
import { SA } from '../core/searchAttributes';
import type { RunSettings } from '../core/settings';
import { readIfExists, readJson } from '../runtime/artifacts';
import { runDirOf, runFolder } from '../runtime/runFolder';
import { LABEL, removeSandboxes } from '../runtime/sandbox';
import type { ServerHandle } from '../runtime/temporal';
import { runProgressQuery } from '../workflows/run';
import { taskProgressQuery } from '../workflows/scaling';
import { progressQuery } from '../workflows/validate';
import { EXIT } from './exitCodes';
import { withClient, workflowUrl } from './job';
import { printJson } from './output';

export type JobKind = 'run' | 'validate' | 'select';

const KINDS: Record<string, JobKind> = {
  benchmarkRun: 'run',
  scheduledRun: 'run',
  validateDataset: 'validate',
  selectRun: 'select',
};

/** The job a run id names: its kind and workflow state; undefined when the server has none. */
export async function describeJob(
  client: Client,
  runId: string,
): Promise<{ kind: JobKind | undefined; status: string; info: WorkflowExecutionDescription } | undefined> {
  try {
    const info = await client.workflow.getHandle(runId).describe();
    return { kind: KINDS[info.type], status: info.status.name, info };
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    throw e;
  }
}

/** Refuses a run id that names a job of another kind. */
export async function assertKind(client: Client, runId: string, kind: JobKind): Promise<string | undefined> {
  const job = await describeJob(client, runId);
  if (job && job.kind !== kind) {
    throw new UsageError(
      `run id ${runId} belongs to a ${job.kind ?? job.info.type} job, not a ${kind}; choose another --run-id`,
    );
  }
  return job?.status;
}

/** A mistake in what the user asked for: one line, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface Progress {
  runId: string;
  kind: JobKind | undefined;
  status: string;
  startedAt: string;
  elapsedSec: number;
  url?: string;
  tasks: number;
  tasksDone: number;
  /** run: rollouts planned, finished (those of running tasks included) and passed, cost so far. */
  rollouts?: { planned: number; done: number; passed: number; inFlightTasks: number };
  costUsd?: number | null;
  /** run: the run's cost cap, when it has one (--max-cost). */
  costCapUsd?: number;
  /** validate: verdicts so far. */
  verdicts?: { valid: number; invalid: number; error: number };
  running: string[];
  /** Seconds to go at the pace so far; undefined before anything finished. */
  etaSec?: number;
}

export async function progressOf(
  client: Client,
  server: ServerHandle,
  runId: string,
  runDir: string,
): Promise<Progress> {
  const job = await describeJob(client, runId);
  if (!job) throw new UsageError(`no run ${runId} on the Temporal server at ${server.address}`);
  const started = job.info.startTime;
  const end = job.info.closeTime ?? new Date();
  const base = {
    runId,
    kind: job.kind,
    status: job.status,
    startedAt: started.toISOString(),
    elapsedSec: Math.round((end.getTime() - started.getTime()) / 1000),
    url: workflowUrl(server, runId),
    ...capOf(runDir),
  };
  const handle = client.workflow.getHandle(runId);
  const running = job.status === 'RUNNING';
  if (!running) return { ...base, ...finishedCounts(runDir), running: [] };
  if (job.kind === 'validate') {
    const p = await handle.query(progressQuery);
    const eta = p.done ? (base.elapsedSec / p.done) * (p.total - p.done) : undefined;
    return {
      ...base,
      tasks: p.total,
      tasksDone: p.done,
      verdicts: { valid: p.valid, invalid: p.invalid, error: p.error },
      running: p.running,
      etaSec: eta,
    };
  }
  if (job.kind !== 'run') return { ...base, tasks: 0, tasksDone: 0, running: [] };
  const p = await handle.query(runProgressQuery);
  // Rollouts of tasks still running are counted from those tasks' own progress.
  const inFlight = (
    await Promise.all(
      p.running.map((taskId) =>
        client.workflow
          .getHandle(`${runId}/${taskId}`)
          .query(taskProgressQuery)
          .catch(() => undefined),
      ),
    )
  ).filter((x) => x !== undefined);
  const done = p.rolloutsDone + inFlight.reduce((a, t) => a + t.rolloutsDone, 0);
  const cost = [p.costUsd, ...inFlight.map((t) => t.costUsd)].reduce<number | null>(addCost, 0);
  return {
    ...base,
    tasks: p.tasks,
    tasksDone: p.tasksDone,
    rollouts: {
      planned: p.rolloutsPlanned,
      done,
      passed: p.rolloutsPassed + inFlight.reduce((a, t) => a + t.rolloutsPassed, 0),
      inFlightTasks: inFlight.length,
    },
    costUsd: cost,
    running: p.running,
    etaSec: done ? (base.elapsedSec / done) * Math.max(0, p.rolloutsPlanned - done) : undefined,
  };
}

function capOf(runDir: string): { costCapUsd?: number } {
  const cap = readIfExists<{ settings?: RunSettings }>(runFolder(runDir).run)?.settings?.budget?.runUsd;
  return cap === undefined ? {} : { costCapUsd: cap };
}

/** A closed job's counts, from the report it left (none when it left no report). */
function finishedCounts(runDir: string): Pick<Progress, 'tasks' | 'tasksDone' | 'verdicts' | 'rollouts'> {
  const results = readIfExists<{
    summary?: { total: number; valid: number; invalid: number; error: number };
    tasks?: number;
    rollouts?: number;
    perTask?: { passed: number }[];
  }>(runFolder(runDir).results);
  if (results?.summary) {
    const { total, valid, invalid, error } = results.summary;
    return { tasks: total, tasksDone: total, verdicts: { valid, invalid, error } };
  }
  if (results?.tasks !== undefined) {
    const passed = (results.perTask ?? []).reduce((a, t) => a + t.passed, 0);
    const n = results.rollouts ?? 0;
    return {
      tasks: results.tasks,
      tasksDone: results.tasks,
      rollouts: { planned: n, done: n, passed, inFlightTasks: 0 },
    };
  }
  return { tasks: 0, tasksDone: 0 };
}

const duration = (sec: number) =>
  sec >= 3600
    ? `${Math.floor(sec / 3600)}h${String(Math.floor((sec % 3600) / 60)).padStart(2, '0')}m`
    : sec >= 60
      ? `${Math.floor(sec / 60)}m${String(Math.round(sec % 60)).padStart(2, '0')}s`
      : `${Math.round(sec)}s`;

/** One line: where the job stands. */
export function progressLine(p: Progress): string {
  const parts = [`${p.runId} (${p.kind ?? '?'}) ${p.status.toLowerCase()}, ${duration(p.elapsedSec)}`];
  {
    parts.push(`${p.tasksDone}/${p.tasks} tasks`);
    if (p.rollouts) {
      const r = p.rollouts;
      parts.push(
        `${r.done}/${r.planned} rollouts (${r.passed} passed${r.done ? `, ${((100 * r.passed) / r.done).toFixed(0)}%` : ''})`,
      );
    }
    if (p.verdicts) parts.push(`${p.verdicts.valid} valid, ${p.verdicts.invalid} invalid, ${p.verdicts.error} errors`);
    if (p.costUsd !== undefined)
      parts.push(
        `cost ${p.costUsd === null ? 'unknown' : `$${p.costUsd.toFixed(2)}`}${p.costCapUsd !== undefined ? ` of a $${p.costCapUsd} cap` : ''}`,
      );
    if (p.etaSec !== undefined && p.status === 'RUNNING') parts.push(`ETA ${duration(p.etaSec)}`);
  }
  return parts.join(', ');
}

/** A progress bar for a terminal: `[#####.....] 50%`. */
export function progressBar(p: Progress, width = 30): string {
  const total = p.rollouts?.planned ?? p.tasks;
  const done = p.rollouts?.done ?? p.tasksDone;
  const f = total ? Math.min(1, done / total) : 0;
  const filled = Math.round(f * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(100 * f).toFixed(0).padStart(3)}%`;
}

export function statusCommand(config: Config, runId: string, opts: { json?: boolean }): Promise<number> {
  return withClient(config, async (server, client) => {
    const p = await progressOf(client, server, runId, runDirOf(config, runId));
    if (opts.json) printJson(p);
    else {
      console.log(progressLine(p));
      if (p.running.length)
        console.log(`running: ${p.running.slice(0, 8).join(', ')}${p.running.length > 8 ? ', ...' : ''}`);
      console.log(`folder: ${runDirOf(config, runId)}${p.url ? `\nui:     ${p.url}` : ''}`);
    }
    return EXIT.ok;
  });
}

/** Follows a job until it closes: a progress bar on a terminal, a plain line every 10 s otherwise. */
export function watchCommand(config: Config, runId: string, opts: { intervalSec?: number }): Promise<number> {
  return withClient(config, async (server, client) => {
    const tty = process.stderr.isTTY;
    const every = (opts.intervalSec ?? (tty ? 2 : 10)) * 1000;
    for (;;) {
      const p = await progressOf(client, server, runId, runDirOf(config, runId));
      if (tty) process.stderr.write(`\r${progressBar(p)} ${progressLine(p)}\x1b[K`);
      else console.error(progressLine(p));
      if (p.status !== 'RUNNING') {
        if (tty) process.stderr.write('\n');
        return reportOf(config, runId, {}) ?? EXIT.ok;
      }
      await new Promise((r) => setTimeout(r, every));
    }
  });
}

/** Prints a finished job's report from its run folder; undefined when it has none yet. */
function reportOf(config: Config, runId: string, opts: { json?: boolean }): number | undefined {
  const folder = runFolder(runDirOf(config, runId));
  if (!existsSync(folder.results)) return undefined;
  if (opts.json) printJson(readJson(folder.results));
  else console.log(readFileSync(folder.table, 'utf8'));
  return EXIT.ok;
}

export function reportCommand(config: Config, runId: string, opts: { json?: boolean }): number {
  const code = reportOf(config, runId, opts);
  if (code === undefined) {
    throw new UsageError(
      `run ${runId} has no report yet (${runFolder(runDirOf(config, runId)).results}); see \`agentscale status ${runId}\``,
    );
  }
  const html = runFolder(runDirOf(config, runId)).html;
  if (existsSync(html)) console.error(`with charts: ${html}`);
  return code;
}

export function listCommand(config: Config, opts: { json?: boolean; limit?: number }): Promise<number> {
  return withClient(config, async (server, client) => {
    const rows: { runId: string; kind: string; status: string; startedAt: string }[] = [];
    const query = server.searchAttributes
      ? `${SA.job.name} IN ('run', 'validate', 'select')`
      : `WorkflowType IN ('benchmarkRun', 'scheduledRun', 'validateDataset', 'selectRun')`;
    for await (const w of client.workflow.list({ query })) {
      rows.push({
        runId: w.workflowId,
        kind: KINDS[w.type] ?? w.type,
        status: w.status.name,
        startedAt: w.startTime.toISOString(),
      });
      if (rows.length >= (opts.limit ?? 20)) break;
    }
    if (opts.json) printJson(rows);
    else {
      console.log('| run id | kind | status | started |\n|---|---|---|---|');
      for (const r of rows) console.log(`| ${r.runId} | ${r.kind} | ${r.status.toLowerCase()} | ${r.startedAt} |`);
    }
    return EXIT.ok;
  });
}

/**
 * Cancels a job: no new work starts, rollouts in flight are cancelled, and their containers go
 * (the workflows remove them; whatever is left is removed here too).
 */
export function cancelCommand(config: Config, runId: string, opts: { json?: boolean }): Promise<number> {
  return withClient(config, async (_server, client) => {
    const job = await describeJob(client, runId);
    if (!job) throw new UsageError(`no run ${runId}`);
    if (job.status !== 'RUNNING') {
      console.error(`run ${runId} is not running (${job.status.toLowerCase()}); nothing to cancel`);
      return EXIT.ok;
    }
    const handle = client.workflow.getHandle(runId);
    await handle.cancel();
    // The workflow and its children take a moment to wind down (each rollout removes its container).
    const deadline = Date.now() + 120_000;
    let status = job.status;
    while (status === 'RUNNING' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      status = (await handle.describe()).status.name;
    }
    const removed = await removeSandboxes({ [LABEL.run]: runId });
    if (opts.json) printJson({ runId, status, containersRemoved: removed });
    else console.error(`run ${runId}: ${status.toLowerCase()}; ${removed} leftover container(s) removed`);
    return status === 'CANCELLED' || status === 'CANCELED' ? EXIT.cancelled : EXIT.ok;
  });
}
