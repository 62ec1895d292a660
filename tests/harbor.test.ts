// Harbor parity without Harbor: the rules of core/harbor.ts, the loader's reading of the format
// (network, unsupported parts, partial datasets), image-reference mapping, the CA layer, and the
// oracle and verifier phases run on real Docker the way Harbor runs them.
import { execFileSync } from 'node:child_process';
import { promises as fs, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../core/config';
import { imageReferences, rewriteBaseImages, rewriteComposeImages } from '../core/dockerfile';
import {
  applyTimeoutMultipliers,
  effectiveNetwork,
  parseHarborRewards,
  pythonFloat,
  resolveEnvTemplates,
  rewardsPass,
  scriptCommand,
} from '../core/harbor';
import { mapBaseImage } from '../core/config';
import { containerName, DatasetError, type Task } from '../core/task';
import { decideVerdict, rejectedVerdict, renderTable, summarize } from '../core/validation';
import { loadDataset, loadDatasets, loadPartialDatasets } from '../datasets';
import { loadHarborTask } from '../datasets/harbor';
import { injectCaLayer, CA_ENV } from '../runtime/certificates';
import { loadConfig, PROJECT_ROOT } from '../runtime/config';
import { evaluateContainer, prepareSandbox, runSolutionScript, sandboxSpec } from '../runtime/evaluate';
import { prepareTaskImage } from '../runtime/images';
import { createSandbox, LABEL, removeSandbox, removeSandboxes } from '../runtime/sandbox';
import { FIXTURES } from './helpers';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'agentscale-harbor-'));
let counter = 0;
async function makeTask(files: Record<string, string>, name = `h${++counter}`): Promise<string> {
  const dir = path.join(tmp, name);
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(dir, rel);
    await fs.mkdir(path.dirname(p), { recursive: true });
    await fs.writeFile(p, content, { mode: rel.endsWith('.sh') ? 0o755 : 0o644 });
  }
  return dir;
}
const base = (over: Record<string, string | undefined> = {}) =>
  Object.fromEntries(
    Object.entries({
      'instruction.md': 'Do it.\n',
      'task.toml': '[verifier]\ntimeout_sec = 30\n',
      'environment/Dockerfile': 'FROM ubuntu:24.04\n',
      'tests/test.sh': '#!/bin/bash\necho 1 > /logs/verifier/reward.txt\n',
      'solution/solve.sh': '#!/bin/bash\ntrue\n',
      ...over,
    }).filter((e): e is [string, string] => e[1] !== undefined),
  );

describe('Harbor rules', () => {
  it('reads reward.json before reward.txt, and a missing, empty or non-numeric reward is an error', () => {
    expect(parseHarborRewards('0', '{"reward": 1, "style": 0.5}')).toEqual({
      rewards: { reward: 1, style: 0.5 },
      reward: 1,
    });
    expect(parseHarborRewards('1\n', undefined)).toEqual({ rewards: { reward: 1 }, reward: 1 });
    expect(parseHarborRewards(' 1_0e-1 ', undefined)).toEqual({ rewards: { reward: 1 }, reward: 1 });
    const errors = [
      parseHarborRewards(undefined, undefined),
      parseHarborRewards('', undefined),
      parseHarborRewards('pass', undefined),
      parseHarborRewards('nan', undefined),
      parseHarborRewards('1', ''),
      parseHarborRewards(undefined, '1'),
      parseHarborRewards(undefined, '{"reward": "1"}'),
    ];
    for (const e of errors) expect(e).toHaveProperty('error');
    expect((errors[0] as { error: string }).error).toMatch(/no reward file/);
    // Python's bool is an int: Harbor accepts true as 1.
    expect(parseHarborRewards(undefined, '{"ok": true}')).toEqual({ rewards: { ok: 1 } });
  });

  it('parses reward.txt as Python float() does', () => {
    expect(pythonFloat('0.5')).toBe(0.5);
    expect(pythonFloat('.5')).toBe(0.5);
    expect(pythonFloat('5.')).toBe(5);
    expect(pythonFloat('-1e3')).toBe(-1000);
    expect(pythonFloat('0x10')).toBeUndefined();
    expect(pythonFloat('1__0')).toBeUndefined();
    expect(pythonFloat('inf')).toBeNaN();
  });

  it('passes on the reward key, else on full marks in every named reward', () => {
    expect(rewardsPass({ reward: 1, style: 0 })).toBe(true);
    expect(rewardsPass({ reward: 0.99 })).toBe(false);
    expect(rewardsPass({ correctness: 1, performance: 1 })).toBe(true);
    expect(rewardsPass({ correctness: 1, performance: 0 })).toBe(false);
  });

  it('runs scripts directly with all output to the phase log', () => {
    expect(scriptCommand('/solution/solve.sh', '/logs/agent/oracle.txt')).toBe(
      '(/solution/solve.sh) > /logs/agent/oracle.txt 2>&1',
    );
    expect(scriptCommand('/tests/my test.sh', '/logs/x')).toBe(`('/tests/my test.sh') > /logs/x 2>&1`);
  });

  it('fills ${VAR} and ${VAR:-default} from the host, never passes the model key, fails on an unset one', () => {
    const host = { HOME_DIR: '/h', ANTHROPIC_API_KEY: 'sk-secret' };
    expect(resolveEnvTemplates({ A: '${HOME_DIR}', B: '${NOPE:-d}', C: 'lit ${HOME_DIR}' }, host)).toEqual({
      env: { A: '/h', B: 'd', C: 'lit ${HOME_DIR}' },
    });
    const withheld = resolveEnvTemplates({ K: '${ANTHROPIC_API_KEY}' }, host, new Set(['ANTHROPIC_API_KEY']));
    expect(withheld).toHaveProperty('error');
    expect(JSON.stringify(withheld)).not.toContain('sk-secret');
    expect(resolveEnvTemplates({ K: '${NOPE}' }, host)).toEqual({
      error: 'K: environment variable NOPE is not set on the worker',
    });
  });

  it('multiplies timeouts as Harbor does: a phase multiplier overrides the general one', async () => {
    const [t] = await loadDataset(await makeTask(base({ 'task.toml': '[agent]\ntimeout_sec = 100\n' })));
    const scaled = applyTimeoutMultipliers(t!, { multiplier: 2, verifier: 0.5 });
    expect(scaled.agent.timeoutSec).toBe(200);
    expect(scaled.verifierTimeoutSec).toBe(300); // Harbor's default 600 s x 0.5
    expect(scaled.buildTimeoutSec).toBe(1200);
    expect(scaled.metadata.baseTimeouts).toEqual({
      agentTimeoutSec: 100,
      verifierTimeoutSec: 600,
      buildTimeoutSec: 600,
    });
    expect(applyTimeoutMultipliers(t!, { multiplier: 1 })).toBe(t);
  });

  it('gives the task its network unless the host keeps every task offline', () => {
    expect(effectiveNetwork(true, 'task')).toEqual({ requested: 'public', effective: 'public' });
    expect(effectiveNetwork(true, 'none')).toEqual({ requested: 'public', effective: 'none' });
    expect(effectiveNetwork(false, 'task')).toEqual({ requested: 'none', effective: 'none' });
  });

  it('says so in the verdict when a task failed without the network it asked for', () => {
    const net = { requested: 'public' as const, effective: 'none' as const };
    const v = decideVerdict(
      't',
      'harbor',
      { kind: 'oracle', passed: false, reason: 'reward 0', tries: 1, durationMs: 1, network: net },
      { kind: 'null', passed: false, reason: 'reward 0', tries: 1, durationMs: 1, network: net },
    );
    expect(v.problems).toEqual(['oracle fails: reward 0 (ran without network; the task asks for a public network)']);
  });
});

describe('Harbor loader', () => {
  it('defaults to a public network; allow_internet = false and network_mode = "no-network" forbid it', async () => {
    const cases: [string, boolean][] = [
      ['', true],
      ['[environment]\nallow_internet = false\n', false],
      ['[environment]\nnetwork_mode = "no-network"\n', false],
      ['[environment]\nnetwork_mode = "public"\nallow_internet = false\n', true], // network_mode wins
    ];
    for (const [toml, expected] of cases) {
      const [t] = await loadDataset(await makeTask(base({ 'task.toml': toml })));
      expect(t!.allowInternet, toml).toBe(expected);
    }
  });

  it('reads workdir and solution.env', async () => {
    const [t] = await loadDataset(
      await makeTask(base({ 'task.toml': '[environment]\nworkdir = "/app"\n[solution]\nenv = { A = "1" }\n' })),
    );
    expect(t!.workdir).toBe('/app');
    expect(t!.solutionEnv).toEqual({ A: '1' });
  });

  it('refuses each unsupported part of the format by name', async () => {
    const cases: [Record<string, string | undefined>, RegExp][] = [
      // As harbor-cookbook's multi-step recipe: instructions under steps/, none at the top.
      [{ 'steps/one/instruction.md': 'x', 'instruction.md': undefined, 'tests/test.sh': undefined }, /multi-step task/],
      [{ 'task.toml': '[[steps]]\nname = "a"\n' }, /multi-step task/],
      [{ 'tests/Dockerfile': 'FROM ubuntu:24.04\n' }, /separate verifier container/],
      [{ 'task.toml': '[verifier]\nenvironment_mode = "separate"\n' }, /separate verifier container/],
      [
        { 'task.toml': '[[environment.mcp_servers]]\nname = "tools"\ntransport = "sse"\nurl = "http://x"\n' },
        /MCP servers.*tools/,
      ],
      [{ 'task.toml': '[environment]\nnetwork_mode = "allowlist"\nallowed_hosts = ["pypi.org"]\n' }, /allowlist/],
      [{ 'task.toml': '[verifier]\nnetwork_mode = "no-network"\n' }, /differs from the environment/],
      [{ 'task.toml': '[environment]\nos = "windows"\n' }, /Linux containers only/],
      [
        {
          'environment/Dockerfile': undefined,
          'environment/docker-compose.yaml': 'services:\n  db:\n    image: postgres\n    privileged: true\n',
        },
        /docker-compose service key "privileged"/,
      ],
    ];
    for (const [files, message] of cases) {
      const { tasks, issues } = await loadHarborTask(await makeTask(base(files)));
      expect(tasks, String(message)).toEqual([]);
      expect(issues.length, String(message)).toBeGreaterThan(0);
      expect(issues.every((i) => i.kind === 'unsupported')).toBe(true);
      expect(issues.map((i) => i.message).join('\n')).toMatch(message);
      expect(issues[0]!.message).toMatch(/^unsupported: /);
    }
  });

  it('a partial dataset runs what it can and lists the rest with their reasons; strict refuses it all', async () => {
    const dir = path.join(tmp, 'partial');
    const add = async (name: string, files: Record<string, string>) => {
      for (const [rel, content] of Object.entries(files)) {
        const p = path.join(dir, name, rel);
        await fs.mkdir(path.dirname(p), { recursive: true });
        await fs.writeFile(p, content);
      }
    };
    await add('good-a', base());
    await add('good-b', base());
    await add('multi-step', base({ 'steps/one/instruction.md': 'x' }));
    await add('bad-toml', base({ 'task.toml': '[agent]\ntimeout_sec = "soon"\n' }));
    const { tasks, rejected } = await loadPartialDatasets([dir]);
    expect(tasks.map((t) => t.id).sort()).toEqual(['good-a', 'good-b']);
    expect(rejected.map((r) => [r.id, r.kind])).toEqual([
      ['bad-toml', 'malformed'],
      ['multi-step', 'unsupported'],
    ]);
    expect(rejected[0]!.reasons[0]).toMatch(/^task\.toml \[agent\.timeout_sec\]/);
    const verdicts = rejected.map(rejectedVerdict);
    expect(summarize('r', verdicts)).toMatchObject({ total: 2, skipped: 2, valid: 0 });
    expect(renderTable(verdicts)).toMatch(
      /\| multi-step \| harbor \| - \| - \| unsupported \| steps: unsupported: multi-step/,
    );
    await expect(loadDatasets([dir])).rejects.toBeInstanceOf(DatasetError);
    // Problems that are not one task's still stop everything.
    await expect(loadPartialDatasets([dir, path.join(tmp, 'missing')])).rejects.toThrow(/no such file/);
  });
});

describe('image references', () => {
  const map = { 'ubuntu:*': 'local/base', 'ghcr.io/astral-sh/uv:*': 'local/uv' };
  it('maps FROM, COPY --from, ADD --from and RUN --mount from=, never stage names or indexes', () => {
    const df = [
      'FROM ubuntu:24.04 AS build',
      'COPY --from=ghcr.io/astral-sh/uv:0.9.7 /uv /uvx /bin/',
      'FROM ubuntu:22.04',
      'COPY --chown=1000 --from=build /out /out',
      'COPY --from=0 /a /a',
      'ADD --from=ghcr.io/astral-sh/uv:0.9 /uv /bin/uv',
      'RUN --mount=type=bind,from=ghcr.io/astral-sh/uv:0.9,source=/uv,target=/bin/uv uv --version',
      '',
    ].join('\n');
    expect(imageReferences(df).sort()).toEqual([
      'ghcr.io/astral-sh/uv:0.9',
      'ghcr.io/astral-sh/uv:0.9.7',
      'ubuntu:22.04',
      'ubuntu:24.04',
    ]);
    const r = rewriteBaseImages(df, (i) => mapBaseImage(i, map));
    expect(r.dockerfile.split('\n')).toEqual([
      'FROM local/base AS build',
      'COPY --from=local/uv /uv /uvx /bin/',
      'FROM local/base',
      'COPY --chown=1000 --from=build /out /out',
      'COPY --from=0 /a /a',
      'ADD --from=local/uv /uv /bin/uv',
      'RUN --mount=type=bind,from=local/uv,source=/uv,target=/bin/uv uv --version',
      '',
    ]);
    expect(r.rewrites.map((m) => m.where)).toEqual(['FROM', 'COPY --from', 'FROM', 'ADD --from', 'RUN --mount']);
  });

  it('maps compose image: but not the image a build section names', () => {
    const doc = {
      services: { main: { build: '.', image: 'ubuntu:24.04' }, db: { image: 'ubuntu:22.04' }, x: { image: 'redis:7' } },
    };
    expect(rewriteComposeImages(doc, (i) => mapBaseImage(i, map))).toEqual([
      { from: 'ubuntu:22.04', to: 'local/base', where: 'compose image' },
    ]);
    expect(doc.services.db.image).toBe('local/base');
    expect(doc.services.main.image).toBe('ubuntu:24.04');
  });

  it('puts the CA files and variables after every FROM, continuation lines included', () => {
    const out = injectCaLayer('FROM a AS x\nRUN true\nFROM \\\n  b\nRUN curl https://x\n').split('\n');
    expect(out[1]).toBe('COPY .agentscale-ca-root/ /');
    expect(out[2]).toContain(`SSL_CERT_FILE=${CA_ENV.SSL_CERT_FILE}`);
    expect(out.slice(4, 8)).toEqual(['FROM \\', '  b', 'COPY .agentscale-ca-root/ /', out[2]]);
    expect(out.at(-2)).toMatch(/update-ca-certificates/);
  });
});

// ---- on real Docker ----

const project = loadConfig(path.join(PROJECT_ROOT, 'agentscale.yaml'));
const config = ConfigSchema.parse({ ...project, dataDir: mkdtempSync(path.join(os.tmpdir(), 'agentscale-hp-')) });
const RUN = `harbor-test-${process.pid}`;
afterAll(async () => {
  await removeSandboxes({ [LABEL.run]: RUN });
  await fs.rm(tmp, { recursive: true, force: true });
});

async function attempt(task: Task, kind: 'oracle' | 'null', cfg = config) {
  const { image } = await prepareTaskImage(task, cfg);
  const logDir = mkdtempSync(path.join(os.tmpdir(), `agentscale-hp-${kind}-`));
  const name = containerName(RUN, task.id, kind, 1);
  const { containerId } = await createSandbox(
    sandboxSpec(task, cfg, image, name, { [LABEL.run]: RUN, [LABEL.task]: task.id, [LABEL.attempt]: kind }),
  );
  try {
    await prepareSandbox(task, containerId, cfg);
    if (kind === 'oracle') await runSolutionScript(task, containerId, logDir, cfg);
    return { outcome: await evaluateContainer(task, containerId, logDir, cfg), logDir };
  } finally {
    await removeSandbox(name);
  }
}

describe('Harbor phases on Docker', () => {
  it('run solve.sh by its shebang as the agent user in the workdir with Harbor env, and ignore test.sh exit', async () => {
    const [task] = await loadDataset(path.join(FIXTURES, 'harbor-phases', 'phases'));
    const { outcome, logDir } = await attempt(task!, 'oracle');
    expect(outcome.rewards, readFileSync(path.join(logDir, 'verifier.log'), 'utf8')).toEqual({
      reward: 1,
      solved_as_agent: 1,
      solved_in_workdir: 1,
      debian_frontend: 1,
      task_env: 1,
      templated_env: 1,
      solution_env: 1,
      image_path: 1,
      verifier_env: 1,
      healthcheck_ran: 1,
      verifier_as_root: 1,
      oracle_log: 1,
    });
    expect(outcome).toMatchObject({ passed: true, verifierExitCode: 3 });
    expect(readFileSync(path.join(logDir, 'oracle.txt'), 'utf8')).toMatch(/oracle wrote/);
    expect(readFileSync(path.join(logDir, 'test-stdout.txt'), 'utf8')).toMatch(/exit 3/);
    // The nop agent runs nothing: reward.json says 0, and that is a reward, not an error.
    const nul = await attempt(task!, 'null');
    expect(nul.outcome).toMatchObject({ passed: false, reward: 0 });
    expect(nul.outcome.error).toBeUndefined();
  });

  it('a verifier that writes no reward file errs, and so does one that times out', async () => {
    const none = (
      await loadDataset(await makeTask(base({ 'tests/test.sh': '#!/bin/bash\necho no reward here\n' })))
    )[0]!;
    const a = await attempt(none, 'null');
    expect(a.outcome).toMatchObject({ passed: false, error: expect.stringMatching(/no reward file/) });
    const slow = (
      await loadDataset(
        await makeTask(
          base({
            'task.toml': '[verifier]\ntimeout_sec = 2\n',
            'tests/test.sh': '#!/bin/bash\necho 1 > /logs/verifier/reward.txt\nsleep 30\n',
          }),
        ),
      )
    )[0]!;
    const b = await attempt(slow, 'null');
    expect(b.outcome).toMatchObject({ timedOut: true, error: 'verifier timed out after 2 s' });
  });

  it('runs the healthcheck before anything else: start-period failures do not count, then retries do', async () => {
    // Healthy once /tmp/ready exists, which the check itself creates on its second run.
    const ok = (
      await loadDataset(
        await makeTask(
          base({
            'task.toml':
              '[environment.healthcheck]\ncommand = "test -e /tmp/ready || { touch /tmp/ready; exit 1; }"\ninterval_sec = 0.2\nstart_interval_sec = 0.2\nretries = 2\n',
          }),
        ),
      )
    )[0]!;
    expect(ok.healthcheck).toMatchObject({ retries: 2, timeoutSec: 30, startPeriodSec: 0 });
    expect((await attempt(ok, 'null')).outcome.reward).toBe(1);
    const never = (
      await loadDataset(
        await makeTask(
          base({
            'task.toml':
              '[environment.healthcheck]\ncommand = "exit 7"\ninterval_sec = 0.2\nstart_interval_sec = 0.2\nstart_period_sec = 0.5\nretries = 2\n',
          }),
        ),
      )
    )[0]!;
    await expect(attempt(never, 'null')).rejects.toThrow(/healthcheck failed after 2 consecutive retries: exit 7/);
  });

  it('copies environment/ into the workdir of a prebuilt docker_image, as Harbor does', async () => {
    const files = {
      'task.toml': '[environment]\ndocker_image = "agentscale/base:bookworm"\nworkdir = "/app"\n',
      'environment/Dockerfile': undefined,
      'environment/data/input.txt': 'from environment/\n',
      'tests/test.sh':
        '#!/bin/bash\ngrep -q "from environment/" /app/data/input.txt && echo 1 > /logs/verifier/reward.txt || echo 0 > /logs/verifier/reward.txt\n',
    };
    const [task] = await loadDataset(await makeTask(base(files)));
    expect(task!.environment).toMatchObject({ kind: 'image', uploadDir: expect.stringMatching(/environment$/) });
    expect((await attempt(task!, 'null')).outcome.reward).toBe(1);
  });

  it('gives no network when the task forbids it, or when the host keeps tasks offline', async () => {
    const probe =
      '#!/bin/bash\nif ip -o link 2>/dev/null | grep -q eth0 || [ -e /sys/class/net/eth0 ]; then r=1; else r=0; fi\necho $r > /logs/verifier/reward.txt\n';
    const open = (await loadDataset(await makeTask(base({ 'tests/test.sh': probe }))))[0]!;
    const closed = (
      await loadDataset(
        await makeTask(base({ 'tests/test.sh': probe, 'task.toml': '[environment]\nallow_internet = false\n' })),
      )
    )[0]!;
    const offline = ConfigSchema.parse({ ...config, sandbox: { ...config.sandbox, network: 'none' } });
    expect((await attempt(open, 'null')).outcome.reward).toBe(1);
    expect((await attempt(closed, 'null')).outcome.reward).toBe(0);
    expect((await attempt(open, 'null', offline)).outcome.reward).toBe(0);
  });
});

describe('extra CA certificates', () => {
  it('are trusted in built images and in containers of prebuilt ones, without touching the task', async () => {
    const certDir = mkdtempSync(path.join(os.tmpdir(), 'agentscale-ca-'));
    const cert = path.join(certDir, 'extra.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=agentscale test CA',
        '-keyout',
        path.join(certDir, 'key.pem'),
        '-out',
        cert,
      ],
      { stdio: 'pipe' },
    );
    const pem = readFileSync(cert, 'utf8').trim();
    const withCa = ConfigSchema.parse({ ...config, sandbox: { ...config.sandbox, caCertificates: [cert] } });
    const check =
      '#!/bin/bash\n' +
      'grep -q "$(sed -n 2p /usr/local/share/ca-certificates/agentscale-extra-1.crt)" "$SSL_CERT_FILE" && ' +
      '[ "$REQUESTS_CA_BUNDLE" = "$SSL_CERT_FILE" ] && [ "$NODE_EXTRA_CA_CERTS" = "$SSL_CERT_FILE" ] && ' +
      '[ "$PIP_CERT" = "$SSL_CERT_FILE" ] && [ "$UV_NATIVE_TLS" = 1 ] && ' +
      'grep -q "$(sed -n 2p /usr/local/share/ca-certificates/agentscale-extra-1.crt)" /etc/ssl/certs/ca-certificates.crt && ' +
      'echo 1 > /logs/verifier/reward.txt || echo 0 > /logs/verifier/reward.txt\n';
    // A .dockerignore that excludes everything it does not name must not hide the CA files.
    const dir = await makeTask(
      base({
        'tests/test.sh': check,
        'environment/.dockerignore': '*\n!keep.txt\n',
        'environment/keep.txt': 'kept\n',
        'environment/Dockerfile': 'FROM ubuntu:24.04\nCOPY keep.txt /keep.txt\n',
      }),
    );
    const before = await fs.readFile(path.join(dir, 'environment', 'Dockerfile'), 'utf8');
    const built = (await loadDataset(dir))[0]!;
    expect((await attempt(built, 'null', withCa)).outcome.reward).toBe(1);
    expect(await fs.readFile(path.join(dir, 'environment', 'Dockerfile'), 'utf8')).toBe(before);
    // A prebuilt image (docker_image) gets the same trust through a thin layer over it.
    const prebuilt: Task = {
      ...built,
      id: 'prebuilt-ca',
      environment: { kind: 'image', image: 'agentscale/base:bookworm' },
    };
    const p = await prepareTaskImage(prebuilt, withCa);
    expect(p.image).toMatch(/^agentscale\/ca:/);
    expect((await attempt(prebuilt, 'null', withCa)).outcome.reward).toBe(1);
    // And without the setting nothing is added.
    expect((await attempt(built, 'null')).outcome.reward).toBe(0);
    expect(pem).toMatch(/BEGIN CERTIFICATE/);
  });
});

/** Whether this host reaches PyPI over HTTPS itself (through whatever proxy it trusts). */
function hostReachesPypi(): boolean {
  try {
    execFileSync(
      'python3',
      ['-c', "import urllib.request; urllib.request.urlopen('https://pypi.org/simple/six/', timeout=10)"],
      { stdio: 'pipe', timeout: 20_000 },
    );
    return true;
  } catch {
    return false;
  }
}
const pypi = hostReachesPypi();
if (!pypi) console.warn('[harbor] HTTPS-through-the-proxy test skipped: this host does not reach https://pypi.org');

describe.skipIf(!pypi)('extra CA certificates on this host', () => {
  it('let pip and Python reach PyPI over HTTPS from a task container, where the plain image cannot', async () => {
    const fetchPypi =
      '#!/bin/bash\n' +
      'python3 -c "import urllib.request; urllib.request.urlopen(\'https://pypi.org/simple/six/\', timeout=20)" && ' +
      'python3 -m pip download --quiet --no-deps --disable-pip-version-check -d /tmp/dl six && ' +
      'echo 1 > /logs/verifier/reward.txt || echo 0 > /logs/verifier/reward.txt\n';
    const task = (await loadDataset(await makeTask(base({ 'tests/test.sh': fetchPypi }))))[0]!;
    const trusted = ConfigSchema.parse({ ...config, sandbox: { ...config.sandbox, caCertificates: ['host'] } });
    expect((await attempt(task, 'null', trusted)).outcome.reward).toBe(1);
    expect((await attempt(task, 'null')).outcome.reward).toBe(0);
  });
});
