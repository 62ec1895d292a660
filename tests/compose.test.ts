// Harbor tasks with several docker-compose services: the rules Compose applies (interpolation,
// command splitting, durations, start order), the loader's reading (what it refuses by name), and
// on the real engine a task's services on a network of their own, internal when the task has no
// internet, removed with the task container; then the validate workflow on such a task.
import { mkdtempSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { interpolate, parseDurationSec, splitCommand, startOrder, type ComposeService } from '../core/compose';
import { loadDatasets } from '../datasets';
import { loadHarborTask } from '../datasets/harbor';
import { startValidation } from '../client/validate';
import { getDocker } from '../runtime/docker';
import { composeVars, evaluateContainer, runSolutionScript, sandboxSpec } from '../runtime/evaluate';
import { prepareServiceImages, prepareTaskImage } from '../runtime/images';
import { createSandbox, execInSandbox, LABEL, listSandboxes, removeSandbox } from '../runtime/sandbox';
import { SANDBOX_LABEL } from '../runtime/services';
import type { ValidationResult } from '../workflows/validate';
import { createWorker, runWorker } from '../worker';
import { FIXTURES, testConfig } from './helpers';
import { closeTestClient, testClient, testServer } from './runHarness';

const TASK = path.join(FIXTURES, 'harbor-compose', 'api-items');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'agentscale-compose-'));

describe('Compose rules', () => {
  it('interpolates as Docker Compose does', () => {
    const vars = { A: 'a', EMPTY: '', N: undefined };
    const ok = (s: string) => {
      const r = interpolate(s, vars);
      if ('error' in r) throw new Error(r.error);
      return r.value;
    };
    expect(ok('$A ${A} $$A $$ x$')).toBe('a a $A $ x$');
    expect(ok('${N:-d} ${N-d} ${EMPTY:-d} ${EMPTY-d}')).toBe('d d d ');
    expect(ok('${A:+r} ${EMPTY:+r} ${EMPTY+r} ${N+r}')).toBe('r  r ');
    expect(ok('${N:-${A}x}')).toBe('ax');
    expect(ok('${N}')).toBe('');
    expect(interpolate('${EMPTY:?needed}', vars)).toEqual({ error: expect.stringMatching(/EMPTY.*needed/) });
    expect(interpolate('${EMPTY?needed}', vars)).toEqual({ value: '' });
    expect(interpolate('${A', vars)).toHaveProperty('error');
    expect(interpolate('${1A}', vars)).toHaveProperty('error');
  });

  it('splits command strings, reads durations and orders services by their dependencies', () => {
    expect(splitCommand(`python3 -c 'print("a b")' "x y" z\\ w`)).toEqual([
      'python3',
      '-c',
      'print("a b")',
      'x y',
      'z w',
    ]);
    expect(() => splitCommand('echo "open')).toThrow(/unterminated/);
    expect([parseDurationSec('1m30s'), parseDurationSec('500ms'), parseDurationSec(3), parseDurationSec('2x')]).toEqual(
      [90, 0.5, 3, undefined],
    );
    const svc = (name: string, deps: string[] = []): ComposeService => ({
      name,
      environment: {},
      dependsOn: Object.fromEntries(deps.map((d) => [d, 'service_started'])),
      mounts: [],
      image: 'x',
    });
    expect(
      startOrder([svc('web', ['db', 'cache']), svc('db'), svc('cache', ['db'])], { web: 'service_started' }),
    ).toEqual(['db', 'cache', 'web']);
    expect(() => startOrder([svc('a', ['b']), svc('b', ['a'])], {})).toThrow(/cycle a -> b -> a/);
    expect(() => startOrder([svc('a', ['nope'])], {})).toThrow(/unknown service nope/);
  });
});

describe('loading compose tasks', () => {
  it('reads the services, main overrides and volumes of a multi-service task', async () => {
    const { tasks, issues } = await loadHarborTask(TASK);
    expect(issues).toEqual([]);
    const t = tasks[0]!;
    expect(t.environment).toEqual({
      kind: 'dockerfile',
      contextDir: path.join(TASK, 'environment'),
      dockerfile: 'Dockerfile',
    });
    expect(t.compose!.main).toEqual({
      dependsOn: { api: 'service_healthy' },
      environment: { API_URL: 'http://api:${API_PORT:-5000}' },
      mounts: [],
    });
    expect(t.compose!.volumes).toEqual(['items']);
    const [api, seed] = t.compose!.services;
    expect(api).toMatchObject({
      name: 'api',
      build: { contextDir: path.join(TASK, 'environment', 'api'), dockerfile: 'Dockerfile' },
      command: ['python3', '/srv/server.py'],
      dependsOn: { seed: 'service_completed_successfully' },
      mounts: [{ kind: 'volume', source: 'items', target: '/data', readOnly: false }],
      healthcheck: { intervalSec: 1, timeoutSec: 5, retries: 30, startPeriodSec: 1, startIntervalSec: 5 },
    });
    expect(seed).toMatchObject({ name: 'seed', image: 'python:3.12-slim' });
    expect((t.metadata.loader as { notes: string[] }).notes.join('\n')).toMatch(/services\.api\.expose not applied/);
  });

  it('refuses by name what it does not run, and a bind mount from outside the task folder', async () => {
    const write = async (name: string, compose: string) => {
      const dir = path.join(tmp, name);
      const files: Record<string, string> = {
        'instruction.md': 'x\n',
        'task.toml': '',
        'environment/Dockerfile': 'FROM ubuntu:24.04\n',
        'environment/docker-compose.yaml': compose,
        'tests/test.sh': '#!/bin/bash\n',
      };
      for (const [rel, content] of Object.entries(files)) {
        await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
        await fs.writeFile(path.join(dir, rel), content);
      }
      return loadHarborTask(dir);
    };
    const host = await write('host', 'services:\n  db:\n    image: postgres\n    network_mode: host\n');
    expect(host.tasks).toEqual([]);
    expect(host.issues).toEqual([expect.objectContaining({ kind: 'unsupported', field: 'services.db.network_mode' })]);
    const bind = await write('bind', 'services:\n  db:\n    image: postgres\n    volumes: ["/etc:/host-etc"]\n');
    expect(bind.issues[0]!.message).toMatch(/unsupported: bind mount of \/etc \(outside the task folder\)/);
    const broken = await write('broken', 'services:\n  db:\n    depends_on: [nope]\n');
    expect(broken.issues.map((i) => i.message).join('\n')).toMatch(/needs a build or an image/);
  });
});

describe('compose services on the engine', () => {
  const { config } = testConfig('compose');

  it('starts the services on an internal network of their own, runs the task against them, removes them with it', async () => {
    const [task] = (await loadHarborTask(TASK)).tasks;
    const main = await prepareTaskImage(task!, config);
    const { images } = await prepareServiceImages(task!, config, composeVars(task!, config, main.image));
    const run = `compose-${Date.now()}`;
    const name = `as-test-${run}`;
    const labels = { [LABEL.run]: run, [LABEL.task]: task!.id, [LABEL.attempt]: 'oracle' };
    const spec = sandboxSpec(task!, config, main.image, name, labels, images);
    try {
      const { containerId } = await createSandbox(spec);
      const docker = getDocker();
      const net = (await docker.getNetwork(name).inspect()) as { Internal: boolean; Labels: Record<string, string> };
      expect(net.Internal).toBe(true);
      expect(net.Labels).toMatchObject({ [LABEL.run]: run, [SANDBOX_LABEL]: name });
      // Every service is ours, labelled with the run (gc and the leftover check see them).
      const boxes = await listSandboxes({ [LABEL.run]: run });
      expect(boxes.map((b) => b.name).sort()).toEqual([name, `${name}-api`, `${name}-seed`].sort());
      // main has compose's environment and the task's template, filled with its default.
      const env = await execInSandbox({
        containerId,
        command:
          'echo "$API_URL $ITEM_NAME"; python3 -c "import socket; socket.create_connection((\'1.1.1.1\', 80), timeout=3)" 2>&1 | tail -1',
        timeoutSec: 30,
        outputCapBytes: 4000,
      });
      expect(env.output).toMatch(/^http:\/\/api:5000 harbor\n/);
      expect(env.output).toMatch(/unreachable|timed out|Network is unreachable|Errno/);

      const logDir = path.join(tmp, 'oracle');
      const solved = await runSolutionScript(task!, containerId, logDir, config);
      expect(solved.exitCode, solved.output).toBe(0);
      const outcome = await evaluateContainer(task!, containerId, logDir, config);
      expect(outcome).toMatchObject({ passed: true, reward: 1 });
    } finally {
      await removeSandbox(name);
    }
    const docker = getDocker();
    expect(await listSandboxes({ [LABEL.run]: run })).toEqual([]);
    expect(await docker.listNetworks({ filters: { label: [`${SANDBOX_LABEL}=${name}`] } })).toEqual([]);
    expect((await docker.listVolumes({ filters: { label: [`${SANDBOX_LABEL}=${name}`] } })).Volumes ?? []).toEqual([]);
  });
});

describe('validate on a compose task', () => {
  const { config } = testConfig('compose-validate');
  const server = testServer(config);
  afterAll(closeTestClient);

  it('the oracle passes against the services and the null attempt fails; nothing is left', async () => {
    const tasks = await loadDatasets([TASK]);
    const runId = `compose-wf-${Date.now()}`;
    const handle = await startValidation(config, server, await testClient(config), tasks, runId, 1);
    const worker = await createWorker(config, server);
    const result = (await runWorker(worker, handle.result())) as ValidationResult;
    expect(result.verdicts[0], result.verdicts[0]?.problems.join('; ')).toMatchObject({
      status: 'valid',
      oracle: { passed: true },
      null: { passed: false },
    });
    expect(await listSandboxes({ [LABEL.run]: runId })).toEqual([]);
    expect(await getDocker().listNetworks({ filters: { label: [`${LABEL.run}=${runId}`] } })).toEqual([]);
  });
});
