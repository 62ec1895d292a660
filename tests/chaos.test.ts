// The chaos test: a PDR run driven by the real CLI (`run --no-worker`) with workers in separate
// processes, through which the test SIGKILLs the worker twice, restarts the Temporal dev server
// once and restarts a Docker daemon once, while one model call in five fails (429, 529 or 500).
// The test owns everything it breaks: its own dev server (own ports and database, so the shared
// one in tests/globalSetup.ts is untouched) and a second dockerd (own socket, data root and exec
// root; the workers reach it through DOCKER_HOST), loaded with the base image the tasks need.
// Then: every rollout recorded, no completed model call repeated (delivered replies counted per
// rollout and step in the Messages-API double), no container left on either daemon, and the
// run's results equal to a calm run's with the same scripted model.
//
// Set AGENTSCALE_CHAOS=0 to skip it (it takes a few minutes); it is skipped with the reason
// printed when dockerd cannot be started here.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { RunReport } from '../core/report';
import type { RolloutResult } from '../core/rollout';
import { JUDGE_SYSTEM } from '../core/judge';
import { SUMMARY_SYSTEM } from '../core/summary';
import { loadDatasets } from '../datasets';
import { readJson } from '../runtime/artifacts';
import { loadConfig, PROJECT_ROOT } from '../runtime/config';
import { rolloutFolder, runFolder, taskFolder } from '../runtime/runFolder';
import { freePort, startDevServer, type OwnedDevServer } from '../runtime/temporal';
import { startMessagesApiDouble, type CallRecord, type MessagesApiDouble } from '../scripted-model/messagesApi';
import { scriptedAgent } from '../scripted-model/scriptedAgent';
import { EXAMPLES } from './helpers';

const CLI = path.join(PROJECT_ROOT, 'bin', 'agentscale');
const BASE_IMAGE = 'agentscale/base:bookworm';
const TASKS = [path.join(EXAMPLES, 'harbor', 'hello-file'), path.join(EXAMPLES, 'terminal-bench', 'count-lines')];
// N=2, T=2, K=1, G=2, V=2: 8 rollouts, 4 summaries per task, two small tournaments per task.
// The bash agent: the scripted replies and the per-step counting are written for its protocol.
const SETTINGS = [
  '--strategy',
  'pdr',
  '-n',
  '2',
  '-T',
  '2',
  '-k',
  '1',
  '-G',
  '2',
  '-V',
  '2',
  '--seed',
  '3',
  '--agent',
  'bash',
];

const disabled = process.env.AGENTSCALE_CHAOS === '0';
const dockerd = spawnSync('sh', ['-c', 'command -v dockerd'], { encoding: 'utf8' }).stdout.trim();
const skipReason = disabled
  ? 'AGENTSCALE_CHAOS=0'
  : !dockerd
    ? 'no dockerd on PATH'
    : process.getuid?.() !== 0
      ? 'a second dockerd needs root'
      : undefined;
if (skipReason) console.warn(`[chaos] skipped: ${skipReason}`);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'agentscale-chaos-'));
const log = (name: string) => path.join(tmp, `${name}.log`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  ms = 180_000,
  everyMs = 200,
): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v) return v;
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const exited = (p: ChildProcess) =>
  new Promise<number>((resolve) =>
    p.exitCode !== null || p.signalCode !== null ? resolve(p.exitCode ?? -1) : p.once('exit', (c) => resolve(c ?? -1)),
  );

/** The test's own Docker daemon: socket, data root and exec root under the test's folder. */
class OwnedDockerd {
  readonly root = path.join(tmp, 'dockerd');
  readonly socket = path.join(this.root, 'docker.sock');
  readonly host = `unix://${this.socket}`;
  readonly docker = new Docker({ socketPath: this.socket });
  private child?: ChildProcess;

  /**
   * A bridge of the test's own. Not `--bridge none`: a dockerd started that way deletes the
   * host's docker0 (moby's removeDefaultBridgeInterface), cutting every other engine user off.
   */
  readonly bridge = `aschaos${process.pid % 100_000}`;

  async start(): Promise<void> {
    mkdirSync(this.root, { recursive: true });
    const out = openSync(log('dockerd'), 'a');
    if (spawnSync('ip', ['link', 'show', this.bridge], { stdio: 'ignore' }).status !== 0) {
      for (const args of [
        ['link', 'add', this.bridge, 'type', 'bridge'],
        ['addr', 'add', '10.231.0.1/24', 'dev', this.bridge],
        ['link', 'set', this.bridge, 'up'],
      ])
        execFileSync('ip', args, { stdio: 'pipe' });
    }
    // Its own bridge and no iptables: it must not touch the host's docker0 or firewall; the tasks
    // run offline (sandbox.network: none).
    this.child = spawn(
      dockerd,
      [
        '--data-root',
        path.join(this.root, 'data'),
        '--exec-root',
        path.join(this.root, 'exec'),
        '--host',
        this.host,
        '--pidfile',
        path.join(this.root, 'docker.pid'),
        '--bridge',
        this.bridge,
        '--iptables=false',
        '--ip6tables=false',
        '--ip-masq=false',
      ],
      { stdio: ['ignore', out, out], detached: false },
    );
    await until(
      'the test dockerd to answer',
      () =>
        this.docker.ping().then(
          () => true,
          () => undefined,
        ),
      60_000,
    );
  }

  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      await exited(this.child);
    }
    // A containerd shim can outlive its daemon (seen once after a restart): ours are found by
    // this daemon's exec root in their arguments and ended by pid.
    const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).stdout ?? '';
    for (const line of ps.split('\n')) {
      const m = /^\s*(\d+)\s+(.*)$/.exec(line);
      if (m && m[2]!.includes(this.root) && Number(m[1]) !== process.pid) {
        try {
          process.kill(Number(m[1]), 'SIGKILL');
        } catch {
          /* gone meanwhile */
        }
      }
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

/**
 * The model double for both runs: the scripted agent (hello-file's rollouts solve, count-lines'
 * give up: the same outcome whatever order rollouts start in), one call in five failing, and a
 * nonce in each rollout's first reply so later requests name their rollout.
 */
function chaosModel(double: MessagesApiDouble, taskList: Awaited<ReturnType<typeof loadDatasets>>) {
  const agent = scriptedAgent(taskList, { 'hello-file': ['solve'], 'count-lines': ['giveUp'] });
  let nonce = 0;
  const failures = [
    { status: 429, type: 'rate_limit_error' },
    { status: 529, type: 'overloaded_error' },
    { status: 500, type: 'api_error' },
  ];
  double.setReply(async (req) => {
    // Every fifth call fails, by its position, so the share is exactly 20% in every run.
    if (req.callIndex % 5 === 2) return { error: failures[Math.floor(req.callIndex / 5) % 3]! };
    const r = await agent.reply(req);
    const agentTurn = req.system !== SUMMARY_SYSTEM && req.system !== JUDGE_SYSTEM;
    if (agentTurn && !req.messages.some((m) => m.role === 'assistant') && 'text' in r && r.text !== undefined)
      return { ...r, text: r.text.replace('THOUGHT: ', `THOUGHT: [rollout ${nonce++}] `) };
    return r;
  });
}

/** Delivered (200) calls of each kind since `from`, and how often each rollout step was answered. */
function deliveredCalls(calls: CallRecord[]) {
  const ok = calls.filter((c) => c.status === 200 && c.request);
  const agentCalls = ok.filter((c) => c.request!.system !== SUMMARY_SYSTEM && c.request!.system !== JUDGE_SYSTEM);
  const perStep = new Map<string, number>();
  let firstSteps = 0;
  for (const c of agentCalls) {
    const assistant = c.request!.messages.filter((m) => m.role === 'assistant');
    if (assistant.length === 0) {
      firstSteps++;
      continue;
    }
    const rollout = /\[rollout (\d+)\]/.exec(assistant[0]!.content)?.[1];
    const key = `${rollout}/${assistant.length}`;
    perStep.set(key, (perStep.get(key) ?? 0) + 1);
  }
  const summaries = new Map<string, number>();
  for (const c of ok.filter((c) => c.request!.system === SUMMARY_SYSTEM))
    summaries.set(c.conversationKey!, (summaries.get(c.conversationKey!) ?? 0) + 1);
  return {
    firstSteps,
    perStep,
    rollouts: new Set([...perStep.keys()].map((k) => k.split('/')[0])).size,
    summaries,
    judge: ok.filter((c) => c.request!.system === JUDGE_SYSTEM).length,
  };
}

/** The parts of a report that must not depend on crashes (costs and tokens do: the nonces' digits). */
function outcome(report: RunReport) {
  return {
    tasks: report.perTask
      .map((t) => ({ taskId: t.taskId, rollouts: t.rollouts, passed: t.passed, exitStatuses: t.exitStatuses }))
      .sort((a, b) => a.taskId.localeCompare(b.taskId)),
    pass1: report.pass1,
    passN: report.passN,
    final: report.scaling?.final,
    iterations: report.scaling?.iterations.map((i) => ({ ...i, meanSteps: undefined })),
    solveCounts: report.scaling?.solveCounts,
  };
}

const ROLLOUTS = ['it0-r0', 'it0-r1', 'it1-r0', 'it1-r1'];

describe.skipIf(!!skipReason)('chaos', () => {
  let double: MessagesApiDouble;
  let server: OwnedDevServer | undefined;
  const daemon = new OwnedDockerd();
  const children: ChildProcess[] = [];
  let serverPorts: { port: number; uiPort: number };
  const dbFile = path.join(tmp, 'temporal.db');
  let passed = false;

  const startServer = async () => {
    const project = loadConfig(path.join(PROJECT_ROOT, 'agentscale.yaml'));
    server = await startDevServer(project, { dbFile, logFile: log('temporal'), ...serverPorts });
  };

  beforeAll(async () => {
    double = await startMessagesApiDouble({ latencyMs: 200 });
    serverPorts = { port: await freePort(), uiPort: await freePort() };
    await startServer();
    await daemon.start();
    // The tasks' base image, into the test daemon (nothing can be pulled here).
    execFileSync('sh', ['-c', `docker save ${BASE_IMAGE} | DOCKER_HOST=${daemon.host} docker load -q`], {
      stdio: 'pipe',
    });
  }, 180_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await server?.stop();
    await daemon.stop();
    spawnSync('ip', ['link', 'del', daemon.bridge], { stdio: 'ignore' });
    await double?.close();
    // The daemon's data root holds a copy of the base image: never left in /tmp. The logs stay
    // when the test failed.
    try {
      rmSync(passed ? tmp : daemon.root, { recursive: true, force: true });
    } catch (e) {
      console.warn(`[chaos] could not remove ${tmp}: ${(e as Error).message}`);
    }
    if (!passed) console.warn(`[chaos] logs and run folders kept in ${tmp}`);
  });

  /** A config file for one run: the test's server, the double, offline sandboxes, patient retries. */
  const configFile = (name: string) => {
    const project = loadConfig(path.join(PROJECT_ROOT, 'agentscale.yaml'));
    const dataDir = path.join(tmp, name);
    mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, 'agentscale.yaml');
    writeFileSync(
      file,
      stringify({
        ...project,
        configFile: undefined,
        dataDir,
        temporal: { ...project.temporal, address: `127.0.0.1:${serverPorts.port}`, taskQueue: `chaos-${name}` },
        worker: { ...project.worker, shutdownGraceTimeSec: 2 },
        sandbox: { ...project.sandbox, network: 'none' },
        model: {
          provider: 'anthropic',
          name: 'claude-test',
          baseUrl: double.baseUrl.anthropic,
          maxTokens: 1024,
          timeoutSec: 30,
          prices: { 'claude-test': { inputPerMTok: 3, outputPerMTok: 15 } },
        },
        run: { ...project.run, modelMaxAttempts: 12, modelRetryInitialSec: 0.2, modelRetryMaxSec: 1 },
      }),
    );
    return { file, dataDir };
  };

  const env = (dockerHost: string | undefined) => ({
    ...process.env,
    LOG_LEVEL: 'info',
    ANTHROPIC_API_KEY: 'sk-ant-test-chaos',
    ...(dockerHost ? { DOCKER_HOST: dockerHost } : {}),
  });
  const cli = (args: string[], name: string, dockerHost?: string) => {
    const out = openSync(log(name), 'a');
    const child = spawn(CLI, args, { stdio: ['ignore', out, out], env: env(dockerHost) });
    children.push(child);
    return child;
  };

  it('SIGKILLed workers, a restarted server and a restarted Docker daemon change nothing', async () => {
    const taskList = await loadDatasets(TASKS);

    // --- the calm run: the main daemon, one worker, nothing broken ---
    chaosModel(double, taskList);
    const calm = configFile('calm');
    const calmFrom = double.calls.length;
    const calmClient = cli(
      ['--config', calm.file, 'run', '--run-id', 'calm', '--json', ...SETTINGS, ...TASKS],
      'calm-client',
    );
    expect(await exited(calmClient), readFileSync(log('calm-client'), 'utf8').slice(-3000)).toBe(0);
    const calmReport = readJson<RunReport>(runFolder(path.join(calm.dataDir, 'runs', 'calm')).results);
    const calmCalls = deliveredCalls(double.calls.slice(calmFrom));

    // --- the chaos run: the test's daemon, workers in their own processes ---
    chaosModel(double, taskList);
    const chaos = configFile('chaos');
    const from = double.calls.length;
    const delivered = () => double.calls.slice(from).filter((c) => c.status === 200).length;
    // A worker is killed while a model call is in flight (the double holds each reply 200 ms), not
    // just after a reply arrived: no system can store a reply in the same instant it arrives, and
    // a kill in that gap would repeat a call by construction.
    const inFlight = () => {
      const recent = double.calls.slice(from);
      const now = Date.now();
      // A reply delivered in the last 300 ms may not be stored yet: wait for a quiet moment.
      const quiet = recent.every((c) => c.status === 0 || now - (c.answeredAt ?? c.at) > 300);
      return quiet && recent.some((c) => c.status === 0 && c.request && now - c.at < 120);
    };
    const runArgs = [
      '--config',
      chaos.file,
      'run',
      '--no-worker',
      '--run-id',
      'chaos',
      '--json',
      ...SETTINGS,
      ...TASKS,
    ];
    let client = cli(runArgs, 'chaos-client', daemon.host);
    let worker = cli(['--config', chaos.file, 'worker'], 'worker-1', daemon.host);
    const newWorker = (n: number) => (worker = cli(['--config', chaos.file, 'worker'], `worker-${n}`, daemon.host));
    const events: string[] = [];

    // 1. SIGKILL the worker once rollouts are under way.
    await until('rollouts under way', () => delivered() >= 4 && inFlight(), 180_000, 10);
    worker.kill('SIGKILL');
    await exited(worker);
    events.push(`worker SIGKILLed after ${delivered()} model replies`);
    newWorker(2);

    // 2. Restart the Docker daemon the sandboxes live on (their containers stop with it).
    await until('more progress', () => delivered() >= 12);
    await daemon.restart();
    events.push(`dockerd restarted after ${delivered()} model replies`);

    // 3. Restart the Temporal server on its port and database.
    await until('more progress', () => delivered() >= 20);
    await server!.stop();
    await sleep(1000);
    await startServer();
    events.push(`Temporal server restarted after ${delivered()} model replies`);
    // A worker or client that gave up on the server while it was down is started again.
    await sleep(2000);
    if (worker.exitCode !== null || worker.signalCode !== null) newWorker(3);

    // 4. SIGKILL the worker again.
    await until('more progress', () => delivered() >= 30 && inFlight(), 180_000, 10);
    worker.kill('SIGKILL');
    await exited(worker);
    events.push(`worker SIGKILLed after ${delivered()} model replies`);
    newWorker(4);

    const finished = async (c: ChildProcess, name: string) =>
      Promise.race([
        exited(c),
        sleep(300_000).then(() => {
          throw new Error(`the chaos run did not finish:\n${readFileSync(log(name), 'utf8').slice(-3000)}`);
        }),
      ]);
    let code = await finished(client, 'chaos-client');
    // A client that lost the server while it was down attaches again (as a user would rerun it).
    for (let i = 0; code !== 0 && i < 2; i++) {
      events.push(`client exited ${code}, started again`);
      client = cli(runArgs, `chaos-client-r${i}`, daemon.host);
      code = await finished(client, `chaos-client-r${i}`);
    }
    worker.kill('SIGTERM');
    await exited(worker);
    console.log(`[chaos] ${events.join('; ')}`);
    expect(code, readFileSync(log('chaos-client'), 'utf8').slice(-3000)).toBe(0);

    // Every rollout recorded, each with a result.
    const runDir = path.join(chaos.dataDir, 'runs', 'chaos');
    for (const t of taskList)
      for (const r of ROLLOUTS) {
        const file = rolloutFolder(runDir, t.id, r).result;
        expect(existsSync(file), `${t.id}/${r}`).toBe(true);
        expect(readJson<RolloutResult>(file).exitStatus, `${t.id}/${r}`).toBe('Submitted');
      }

    // No completed model call repeated: each rollout's first step answered once (8 rollouts),
    // every later step of each rollout once, every summary once, one judge reply per stored vote.
    const calls = deliveredCalls(double.calls.slice(from));
    expect(calls.perStep.size).toBeGreaterThanOrEqual(taskList.length * ROLLOUTS.length);
    expect(calls.firstSteps).toBe(taskList.length * ROLLOUTS.length);
    expect(calls.rollouts).toBe(taskList.length * ROLLOUTS.length);
    expect([...calls.perStep].filter(([, n]) => n > 1)).toEqual([]);
    expect([...calls.summaries.values()].every((n) => n === 1)).toBe(true);
    const votes = taskList
      .map((t) => path.join(taskFolder(runDir, t.id).dir, 'tournaments'))
      .filter(existsSync)
      .flatMap((dir) => readdirSync(dir).flatMap((id) => readdirSync(path.join(dir, id, 'votes'))));
    expect(votes.length).toBeGreaterThan(0);
    expect(calls.judge).toBe(votes.length);
    // The calm run made the same calls.
    expect([calls.firstSteps, calls.rollouts, calls.summaries.size, calls.judge]).toEqual([
      calmCalls.firstSteps,
      calmCalls.rollouts,
      calmCalls.summaries.size,
      calmCalls.judge,
    ]);
    // A fifth of all calls failed, and were retried.
    const all = double.calls.slice(from).filter((c) => c.request);
    expect(all.filter((c) => [429, 529, 500].includes(c.status)).length).toBeGreaterThanOrEqual(
      Math.floor(all.length / 5) - 1,
    );

    // No container left on either daemon.
    const label = (run: string) => ({ filters: { label: [`agentscale.run=${run}`] }, all: true });
    expect(await daemon.docker.listContainers(label('chaos'))).toEqual([]);
    expect(await new Docker().listContainers(label('chaos'))).toEqual([]);
    expect(await new Docker().listContainers(label('calm'))).toEqual([]);

    // The results equal the calm run's.
    const report = readJson<RunReport>(runFolder(runDir).results);
    expect(outcome(report)).toEqual(outcome(calmReport));
    expect(report.scaling?.final).toBe(0.5); // hello-file solved, count-lines not
    passed = true;
  }, 600_000);
});
