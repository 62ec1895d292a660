// Rollouts survive their workers: one worker is stopped gracefully (it removes its containers, so
// the next one rebuilds them by replaying stored commands), the next is killed with SIGKILL mid-
// rollout, a third finishes the run; the terminal agent's rollouts (Harbor, Terminal-Bench) and the
// bash agent's (SWE-bench) alike. The model's call log must show no finished step's call made
// twice; only a call in flight at a stop may repeat. The model is the Messages-API test double.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../core/config';
import type { RunReport } from '../core/report';
import type { Task } from '../core/task';
import { loadDatasets } from '../datasets';
import { readJson } from '../runtime/artifacts';
import { rolloutFolder, runFolder } from '../runtime/runFolder';
import { PROJECT_ROOT } from '../runtime/config';
import type { RolloutResult } from '../core/rollout';
import { LABEL, listSandboxes } from '../runtime/sandbox';
import { startMessagesApiDouble, type MessagesApiDouble } from '../scripted-model/messagesApi';
import { scriptedAgent } from '../scripted-model/scriptedAgent';
import { EXAMPLES, exited, exitedWithin, testConfig, until } from './helpers';

const CLI = path.join(PROJECT_ROOT, 'bin', 'agentscale');
const DATASETS = [
  path.join(EXAMPLES, 'harbor', 'hello-file'),
  path.join(EXAMPLES, 'terminal-bench', 'count-lines'),
  path.join(EXAMPLES, 'swebench', 'instances.jsonl'),
];
const API_KEY = `sk-ant-crash-${Math.random().toString(36).slice(2)}`;
let double: MessagesApiDouble;
let tasks: Task[];

beforeAll(async () => {
  double = await startMessagesApiDouble({ latencyMs: 250 });
  tasks = await loadDatasets(DATASETS);
});
afterAll(async () => double?.close());

const spawnCli = (args: string[], log: string): ChildProcess =>
  spawn(CLI, args, {
    stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')],
    env: { ...process.env, ANTHROPIC_API_KEY: API_KEY, LOG_LEVEL: 'info' },
  });
// Model calls only: `run` also asks the models endpoint once before it starts (no request body).
const okCalls = () => double.calls.filter((c) => c.status === 200 && c.request);

describe('rollouts across worker stops', () => {
  it('resume at the step in flight after SIGTERM and SIGKILL, without repeating finished model calls', async () => {
    const { file, config } = testConfig('rollout-crash', {
      model: {
        provider: 'anthropic',
        name: 'claude-test',
        baseUrl: double.baseUrl.anthropic,
        maxTokens: 1024,
        timeoutSec: 30,
        prices: {},
      },
      agent: { stepLimit: 8, commandTimeoutSec: 30 },
      run: { n: 1, taskConcurrency: 3, modelMaxAttempts: 5, modelRetryInitialSec: 0.2, modelRetryMaxSec: 2 },
    } as Partial<Config>);
    // One rollout solves its task (its state must survive the stops); the others explore until the step limit.
    const [harbor, ...rest] = tasks;
    double.setReply(
      scriptedAgent(tasks, { [harbor!.id]: ['solve'], ...Object.fromEntries(rest.map((t) => [t.id, ['wander']])) })
        .reply,
    );

    const runId = `crash-run-${Date.now()}`;
    const log = (n: string) => path.join(config.dataDir, `${n}.log`);
    const client = spawnCli(
      ['--config', file, 'run', '--no-worker', '--run-id', runId, '-n', '1', ...DATASETS],
      log('client'),
    );

    const first = spawnCli(['--config', file, 'worker'], log('worker1'));
    await until('a few model calls', () => okCalls().length >= 5);
    first.kill('SIGTERM');
    expect(await exited(first)).toBe(0);
    expect(await listSandboxes({ [LABEL.run]: runId })).toEqual([]); // the graceful stop took its containers

    const second = spawnCli(['--config', file, 'worker'], log('worker2'));
    const mark = okCalls().length;
    await until('more model calls', () => okCalls().length >= mark + 6);
    second.kill('SIGKILL');
    await exited(second);

    const third = spawnCli(['--config', file, 'worker'], log('worker3'));
    try {
      const code = await exitedWithin(client, 170_000, log('client'));
      expect(code, readFileSync(log('client'), 'utf8')).toBe(0);
    } finally {
      third.kill('SIGTERM');
      await exited(third);
    }

    const runDir = path.join(config.dataDir, 'runs', runId);
    const report = readJson<RunReport>(runFolder(runDir).results);
    expect(report.rollouts).toBe(4);
    const results = report.perTask.map((t) =>
      readJson<RolloutResult>(rolloutFolder(runDir, t.taskId, 'it0-r0').result),
    );
    const solved = results.find((r) => r.taskId === harbor!.id)!;
    expect(solved).toMatchObject({ exitStatus: 'Submitted', passed: true });
    for (const r of results.filter((x) => x.taskId !== harbor!.id))
      expect(r).toMatchObject({ exitStatus: 'LimitsExceeded', steps: 8 });
    // Harbor and Terminal-Bench rollouts are the terminal agent's (their stored keystrokes are
    // what a rebuilt container replays); SWE-bench's the bash agent's.
    for (const r of results)
      expect(readJson<{ agent?: string }>(rolloutFolder(runDir, r.taskId, 'it0-r0').prompt).agent ?? 'bash').toBe(
        tasks.find((t) => t.id === r.taskId)!.format === 'swebench' ? 'bash' : 'terminal',
      );
    // At least one rollout lost its container to the graceful stop and was rebuilt by replay.
    expect(results.some((r) => r.sandboxRestarts > 0)).toBe(true);

    // Every successful call is a distinct conversation state, but for calls in flight at the two stops.
    const keys = okCalls().map((c) => c.conversationKey);
    const repeats = keys.length - new Set(keys).size;
    expect(repeats).toBeLessThanOrEqual(2 * tasks.length); // at most one call in flight per rollout at each stop
    const steps = results.reduce((a, r) => a + r.apiCalls, 0);
    expect(keys.length - repeats).toBe(steps);
    console.info(
      `model calls: ${keys.length} successful for ${steps} steps (${repeats} repeated, in flight at a stop); ` +
        `container rebuilds by replay: ${results.reduce((a, r) => a + r.sandboxRestarts, 0)}`,
    );
    expect(await listSandboxes({ [LABEL.run]: runId })).toEqual([]);
  });
});
