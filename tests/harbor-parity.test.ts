// Differential tests against Harbor itself: on the same real task folders, `validate` must give
// the rewards Harbor's `oracle` and `nop` agents get, task by task (a disagreement prints both
// sides). Harbor is installed by scripts/harbor-reference.sh into the data folder's tools; when
// that cannot be done the tests are skipped with the reason printed.
//
//   always:                 tests/fixtures/harbor-real (two cookbook tasks, source in SOURCE.md)
//   AGENTSCALE_HARBOR_TASKS a folder of Harbor task folders (e.g. harbor-cookbook's recipes,
//                           brought in with `fetch` and `git archive`); tasks we do not run must
//                           be listed as unsupported, the others must agree with Harbor
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttemptResult, TaskVerdict } from '../core/validation';
import { loadForValidation, startValidation } from '../client/validate';
import { getDocker } from '../runtime/docker';
import { imageExists } from '../runtime/images';
import { PROJECT_ROOT } from '../runtime/config';
import type { ServerHandle } from '../runtime/temporal';
import { createWorker, runWorker } from '../worker';
import type { ValidationResult } from '../workflows/validate';
import { FIXTURES, testConfig } from './helpers';

/** Harbor, installed (idempotent; about 45 s the first time), or why not. */
function installHarbor(): { harbor?: string; dockerConfig?: string; reason?: string } {
  const r = spawnSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'harbor-reference.sh')], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  const harbor = r.stdout?.trim().split('\n').at(-1);
  if (r.status !== 0 || !harbor || !existsSync(harbor))
    return { reason: `scripts/harbor-reference.sh failed: ${(r.stderr || r.error?.message || '').trim().slice(-400)}` };
  return { harbor, dockerConfig: path.join(path.dirname(path.dirname(path.dirname(harbor))), 'docker-config') };
}

const ref = installHarbor();
if (ref.reason) console.warn(`[harbor-parity] skipped: ${ref.reason}`);
const MIRROR = process.env.AGENTSCALE_HARBOR_TASKS;
if (!MIRROR) console.warn('[harbor-parity] mirror test skipped: AGENTSCALE_HARBOR_TASKS is not set');

/** One side's outcome of one attempt: the rewards, or that it erred. */
type Side = Record<string, number> | 'error';
const show = (s: Side | undefined) => (s === undefined ? 'missing' : JSON.stringify(s));

/** Offline, stock Harbor refuses no-network tasks; this subclass uses Docker's network_mode none. */
const OFFLINE_ENV = 'agentscale_offline_env:OfflineDockerEnvironment';
const SUPPORT = path.join(PROJECT_ROOT, 'tests', 'harbor-support');

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (status) => resolve({ status, output }));
    child.on('error', (e) => resolve({ status: -1, output: String(e) }));
  });
}

/**
 * Harbor's `agent` on one task folder, as its own `harbor run` (Harbor refuses a whole job when
 * one task lacks something, such as an env variable it templates: that is the task's error).
 */
async function harborTrial(dir: string, agent: 'oracle' | 'nop'): Promise<Side> {
  const jobs = mkdtempSync(path.join(os.tmpdir(), `agentscale-harbor-${agent}-`));
  const r = await run(ref.harbor!, ['run', '-p', dir, '-a', agent, '-e', OFFLINE_ENV, '-o', jobs, '-n', '1', '-y'], {
    ...process.env,
    HARBOR_TELEMETRY: '0',
    DOCKER_CONFIG: ref.dockerConfig,
    PYTHONPATH: SUPPORT,
  });
  if (r.status !== 0) {
    console.log(`[harbor-parity] harbor refused ${path.basename(dir)}: ${r.output.trim().slice(-300)}`);
    return 'error';
  }
  // `harbor run` exits 0 even when trials err: the trial's result.json says what happened.
  for (const job of readdirSync(jobs))
    for (const trial of readdirSync(path.join(jobs, job))) {
      const file = path.join(jobs, job, trial, 'result.json');
      if (!existsSync(file)) continue;
      const res = JSON.parse(readFileSync(file, 'utf8')) as {
        verifier_result?: { rewards?: Record<string, number> } | null;
      };
      // No verifier result: the trial erred (no reward file, a failed build, a timeout).
      return res.verifier_result?.rewards ?? 'error';
    }
  return 'error';
}

/** Every (task, agent) trial, two at a time (the machines have two cores). */
async function harborRuns(dirs: string[]): Promise<Map<string, Side>> {
  const jobs = dirs.flatMap((d) => (['oracle', 'nop'] as const).map((a) => ({ d, a })));
  const out = new Map<string, Side>();
  let next = 0;
  const worker = async () => {
    for (let j = jobs[next++]; j; j = jobs[next++])
      out.set(`${path.basename(j.d)} ${j.a}`, await harborTrial(j.d, j.a));
  };
  await Promise.all([worker(), worker()]);
  return out;
}

const ours = (a: AttemptResult): Side =>
  a.error !== undefined ? 'error' : (a.rewards ?? (a.reward !== undefined ? { reward: a.reward } : 'error'));

/** Stand-in base images under the names the tasks use; removed afterwards if we made them. */
const STAND_INS: Record<string, string> = {
  'ubuntu:24.04': 'agentscale/base:bookworm',
  'python:3.12-slim': 'agentscale/base:bookworm',
};
const tagged: string[] = [];

const { config } = testConfig('harbor-parity');
let connection: Connection;
let client: Client;
let server: ServerHandle;

beforeAll(async () => {
  server = { address: config.temporal.address!, namespace: config.temporal.namespace, searchAttributes: true };
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection, namespace: server.namespace });
  if (ref.reason) return;
  for (const [name, local] of Object.entries(STAND_INS)) {
    if (await imageExists(name)) continue;
    const [repo, tag] = name.split(':') as [string, string];
    await getDocker().getImage(local).tag({ repo, tag });
    tagged.push(name);
  }
});
afterAll(async () => {
  for (const name of tagged) await getDocker().getImage(name).remove({ noprune: true });
  await connection?.close();
});

/** `validate` on the folders (a partial dataset, as a user would run it), Harbor on the same tasks. */
async function compare(dirs: string[]) {
  const { tasks, rejected } = await loadForValidation(config, dirs);
  const runId = `parity-${Date.now()}`;
  const handle = await startValidation(config, server, client, tasks, runId, 2, rejected);
  const worker = await createWorker(config, server);
  const result = (await runWorker(worker, handle.result())) as ValidationResult;
  const verdicts = new Map<string, TaskVerdict>(result.verdicts.map((v) => [v.taskId, v]));
  const harbor = await harborRuns(tasks.map((t) => t.source));

  const disagreements: string[] = [];
  const lines: string[] = [];
  for (const task of tasks) {
    const v = verdicts.get(task.id)!;
    for (const [ourKind, agent] of [
      ['oracle', 'oracle'],
      ['null', 'nop'],
    ] as const) {
      const a = ours(v[ourKind]);
      const b = harbor.get(`${path.basename(task.source)} ${agent}`);
      const line = `${task.id} ${agent}: agentscale ${show(a)}, harbor ${show(b)}`;
      lines.push(line);
      if (show(a) !== show(b)) disagreements.push(`${line}\n    ours: ${v[ourKind].reason} ${v[ourKind].error ?? ''}`);
    }
  }
  console.log(`[harbor-parity] ${dirs.join(' ')}\n  ${lines.join('\n  ')}`);
  for (const r of rejected) console.log(`  not run here: ${r.id} (${r.kind}): ${r.reasons[0]}`);
  return { tasks, rejected, disagreements, result, byId: verdicts, harbor };
}

describe.skipIf(!!ref.reason)('validate against Harbor', () => {
  it('gives the rewards Harbor gives on two real cookbook tasks and on the phase fixtures', async () => {
    const { tasks, disagreements, byId } = await compare([
      path.join(FIXTURES, 'harbor-real'),
      path.join(FIXTURES, 'harbor-phases'),
    ]);
    expect(tasks.map((t) => t.id).sort()).toEqual(['multi-reward', 'no-reward', 'offline', 'phases', 'simple-task']);
    expect(disagreements, disagreements.join('\n')).toEqual([]);
    // What the fixtures are for: each check passed on both sides, the offline task had no
    // network, and a missing reward file is an error on both sides, not a 0.
    expect(byId.get('phases')!.oracle.rewards).toMatchObject({
      reward: 1,
      image_path: 1,
      solved_as_agent: 1,
      healthcheck_ran: 1,
    });
    expect(byId.get('phases')!.status).toBe('valid'); // and its nop attempt fails
    expect(byId.get('offline')!.oracle.rewards).toEqual({ reward: 1, solved: 1 });
    expect(byId.get('no-reward')!.status).toBe('error');
  }, 900_000);

  it('agrees with Harbor (docker compose) on a task with several compose services', async () => {
    // tests/fixtures/harbor-compose/api-items with a public network: stock Harbor runs it with
    // `docker compose` (its no-network handling needs an egress sidecar that cannot be built here).
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'agentscale-compose-parity-')), 'api-items-public');
    cpSync(path.join(FIXTURES, 'harbor-compose', 'api-items'), dir, { recursive: true });
    const toml = path.join(dir, 'task.toml');
    writeFileSync(toml, readFileSync(toml, 'utf8').replace(/^network_mode = .*$/m, 'network_mode = "public"'));
    const { tasks, disagreements, byId } = await compare([dir]);
    expect(tasks.map((t) => t.id)).toEqual(['api-items-public']);
    expect(disagreements, disagreements.join('\n')).toEqual([]);
    expect(byId.get('api-items-public')!.status).toBe('valid');
  }, 900_000);

  it.skipIf(!MIRROR)(
    'agrees with Harbor on every task it runs from AGENTSCALE_HARBOR_TASKS and lists the rest',
    async () => {
      const { tasks, rejected, disagreements, result } = await compare([MIRROR!]);
      expect(tasks.length).toBeGreaterThan(0);
      // Every task folder is either run or listed, with its reason, in the results.
      expect(result.summary.total).toBe(tasks.length + rejected.length);
      expect(disagreements, disagreements.join('\n')).toEqual([]);
    },
    3_600_000,
  );
});
