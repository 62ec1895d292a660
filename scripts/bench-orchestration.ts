// Orchestration overhead: a run of T tasks × N rollouts × S steps through Temporal (the `run`
// workflow, a worker in this process, a dev server of its own), against the same calls made by a
// plain in-process promise pool (mini-swe-agent's way, no durability). Both sides use the same
// Messages-API test double with a fixed reply latency, the same tiny Harbor task and real
// containers; C = T × N rollouts are in flight at once on both sides.
//
// Usage: npx tsx scripts/bench-orchestration.ts [--c 32,64,128,256] [--n 8] [--steps 5]
//          [--latency-ms 1000] [--repeat 1] [--task DIR] [--verifier shell|task]
//          [--dc KEY=VALUE ...] [--max-side-sec 300] [--no-analyze] [--json FILE]
//   --c          rollouts in flight (each is split into T = C / n tasks of n rollouts)
//   --task       a Harbor task folder copied T times (default examples/harbor/hello-file)
//   --verifier   shell: the copies get a one-line bash verifier instead of pytest (default),
//                so the measurement is of orchestration, not of pytest's start-up CPU; task: keep it
//   --dc         a dynamic config value for the dev server (repeatable), e.g.
//                --dc matching.numTaskqueueReadPartitions=1
//   --repeat     measurements per C, the two sides alternating which goes first
//   --dump       print the history of one rollout of each durable run, with relative times
//   --in-memory  (diagnosis only) the dev server without its database file: nothing survives it
//   --pragma     a SQLite pragma for the dev server (repeatable), e.g. --pragma synchronous=OFF
//   --worker-opt a Worker.create option on top of createWorker's (repeatable, NAME=JSON), e.g.
//                --worker-opt maxCachedWorkflows=1000; the worker is then built here the way
//                createWorker builds it, plus these options
import './bench-env';
import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { WORKER_ID } from '../activities';
import { startRun } from '../client/run';
import {
  formatErrorMessage,
  instancePrompt,
  limitReached,
  observationMessage,
  parseReply,
  parseSubmission,
  type ExitStatus,
} from '../core/agent';
import type { Config } from '../core/config';
import type { ChatMessage } from '../core/model';
import type { RunReport } from '../core/report';
import { runSettings } from '../core/settings';
import { containerName, type Task } from '../core/task';
import { loadDatasets } from '../datasets';
import { writeJson } from '../runtime/artifacts';
import { loadConfig, PROJECT_ROOT } from '../runtime/config';
import { evaluateContainer, sandboxSpec } from '../runtime/evaluate';
import { prepareTaskImage } from '../runtime/images';
import type { ModelClient } from '../core/model';
import { createModelClient } from '../runtime/model';
import {
  closeAllShells,
  createSandbox,
  execInSandbox,
  LABEL,
  listSandboxes,
  removeSandbox,
  removeSandboxes,
} from '../runtime/sandbox';
import { freePort, startDevServer, type ServerHandle } from '../runtime/temporal';
import { startMessagesApiDouble, type MessagesApiDouble } from '../scripted-model/messagesApi';
import { scriptedAgent } from '../scripted-model/scriptedAgent';
import { createWorker, runWorker, workflowBundle } from '../worker';

// ---- arguments ----------------------------------------------------------------------------------

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
function args(name: string): string[] {
  return process.argv.flatMap((a, i) =>
    a === `--${name}` && process.argv[i + 1] !== undefined ? [process.argv[i + 1]!] : [],
  );
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const C_LIST = arg('c', '32,64,128,256')
  .split(',')
  .map((s) => Number(s.trim()));
const N = Number(arg('n', '8'));
const S = Number(arg('steps', '5'));
const L = Number(arg('latency-ms', '1000'));
const REPEAT = Number(arg('repeat', '1'));
const TASK_DIR = path.resolve(arg('task', path.join(PROJECT_ROOT, 'examples', 'harbor', 'hello-file')));
const VERIFIER = arg('verifier', 'shell');
const DYNAMIC_CONFIG = args('dc');
const MAX_SIDE_SEC = Number(arg('max-side-sec', '300'));
const ANALYZE = !flag('no-analyze');
const JSON_OUT = arg('json', '');
const DUMP = flag('dump');
const PRAGMAS = args('pragma');
const IN_MEMORY = flag('in-memory');
const WORKER_OPTS: Record<string, unknown> = Object.fromEntries(
  args('worker-opt').map((kv) => {
    const i = kv.indexOf('=');
    if (i < 1) throw new Error(`--worker-opt ${kv}: expected NAME=JSON`);
    return [kv.slice(0, i), JSON.parse(kv.slice(i + 1)) as unknown];
  }),
);

for (const c of C_LIST) {
  if (!Number.isInteger(c) || c < N || c % N !== 0)
    throw new Error(`--c ${c}: must be a positive multiple of --n ${N} (T = C / n tasks of n rollouts)`);
}
if (!(S >= 1) || !(L >= 0) || !(REPEAT >= 1))
  throw new Error('--steps and --repeat must be at least 1, --latency-ms at least 0');
if (VERIFIER !== 'shell' && VERIFIER !== 'task') throw new Error('--verifier: shell or task');

// ---- small helpers ------------------------------------------------------------------------------

const now = () => performance.now();
const sec = (ms: number) => (ms / 1000).toFixed(2);
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds: the whole machine (busy), this process (all threads), the Temporal server. */
interface CpuSample {
  machine: number;
  self: number;
  server: number;
}
const TICK = 100; // USER_HZ on Linux
function cpuSample(serverPid: number | undefined): CpuSample {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const machine = ((f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0)) / TICK;
  const u = process.cpuUsage();
  let server = 0;
  if (serverPid) {
    try {
      const stat = readFileSync(`/proc/${serverPid}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      server = (Number(rest[11]) + Number(rest[12])) / TICK; // utime, stime (fields 14, 15)
    } catch {
      /* gone */
    }
  }
  return { machine, self: (u.user + u.system) / 1e6, server };
}
const cpuDelta = (a: CpuSample, b: CpuSample): CpuSample => ({
  machine: b.machine - a.machine,
  self: b.self - a.self,
  server: b.server - a.server,
});

/** The dev server's Prometheus counters we look at, summed by metric, service and operation. */
type Metrics = Map<string, number>;
const WATCHED = /^(service_requests|service_latency_(sum|count)|persistence_requests|persistence_latency_(sum|count))$/;
async function scrapeMetrics(): Promise<Metrics> {
  const m: Metrics = new Map();
  if (!metricsPort) return m;
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  for (const line of text.split('\n')) {
    const hit = /^(\w+)\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!hit || !WATCHED.test(hit[1]!)) continue;
    const labels = Object.fromEntries([...hit[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    const key = `${hit[1]}|${labels.service_name ?? ''}|${labels.operation ?? ''}`;
    m.set(key, (m.get(key) ?? 0) + Number(hit[3]));
  }
  return m;
}
function metricsReport(a: Metrics, b: Metrics, rollouts: number, wallMs: number): string[] {
  const d = (k: string) => (b.get(k) ?? 0) - (a.get(k) ?? 0);
  const ops = (metric: string, service?: string) =>
    [...b.keys()]
      .filter((k) => k.startsWith(service === undefined ? `${metric}|` : `${metric}|${service}|`))
      .map((k) => ({ k, op: k.split('|')[2]!, svc: k.split('|')[1]!, n: d(k) }))
      .filter((x) => x.n > 0)
      .sort((x, y) => y.n - x.n);
  const meanMs = (base: string, svc: string, op: string) => {
    const n = d(`${base}_count|${svc}|${op}`);
    return n ? ((d(`${base}_sum|${svc}|${op}`) / n) * 1000).toFixed(1) : '?';
  };
  const fe = ops('service_requests', 'frontend');
  const pers = ops('persistence_requests');
  const persTotal = pers.reduce((s, x) => s + x.n, 0);
  const persBusy = pers.reduce((s, x) => s + d(`persistence_latency_sum|${x.svc}|${x.op}`), 0);
  return [
    `server frontend RPCs per rollout (mean ms): ${fe
      .slice(0, 9)
      .map((x) => `${x.op} ${(x.n / rollouts).toFixed(1)} (${meanMs('service_latency', 'frontend', x.op)})`)
      .join(', ')}`,
    `server persistence requests: ${persTotal} (${(persTotal / rollouts).toFixed(0)} per rollout), ${persBusy.toFixed(1)} s in all = ${(persBusy / (wallMs / 1000)).toFixed(2)} × the wall time; top, per rollout (mean ms): ${pers
      .slice(0, 7)
      .map((x) => `${x.svc}.${x.op} ${(x.n / rollouts).toFixed(1)} (${meanMs('persistence_latency', x.svc, x.op)})`)
      .join(', ')}`,
  ];
}

// ---- the environment: dev server, model double, tasks --------------------------------------------

const tmp = mkdtempSync(path.join(os.tmpdir(), 'agentscale-bench-orch-'));
let serverProc: ChildProcess | undefined;
let double: MessagesApiDouble | undefined;
let connection: Connection | undefined;
let metricsPort = 0;
const baseConfig = loadConfig(path.join(PROJECT_ROOT, 'agentscale.yaml'));

async function startServer(): Promise<ServerHandle> {
  metricsPort = await freePort();
  const extra = [
    '--metrics-port',
    String(metricsPort),
    '--headless',
    ...DYNAMIC_CONFIG.flatMap((kv) => ['--dynamic-config-value', kv]),
    ...PRAGMAS.flatMap((kv) => ['--sqlite-pragma', kv]),
  ];
  const owned = await startDevServer(baseConfig, {
    dbFile: IN_MEMORY ? undefined : path.join(tmp, 'temporal.db'),
    logFile: path.join(tmp, 'server.log'),
    extraArgs: extra,
  });
  serverProc = owned.process;
  connection = await Connection.connect({ address: owned.address });
  return { address: owned.address, namespace: baseConfig.temporal.namespace, searchAttributes: true };
}

/** T copies of the task under distinct ids (the folder names), optionally with a bash verifier. */
async function makeTasks(t: number): Promise<Task[]> {
  const dir = path.join(tmp, `tasks-${t}`);
  for (let i = 0; i < t; i++) {
    const copy = path.join(dir, `bench-${String(i).padStart(3, '0')}`);
    cpSync(TASK_DIR, copy, { recursive: true });
    if (VERIFIER === 'shell') {
      const tests = path.join(copy, 'tests');
      for (const f of readdirSync(tests)) rmSync(path.join(tests, f), { recursive: true, force: true });
      writeFileSync(
        path.join(tests, 'test.sh'),
        [
          '#!/usr/bin/env bash',
          '# Harbor verifier, bash only: reward 1 when /app/hello.txt holds the expected line.',
          'mkdir -p /logs/verifier',
          'if [ "$(cat /app/hello.txt 2>/dev/null)" = "Hello, agentscale!" ]; then echo 1; else echo 0; fi > /logs/verifier/reward.txt',
          '',
        ].join('\n'),
        { mode: 0o755 },
      );
    }
  }
  const tasks = await loadDatasets([dir]);
  if (tasks.length !== t) throw new Error(`expected ${t} tasks in ${dir}, loaded ${tasks.length}`);
  return tasks.sort((a, b) => a.id.localeCompare(b.id));
}

function benchConfig(label: string, c: number, t: number): Config {
  const config = structuredClone(baseConfig) as Config;
  config.dataDir = path.join(tmp, 'data');
  config.temporal = { ...config.temporal, taskQueue: `bench-${label}-${process.pid}-${Date.now().toString(36)}` };
  // A rollout has at most one activity running; every workflow may have a workflow task at once.
  config.worker = {
    ...config.worker,
    maxConcurrentActivityTaskExecutions: Math.max(config.worker.maxConcurrentActivityTaskExecutions, c + t + 4),
    maxConcurrentWorkflowTaskExecutions: Math.max(config.worker.maxConcurrentWorkflowTaskExecutions, c + t + 1),
    shutdownGraceTimeSec: 2,
  };
  config.model = {
    ...config.model,
    provider: 'anthropic',
    name: 'claude-bench',
    baseUrl: double!.baseUrl.anthropic,
    maxTokens: 1024,
    timeoutSec: 120,
    prices: { 'claude-bench': { inputPerMTok: 3, outputPerMTok: 15 } },
  };
  config.agent = { ...config.agent, stepLimit: S, costLimitUsd: 0, formatErrorLimit: 3, wallTimeSec: 3600 };
  config.run = {
    ...config.run,
    n: N,
    taskConcurrency: t,
    modelMaxAttempts: 3,
    modelRetryInitialSec: 1,
    modelRetryMaxSec: 5,
  };
  return config;
}

// ---- the durable side -----------------------------------------------------------------------------

interface SideResult {
  wallMs: number;
  cpu: CpuSample;
  /** Rollouts that did not end as expected (LimitsExceeded after S steps). */
  problems: string[];
  detail: string[];
}

async function durable(
  server: ServerHandle,
  client: Client,
  tasks: Task[],
  c: number,
  label: string,
): Promise<SideResult> {
  const config = benchConfig(label, c, tasks.length);
  double!.setReply(scriptedAgent(tasks, Object.fromEntries(tasks.map((t) => [t.id, ['wander']]))).reply);
  const runId = `bench-${label}-${Date.now().toString(36)}`;
  // The pool side plays the bash agent's protocol (core/agent.ts), so the Temporal side runs the bash agent too.
  const settings = runSettings(config, { strategy: 'sample', n: N, concurrency: tasks.length, agent: 'bash' });
  const worker = await createWorker(config, server, WORKER_OPTS);

  const m0 = await scrapeMetrics();
  const cpu0 = cpuSample(serverProc?.pid);
  const t0 = now();
  let t1 = 0;
  let cpu1 = cpu0;
  const { handle } = await startRun(config, server, client, { runId, tasks, settings });
  const done = handle.result().then((r) => {
    t1 = now();
    cpu1 = cpuSample(serverProc?.pid);
    return r;
  });
  const report = (await runWorker(worker, done)) as RunReport | undefined;
  if (!report) throw new Error('the durable run did not finish');

  const problems: string[] = [];
  if (report.rollouts !== c) problems.push(`${report.rollouts} rollouts reported, expected ${c}`);
  if ((report.exitStatuses.LimitsExceeded ?? 0) !== c)
    problems.push(`exit statuses ${JSON.stringify(report.exitStatuses)}`);
  const m1 = await scrapeMetrics();
  const detail = [
    ...(ANALYZE ? await analyzeHistories(client, handle, runId, tasks) : []),
    ...metricsReport(m0, m1, c, t1 - t0),
  ];
  return { wallMs: t1 - t0, cpu: cpuDelta(cpu0, cpu1), problems, detail };
}

// Where a durable rollout's time goes, from the workflow histories.
type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];
const eventMs = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
const idOf = (v: unknown) => String(v ?? '');

interface RolloutBreakdown {
  totalMs: number;
  activityRunMs: Record<string, number[]>;
  activityQueueMs: number;
  betweenMs: number;
  wftQueueMs: number;
  wftRunMs: number;
  wfts: number;
  startMs: number;
  endMs: number;
}

function breakdown(h: History): RolloutBreakdown {
  const events = h.events ?? [];
  const byId = new Map(events.map((e) => [idOf(e.eventId), e]));
  const b: RolloutBreakdown = {
    totalMs: eventMs(events[events.length - 1]!) - eventMs(events[0]!),
    activityRunMs: {},
    activityQueueMs: 0,
    betweenMs: 0,
    wftQueueMs: 0,
    wftRunMs: 0,
    wfts: 0,
    startMs: eventMs(events[0]!),
    endMs: eventMs(events[events.length - 1]!),
  };
  let lastClose: number | undefined;
  for (const e of events) {
    const closed =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes;
    if (e.activityTaskScheduledEventAttributes) {
      b.betweenMs += eventMs(e) - (lastClose ?? eventMs(events[0]!));
    } else if (e.activityTaskStartedEventAttributes) {
      b.activityQueueMs += eventMs(e) - eventMs(byId.get(idOf(e.activityTaskStartedEventAttributes.scheduledEventId))!);
    } else if (closed) {
      const scheduled = byId.get(idOf(closed.scheduledEventId))!;
      const started = byId.get(idOf(closed.startedEventId))!;
      const name = scheduled.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
      (b.activityRunMs[name] ??= []).push(eventMs(e) - eventMs(started));
      lastClose = eventMs(e);
    } else if (e.workflowTaskStartedEventAttributes) {
      b.wftQueueMs += eventMs(e) - eventMs(byId.get(idOf(e.workflowTaskStartedEventAttributes.scheduledEventId))!);
    } else if (e.workflowTaskCompletedEventAttributes) {
      b.wftRunMs += eventMs(e) - eventMs(byId.get(idOf(e.workflowTaskCompletedEventAttributes.startedEventId))!);
      b.wfts++;
    }
  }
  if (lastClose !== undefined) b.betweenMs += b.endMs - lastClose; // after the last activity: the workflow's completion
  return b;
}

async function analyzeHistories(client: Client, run: WorkflowHandle, runId: string, tasks: Task[]): Promise<string[]> {
  const runHistory = breakdown(await run.fetchHistory());
  const ids = tasks.flatMap((t) => Array.from({ length: N }, (_, i) => `${runId}/${t.id}/r${i}`));
  const rs: RolloutBreakdown[] = [];
  for (let i = 0; i < ids.length; i += 32) {
    rs.push(
      ...(await Promise.all(
        ids.slice(i, i + 32).map(async (id) => breakdown(await client.workflow.getHandle(id).fetchHistory())),
      )),
    );
  }
  if (DUMP) {
    const h = await client.workflow.getHandle(ids[0]!).fetchHistory();
    const t0 = eventMs(h.events![0]!);
    for (const e of h.events ?? []) {
      const kind = Object.keys(e).find((k) => k.endsWith('EventAttributes') && e[k as keyof HistoryEvent]) ?? '?';
      const name =
        e.activityTaskScheduledEventAttributes?.activityType?.name ??
        e.workflowTaskStartedEventAttributes?.identity ??
        '';
      console.error(
        `    ${String(e.eventId).padStart(3)} +${(eventMs(e) - t0).toFixed(1).padStart(8)} ms ${kind.replace('EventAttributes', '')} ${name}`,
      );
    }
  }
  const names = [...new Set(rs.flatMap((r) => Object.keys(r.activityRunMs)))];
  const perName = names.map((n) => {
    const all = rs.flatMap((r) => r.activityRunMs[n] ?? []);
    return `${n} ${all.length / rs.length}×${mean(all).toFixed(0)}`;
  });
  const activityRun = mean(
    rs.map((r) =>
      Object.values(r.activityRunMs)
        .flat()
        .reduce((a, x) => a + x, 0),
    ),
  );
  const firstStart = Math.min(...rs.map((r) => r.startMs));
  const lastStart = Math.max(...rs.map((r) => r.startMs));
  const lastEnd = Math.max(...rs.map((r) => r.endMs));
  return [
    `durable rollout (mean of ${rs.length}): ${sec(mean(rs.map((r) => r.totalMs)))} s = activities running ${sec(activityRun)} s` +
      ` + activities queued (scheduled→started) ${sec(mean(rs.map((r) => r.activityQueueMs)))} s` +
      ` + between activities (completed→next scheduled) ${sec(mean(rs.map((r) => r.betweenMs)))} s`,
    `  workflow tasks per rollout ${mean(rs.map((r) => r.wfts)).toFixed(1)}: queued ${sec(mean(rs.map((r) => r.wftQueueMs)))} s, running ${sec(mean(rs.map((r) => r.wftRunMs)))} s in all`,
    `  activity runs, count×mean ms: ${perName.join(', ')}`,
    `  run: start → first rollout start ${sec(firstStart - runHistory.startMs)} s, → last rollout start ${sec(lastStart - runHistory.startMs)} s;` +
      ` last rollout end → run end ${sec(runHistory.endMs - lastEnd)} s`,
  ];
}

// ---- the baseline: a plain promise pool, no durability -------------------------------------------

interface BaselineTimes {
  start: number;
  model: number[];
  exec: number[];
  evaluate: number;
  remove: number;
  total: number;
  begin: number;
}

async function baselineRollout(
  config: Config,
  model: ModelClient,
  task: Task,
  image: string,
  runId: string,
  rolloutId: string,
  logRoot: string,
): Promise<{ exitStatus: ExitStatus; steps: number; times: BaselineTimes }> {
  const agent = config.agent;
  const name = containerName(runId, task.id, rolloutId, 1);
  const labels = { [LABEL.run]: runId, [LABEL.task]: task.id, [LABEL.attempt]: rolloutId, [LABEL.worker]: WORKER_ID };
  const times: BaselineTimes = { start: 0, model: [], exec: [], evaluate: 0, remove: 0, total: 0, begin: now() };
  const began = Date.now();
  let exitStatus: ExitStatus | undefined;
  let steps = 0;
  try {
    let t = now();
    const { containerId } = await createSandbox(sandboxSpec(task, config, image, name, labels));
    times.start = now() - t;
    const system = agent.templates.system;
    const messages: ChatMessage[] = [{ role: 'user', content: instancePrompt(task, agent) }];
    let formatErrors = 0;
    let cost: number | null = 0;
    while (!exitStatus) {
      t = now();
      const reply = await model.complete({ system, messages, sampling: config.model.sampling.agent });
      times.model.push(now() - t);
      steps++;
      cost = cost === null || reply.costUsd === null ? null : cost + reply.costUsd;
      const parsed = parseReply(reply.text, reply.stopReason);
      messages.push({ role: 'assistant', content: reply.text });
      if (parsed.kind === 'format_error') {
        messages.push({ role: 'user', content: formatErrorMessage(parsed, agent) });
        if (++formatErrors >= agent.formatErrorLimit) {
          exitStatus = 'RepeatedFormatError';
          break;
        }
      } else {
        formatErrors = 0;
        t = now();
        const r = await execInSandbox({
          containerId,
          command: parsed.command,
          cwd: task.workdir,
          env: task.env,
          user: task.agent.user,
          timeoutSec: agent.commandTimeoutSec,
          outputCapBytes: config.sandbox.outputCapBytes,
        });
        times.exec.push(now() - t);
        messages.push({ role: 'user', content: observationMessage(r, parsed.command, agent) });
        if (parseSubmission(r.output, r.exitCode).submitted) {
          exitStatus = 'Submitted';
          break;
        }
      }
      exitStatus = limitReached(
        { steps, costUsd: cost, elapsedMs: Date.now() - began },
        agent,
        agent.wallTimeSec ?? task.agent.timeoutSec,
      );
    }
    const logDir = path.join(logRoot, task.id, rolloutId);
    t = now();
    const outcome = await evaluateContainer(task, containerId, path.join(logDir, 'evaluation'), config);
    times.evaluate = now() - t;
    // mini-swe-agent saves the trajectory once, at the end.
    writeJson(path.join(logDir, 'traj.json'), { exitStatus, steps, passed: outcome.passed, messages });
  } finally {
    const t = now();
    await removeSandbox(name);
    times.remove = now() - t;
    times.total = now() - times.begin;
  }
  return { exitStatus: exitStatus ?? 'SandboxError', steps, times };
}

async function baseline(tasks: Task[], c: number, label: string): Promise<SideResult> {
  const config = benchConfig(label, c, tasks.length);
  double!.setReply(scriptedAgent(tasks, Object.fromEntries(tasks.map((t) => [t.id, ['wander']]))).reply);
  const runId = `base-${label}-${Date.now().toString(36)}`;
  const logRoot = path.join(config.dataDir, 'baseline', runId);
  const model = createModelClient(config.model);

  const cpu0 = cpuSample(serverProc?.pid);
  const t0 = now();
  // T tasks at once; each prepares its image (a cache hit), then runs its N rollouts at once.
  const results = await Promise.all(
    tasks.map(async (task) => {
      const { image } = await prepareTaskImage(task, config);
      return Promise.all(
        Array.from({ length: N }, (_, i) => baselineRollout(config, model, task, image, runId, `r${i}`, logRoot)),
      );
    }),
  );
  const wallMs = now() - t0;
  const cpu1 = cpuSample(serverProc?.pid);

  const rs = results.flat();
  const problems = rs
    .filter((r) => r.exitStatus !== 'LimitsExceeded' || r.steps !== S)
    .map((r) => `${r.exitStatus} after ${r.steps} steps`);
  const ts = rs.map((r) => r.times);
  const firstBegin = Math.min(...ts.map((x) => x.begin));
  const lastBegin = Math.max(...ts.map((x) => x.begin));
  const detail = [
    `baseline rollout (mean of ${rs.length}): ${sec(mean(ts.map((x) => x.total)))} s = start ${sec(mean(ts.map((x) => x.start)))}` +
      ` + model ${S}×${mean(ts.flatMap((x) => x.model)).toFixed(0)} ms + exec ${S}×${mean(ts.flatMap((x) => x.exec)).toFixed(0)} ms` +
      ` + evaluate ${sec(mean(ts.map((x) => x.evaluate)))} + remove ${sec(mean(ts.map((x) => x.remove)))} s;` +
      ` rollouts began ${sec(firstBegin - t0)}..${sec(lastBegin - t0)} s after the start`,
  ];
  return { wallMs, cpu: cpuDelta(cpu0, cpu1), problems, detail };
}

// ---- the sweep ----------------------------------------------------------------------------------

interface Row {
  c: number;
  t: number;
  repeat: number;
  durableMs: number;
  baselineMs: number;
  ratio: number;
  durableCpu: CpuSample;
  baselineCpu: CpuSample;
  problems: string[];
  first: 'durable' | 'baseline';
}

async function settle(label: string): Promise<void> {
  // Nothing of ours may be left between sides; give the engine a moment to finish clean-ups.
  const left = await listSandboxes({ [LABEL.worker]: WORKER_ID });
  if (left.length) {
    console.error(`  (${label}: removing ${left.length} leftover containers)`);
    await removeSandboxes({ [LABEL.worker]: WORKER_ID });
  }
  closeAllShells();
  await sleep(2000);
}

async function othersRunning(): Promise<number> {
  const all = await listSandboxes({});
  return all.filter((c) => c.labels[LABEL.worker] !== WORKER_ID).length;
}

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    closeAllShells();
    await removeSandboxes({ [LABEL.worker]: WORKER_ID }).catch((e: unknown) =>
      console.error('container clean-up failed:', e),
    );
    await connection?.close().catch(() => undefined);
    if (serverProc && serverProc.exitCode === null) {
      const exited = new Promise((r) => serverProc!.once('exit', r));
      serverProc.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (serverProc.exitCode === null) serverProc.kill('SIGKILL');
    }
    await double?.close().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  })();
  return cleaning;
}

async function main(): Promise<void> {
  process.once('SIGINT', () => {
    console.error('interrupted: cleaning up');
    void cleanup().then(() => process.exit(130));
  });
  console.error(`setting up: dev server, model double (latency ${L} ms), workflow bundle, images`);
  const server = await startServer();
  const client = new Client({ connection: connection!, namespace: server.namespace });
  double = await startMessagesApiDouble({ latencyMs: L });
  await workflowBundle();

  const maxT = Math.max(...C_LIST) / N;
  const allTasks = await makeTasks(maxT);
  for (const task of allTasks) await prepareTaskImage(task, benchConfig('images', N, 1));

  // Warm-up of both sides (JIT, SDK connections, the first containers), not measured.
  {
    const warm = allTasks.slice(0, 1);
    await durable(server, client, warm, N, 'warmup');
    await settle('warm-up');
    await baseline(warm, N, 'warmup');
    await settle('warm-up');
  }

  console.error(
    `machine: ${os.cpus().length} CPUs, load ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}; other agentscale containers running: ${await othersRunning()}`,
  );
  const rows: Row[] = [];
  let k = 0;
  sweep: for (const c of C_LIST) {
    const t = c / N;
    const tasks = allTasks.slice(0, t);
    for (let rep = 0; rep < REPEAT; rep++) {
      const first = k++ % 2 === 0 ? 'durable' : 'baseline';
      console.error(
        `C=${c} (T=${t} × N=${N}, S=${S}, L=${L} ms) #${rep + 1}: ${first} first; load ${os.loadavg()[0]!.toFixed(2)}, others' containers ${await othersRunning()}`,
      );
      let d: SideResult | undefined;
      let b: SideResult | undefined;
      try {
        for (const side of first === 'durable' ? ['durable', 'baseline'] : ['baseline', 'durable']) {
          if (side === 'durable') d = await durable(server, client, tasks, c, `c${c}-${rep}`);
          else b = await baseline(tasks, c, `c${c}-${rep}`);
          await settle(side);
        }
      } catch (e) {
        console.error(`C=${c}: stopping the sweep: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        break sweep;
      }
      const row: Row = {
        c,
        t,
        repeat: rep,
        durableMs: d!.wallMs,
        baselineMs: b!.wallMs,
        ratio: d!.wallMs / b!.wallMs,
        durableCpu: d!.cpu,
        baselineCpu: b!.cpu,
        problems: [...d!.problems.map((p) => `durable: ${p}`), ...b!.problems.map((p) => `baseline: ${p}`)],
        first,
      };
      rows.push(row);
      console.error(
        `  durable ${sec(row.durableMs)} s, baseline ${sec(row.baselineMs)} s, ratio ${row.ratio.toFixed(3)}`,
      );
      const cpu = (x: CpuSample) =>
        `machine ${x.machine.toFixed(1)}, this process ${x.self.toFixed(1)}, Temporal server ${x.server.toFixed(1)}`;
      console.error(`  CPU s: durable: ${cpu(row.durableCpu)}; baseline: ${cpu(row.baselineCpu)}`);
      for (const line of [...d!.detail, ...b!.detail]) console.error(`  ${line}`);
      for (const p of row.problems) console.error(`  PROBLEM ${p}`);
      if (row.durableMs > MAX_SIDE_SEC * 1000 || row.baselineMs > MAX_SIDE_SEC * 1000) {
        console.error(`C=${c}: a side took longer than --max-side-sec ${MAX_SIDE_SEC}; stopping the sweep`);
        break sweep;
      }
    }
  }

  console.log(
    `\n| C | T×N×S | L ms | durable s | baseline s | ratio |${rows.some((r) => r.problems.length) ? ' problems |' : ''}`,
  );
  console.log(`|---|---|---|---|---|---|${rows.some((r) => r.problems.length) ? '---|' : ''}`);
  for (const r of rows) {
    console.log(
      `| ${r.c} | ${r.t}×${N}×${S} | ${L} | ${sec(r.durableMs)} | ${sec(r.baselineMs)} | ${r.ratio.toFixed(3)} |${rows.some((x) => x.problems.length) ? ` ${r.problems.join('; ')} |` : ''}`,
    );
  }
  const ratioAt = (c: number) => {
    const rs = rows
      .filter((r) => r.c === c && !r.problems.length)
      .map((r) => r.ratio)
      .sort((a, b) => a - b);
    return rs.length ? rs[Math.floor((rs.length - 1) / 2)] : undefined; // median (lower) over repeats
  };
  const at32 = ratioAt(32);
  const within = [...new Set(rows.map((r) => r.c))].filter((c) => (ratioAt(c) ?? Infinity) <= 1.2);
  console.log(
    `\nratio at C=32: ${at32 === undefined ? 'not measured' : at32.toFixed(3)} (aim ≤ 1.10); largest C tested with ratio ≤ 1.2: ${within.length ? Math.max(...within) : 'none'} (aim 256); tested: ${[...new Set(rows.map((r) => r.c))].join(', ')}`,
  );
  if (JSON_OUT) {
    mkdirSync(path.dirname(path.resolve(JSON_OUT)), { recursive: true });
    writeFileSync(
      JSON_OUT,
      `${JSON.stringify({ n: N, steps: S, latencyMs: L, verifier: VERIFIER, dynamicConfig: DYNAMIC_CONFIG, rows }, null, 2)}\n`,
    );
  }
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
