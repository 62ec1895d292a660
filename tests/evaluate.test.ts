// Evaluation in all three formats on real Docker, without Temporal: images built offline, the
// oracle and null attempts run in real containers, the hidden tests graded.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../core/config';
import { containerName, type Task } from '../core/task';
import { loadDataset } from '../datasets';
import { loadConfig, PROJECT_ROOT } from '../runtime/config';
import { evaluateContainer, evaluatePatch, runSolutionScript, sandboxSpec, type Outcome } from '../runtime/evaluate';
import { getDocker } from '../runtime/docker';
import { prepareTaskImage } from '../runtime/images';
import { createSandbox, LABEL, listSandboxes, removeSandbox, removeSandboxes } from '../runtime/sandbox';
import { EXAMPLES, FIXTURES } from './helpers';

const project = loadConfig(path.join(PROJECT_ROOT, 'agentscale.yaml'));
const config = ConfigSchema.parse({ ...project, dataDir: mkdtempSync(path.join(os.tmpdir(), 'agentscale-eval-')) });
const RUN = `eval-test-${process.pid}`;
const labels = (task: Task, attempt: string) => ({ [LABEL.run]: RUN, [LABEL.task]: task.id, [LABEL.attempt]: attempt });

async function one(dataset: string, id?: string): Promise<Task> {
  const tasks = await loadDataset(dataset);
  const task = id ? tasks.find((t) => t.id === id) : tasks[0];
  if (!task) throw new Error(`no task ${id} in ${dataset}`);
  return task;
}

/** Runs one attempt the way the validate workflow does, minus Temporal. */
async function attempt(task: Task, kind: 'oracle' | 'null'): Promise<{ outcome: Outcome; logDir: string }> {
  const { image } = await prepareTaskImage(task, config);
  const logDir = mkdtempSync(path.join(os.tmpdir(), `agentscale-eval-${kind}-`));
  const name = containerName(RUN, task.id, kind, 1);
  const spec = sandboxSpec(task, config, image, name, labels(task, kind));
  if (task.verifier.kind === 'swebench') {
    const patch = kind === 'oracle' && task.solution.kind === 'patch' ? task.solution.patch : '';
    return { outcome: await evaluatePatch(task, patch, spec, config, logDir), logDir };
  }
  const { containerId } = await createSandbox(spec);
  try {
    if (kind === 'oracle') await runSolutionScript(task, containerId, logDir, config);
    return { outcome: await evaluateContainer(task, containerId, logDir, config), logDir };
  } finally {
    await removeSandbox(name);
  }
}

afterAll(async () => {
  await removeSandboxes({ [LABEL.run]: RUN });
});

describe('Harbor', () => {
  it('oracle passes and null fails on a good task; logs land in the run folder', async () => {
    const task = await one(path.join(EXAMPLES, 'harbor', 'hello-file'));
    const [oracle, nul] = await Promise.all([attempt(task, 'oracle'), attempt(task, 'null')]);
    expect(oracle.outcome).toMatchObject({ passed: true, reward: 1 });
    expect(nul.outcome).toMatchObject({ passed: false, reward: 0 });
    expect(existsSync(path.join(oracle.logDir, 'solution.log'))).toBe(true);
    expect(readFileSync(path.join(oracle.logDir, 'verifier.log'), 'utf8')).toMatch(/passed/);
  });

  it('a broken reference solution fails its own tests', async () => {
    const task = await one(path.join(FIXTURES, 'harbor', 'broken-oracle'));
    const { outcome } = await attempt(task, 'oracle');
    expect(outcome.passed).toBe(false);
    expect(outcome.reward).toBe(0);
  });

  it('reads named rewards from reward.json with the verifier env applied', async () => {
    const task = await one(path.join(FIXTURES, 'harbor', 'reward-json'));
    const { outcome } = await attempt(task, 'oracle');
    expect(outcome.passed).toBe(true);
    expect(Object.keys(outcome.rewards ?? {}).length).toBeGreaterThan(1);
    expect(outcome.rewards?.reward).toBe(1);
  });
});

describe('Terminal-Bench 1', () => {
  it('oracle passes and null fails, by pytest outcome', async () => {
    const task = await one(path.join(EXAMPLES, 'terminal-bench', 'count-lines'));
    const [oracle, nul] = await Promise.all([attempt(task, 'oracle'), attempt(task, 'null')]);
    expect(oracle.outcome.passed).toBe(true);
    expect(nul.outcome.passed).toBe(false);
    expect(nul.outcome.reason).toMatch(/failing/);
  });

  it('a solution.yaml is typed into one shell as Terminal-Bench 1 types it: state carries over, a program reads the next keystrokes', async () => {
    const task = await one(path.join(FIXTURES, 'terminal-bench', 'yaml-oracle'));
    expect(task.solution).toMatchObject({ kind: 'commands', commands: expect.arrayContaining([]) });
    const [oracle, nul] = await Promise.all([attempt(task, 'oracle'), attempt(task, 'null')]);
    expect(oracle.outcome.passed, readFileSync(path.join(oracle.logDir, 'solution.log'), 'utf8')).toBe(true);
    expect(nul.outcome.passed).toBe(false);
  });

  it('a task whose tests pass with no agent action is caught', async () => {
    const task = await one(path.join(FIXTURES, 'terminal-bench', 'null-passes'));
    const { outcome } = await attempt(task, 'null');
    expect(outcome.passed).toBe(true);
  });
});

describe('SWE-bench', () => {
  it('gold patch resolves; empty patch is not resolved and its FAIL_TO_PASS tests fail', async () => {
    const task = await one(path.join(EXAMPLES, 'swebench', 'instances.jsonl'), 'example__calc-1');
    const [oracle, nul] = await Promise.all([attempt(task, 'oracle'), attempt(task, 'null')]);
    expect(oracle.outcome.passed).toBe(true);
    expect(oracle.outcome.report).toMatchObject({
      patch_exists: true,
      patch_successfully_applied: true,
      resolved: true,
    });
    const report = JSON.parse(readFileSync(path.join(oracle.logDir, 'report.json'), 'utf8'));
    expect(Object.keys(report)).toEqual([task.id]);
    expect(report[task.id].tests_status.FAIL_TO_PASS.failure).toEqual([]);

    expect(nul.outcome.passed).toBe(false);
    expect(nul.outcome.report).toMatchObject({ patch_exists: false, resolved: false });
    expect(nul.outcome.report?.tests_status?.FAIL_TO_PASS.failure.length).toBeGreaterThan(0);
  });

  it('a gold patch that does not fix the issue is not resolved', async () => {
    const task = await one(path.join(FIXTURES, 'swebench', 'bad-gold.jsonl'));
    const { outcome } = await attempt(task, 'oracle');
    expect(outcome.report?.patch_successfully_applied).toBe(true);
    expect(outcome.passed).toBe(false);
  });

  it('a patch that does not apply is reported as such', async () => {
    const task = await one(path.join(EXAMPLES, 'swebench', 'instances.jsonl'), 'example__calc-1');
    const { image } = await prepareTaskImage(task, config);
    const logDir = mkdtempSync(path.join(os.tmpdir(), 'agentscale-eval-bad-'));
    const garbage =
      'diff --git a/nope.py b/nope.py\n--- a/nope.py\n+++ b/nope.py\n@@ -1,1 +1,1 @@\n-not here\n+still not\n';
    const outcome = await evaluatePatch(
      task,
      garbage,
      sandboxSpec(task, config, image, containerName(RUN, task.id, 'garbage', 1), labels(task, 'garbage')),
      config,
      logDir,
    );
    expect(outcome).toMatchObject({ passed: false, reason: 'patch does not apply' });
    expect(outcome.report).toMatchObject({ patch_exists: true, patch_successfully_applied: false, resolved: false });
    expect(readFileSync(path.join(logDir, 'apply.log'), 'utf8')).toContain('patch --batch');
  });

  it('uses the official instance image when the machine has it, under any of its names', async () => {
    const task = await one(path.join(EXAMPLES, 'swebench', 'instances.jsonl'), 'example__calc-1');
    const built = await prepareTaskImage(task, config);
    const official = 'sweb.eval.x86_64.example__calc-1'; // the harness's local name keeps "__"
    await getDocker().getImage(built.image).tag({ repo: official, tag: 'latest' });
    try {
      expect(await prepareTaskImage(task, ConfigSchema.parse({}))).toEqual({
        image: `${official}:latest`,
        how: 'official',
      });
    } finally {
      await getDocker().getImage(`${official}:latest`).remove();
    }
  });

  it('an instance with neither an official image nor a recipe fails with the config key to set', async () => {
    const task = await one(path.join(EXAMPLES, 'swebench', 'instances.jsonl'), 'example__calc-1');
    const bare = ConfigSchema.parse({});
    await expect(prepareTaskImage(task, bare)).rejects.toThrow(/swebench\.recipes\["example\/calc"\]/);
  });
});

describe('image builds', () => {
  it('are cached by content hash and name the failing step on error', async () => {
    const task = await one(path.join(EXAMPLES, 'harbor', 'hello-file'));
    const first = await prepareTaskImage(task, config);
    const again = await prepareTaskImage(task, config);
    expect(again).toMatchObject({ image: first.image, how: 'cached' });
    expect(first.rewrites?.[0]?.to ?? 'agentscale/base:bookworm').toBe('agentscale/base:bookworm');

    const dir = mkdtempSync(path.join(os.tmpdir(), 'agentscale-badbuild-'));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM ubuntu:24.04\nRUN echo building && exit 3\n');
    const broken: Task = {
      ...task,
      id: 'broken-build',
      environment: { kind: 'dockerfile', contextDir: dir, dockerfile: 'Dockerfile' },
    };
    await expect(prepareTaskImage(broken, config)).rejects.toThrow(/exit 3|returned a non-zero code: 3[\s\S]*building/);
  });

  it('leave no containers behind', async () => {
    await removeSandboxes({ [LABEL.run]: RUN });
    expect(await listSandboxes({ [LABEL.run]: RUN })).toEqual([]);
  });
});
