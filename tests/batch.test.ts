// Summaries and judge votes through the Message Batches API, end to end on real containers and the
// real Temporal server, with the model played by the Messages-API test double (which serves the
// batch endpoints): the same run with and without batches selects the same rollouts at half the
// price or less; entries that expire fall back to direct calls, exactly those; and a worker killed
// with SIGKILL while a batch is pending is replaced without the batch being submitted again.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../core/config';
import { JUDGE_SYSTEM } from '../core/judge';
import type { TaskScalingResult } from '../core/pdr';
import type { RunReport } from '../core/report';
import { runSettings, type SettingsOptions } from '../core/settings';
import { SUMMARY_SYSTEM } from '../core/summary';
import type { Task } from '../core/task';
import type { Bracket } from '../core/tournament';
import { loadDatasets } from '../datasets';
import { readJson } from '../runtime/artifacts';
import { PROJECT_ROOT } from '../runtime/config';
import { rolloutFolder, runFolder, taskFolder } from '../runtime/runFolder';
import type { RolloutResult } from '../core/rollout';
import type { Usage } from '../core/model';
import { startMessagesApiDouble, type MessagesApiDouble } from '../scripted-model/messagesApi';
import { scriptedAgent, type Behaviour } from '../scripted-model/scriptedAgent';
import { EXAMPLES, exited, exitedWithin, testConfig, until } from './helpers';
import { closeTestClient, doubleConfig, startRun } from './runHarness';

const HELLO = path.join(EXAMPLES, 'harbor', 'hello-file');
let double: MessagesApiDouble;
let tasks: Task[];
/** custom_id suffixes whose batch entries expire (set per test). */
let expiring: string[] = [];

beforeAll(async () => {
  process.env.ANTHROPIC_API_KEY = 'sk-ant-batch-test';
  double = await startMessagesApiDouble({
    latencyMs: 10,
    batchExpire: (id) => expiring.some((s) => id.endsWith(s)),
  });
  tasks = await loadDatasets([HELLO]);
});
afterAll(async () => {
  await closeTestClient();
  await double?.close();
});

const behaviours = (ts: Task[]): Record<string, Behaviour[]> =>
  Object.fromEntries(ts.map((t) => [t.id, ['giveUp', 'solve', 'giveUp', 'giveUp']]));
const PDR: SettingsOptions = { strategy: 'pdr', n: 4, iterations: 2, k: 2, groupSize: 2, votes: 2 };
const model = (batch: boolean) => ({
  provider: 'anthropic',
  name: 'claude-test',
  baseUrl: double.baseUrl.anthropic,
  maxTokens: 1024,
  timeoutSec: 30,
  prices: { 'claude-test': { inputPerMTok: 3, outputPerMTok: 15 } },
  batch: { enabled: batch, pollSec: 0.2, maxWaitSec: 120 },
});

async function run(name: string, batch: boolean) {
  const { config } = doubleConfig(double, name, { model: model(batch) });
  double.setReply(scriptedAgent(tasks, behaviours(tasks)).reply);
  const before = double.calls.length;
  const batchesBefore = double.batches.length;
  const { runDir, report } = await startRun(config, tasks, runSettings(config, PDR));
  const outcome = readJson<TaskScalingResult>(taskFolder(runDir, tasks[0]!.id).scaling);
  const brackets = outcome.iterations.map((it) =>
    readJson<Bracket>(taskFolder(runDir, tasks[0]!.id).tournament(it.bracket!.id).bracket),
  );
  const calls = double.calls.slice(before);
  const direct = (system: string) =>
    calls.filter((c) => c.path === '/v1/messages' && c.status === 200 && c.request?.system === system);
  return { runDir, report, outcome, brackets, calls, direct, batches: double.batches.slice(batchesBefore) };
}

/** Batches a tournament makes: one per round, and one more for a round's tie votes. */
const rounds = (bs: Bracket[]) =>
  bs.flatMap((b) => b.rounds.map((r) => (r.groups.some((g) => g.tie) ? 2 : 1))).reduce((a, b) => a + b, 0);

/** A run's results but its cost and tokens. */
const results = (r: RunReport) => {
  const { cost: _cost, tokens: _tokens, ...scaling } = r.scaling!;
  return { pass1: r.pass1, passN: r.passN, scaling };
};

describe('message batches', () => {
  it('select what direct calls select, for half the price or less; expired entries fall back, exactly those', async () => {
    expiring = [];
    const plain = await run('batch-off', false);
    const batched = await run('batch-on', true);

    // Nothing in the results changes but the price (which rollout drew the solving plan may differ:
    // the scripted agent hands plans out in the order conversations start).
    expect(results(batched.report)).toEqual(results(plain.report));
    // The breakpoints the activities send (request snapshots): an agent step marks its task prompt
    // and its last message; a first summary attempt none; a vote whose order no other vote of its
    // group shows (G = 2, V = 2: A,B and B,A) none either.
    const marked = (body: Record<string, unknown>) =>
      (body.messages as { content: unknown }[]).map((m) =>
        Array.isArray(m.content) ? (m.content as { cache_control?: unknown }[]).some((b) => b.cache_control) : false,
      );
    const agentCalls = plain.calls.filter(
      (c) => c.status === 200 && c.request && c.request.system !== SUMMARY_SYSTEM && c.request.system !== JUDGE_SYSTEM,
    );
    expect(agentCalls.length).toBeGreaterThan(4);
    for (const c of agentCalls) {
      const m = marked(c.request!.body);
      expect(m.map((x, i) => x === (i === 0 || i === m.length - 1))).not.toContain(false);
    }
    for (const c of [...plain.direct(SUMMARY_SYSTEM), ...plain.direct(JUDGE_SYSTEM)])
      expect(JSON.stringify(c.request!.body)).not.toContain('cache_control');

    // Every summary and vote came from a batch (a round's ties from a second one): none was asked directly.
    expect(batched.direct(SUMMARY_SYSTEM)).toEqual([]);
    expect(batched.direct(JUDGE_SYSTEM)).toEqual([]);
    expect(plain.batches).toEqual([]);
    // Summaries of both iterations, and each round of both tournaments (4 -> 2; 4 -> 2 -> 1).
    expect(batched.batches).toHaveLength(2 + rounds(batched.brackets));
    const cost = (r: RunReport) => r.scaling!.cost.summary! + r.scaling!.cost.judge!;
    expect(cost(plain.report)).toBeGreaterThan(0);
    expect(cost(batched.report)).toBeLessThanOrEqual(0.5 * cost(plain.report) + 1e-12);
    console.info(
      `summaries + judge: $${cost(plain.report).toFixed(6)} direct, $${cost(batched.report).toFixed(6)} batched (${(cost(batched.report) / cost(plain.report)).toFixed(3)}x)`,
    );

    // Entries that expire: one summary, one vote of the last tournament's first round.
    expiring = ['-it0-r2', '-r0-g1-v0'];
    const partly = await run('batch-expiring', true);
    const expired = partly.batches.flatMap((b) => b.customIds.filter((id) => expiring.some((s) => id.endsWith(s))));
    expect(expired.length).toBe(1 + 2); // it0-r2's summary; r0-g1-v0 of both tournaments
    expect(partly.direct(SUMMARY_SYSTEM)).toHaveLength(1);
    // The summary made directly is it0-r2's; every other one came from the batch.
    const summaries = [0, 1, 2, 3].map((i) => ({
      id: `it0-r${i}`,
      batched: readJson<{ usage: Usage }>(rolloutFolder(partly.runDir, tasks[0]!.id, `it0-r${i}`).summary).usage
        .batchedCalls,
    }));
    expect(summaries).toEqual([
      { id: 'it0-r0', batched: 1 },
      { id: 'it0-r1', batched: 1 },
      { id: 'it0-r2', batched: undefined },
      { id: 'it0-r3', batched: 1 },
    ]);
    expect(partly.direct(JUDGE_SYSTEM)).toHaveLength(2);
    expect(results(partly.report)).toEqual(results(plain.report));
    expiring = [];
  });
});

const CLI = path.join(PROJECT_ROOT, 'bin', 'agentscale');
const spawnCli = (args: string[], log: string): ChildProcess =>
  spawn(CLI, args, {
    stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')],
    env: { ...process.env, LOG_LEVEL: 'info' },
  });

describe('a worker killed while a batch is pending', () => {
  it('is replaced, and the new worker waits on the same batch: nothing is submitted twice, no call repeats', async () => {
    expiring = [];
    const { file, config } = testConfig('batch-crash', {
      model: model(true),
      run: { n: 4, taskConcurrency: 1, modelMaxAttempts: 5, modelRetryInitialSec: 0.2, modelRetryMaxSec: 2 },
    } as unknown as Partial<Config>);
    double.setReply(scriptedAgent(tasks, behaviours(tasks)).reply);
    const before = double.calls.length;
    const batchesBefore = double.batches.length;
    double.holdBatches(true);
    const runId = `batch-crash-${Date.now()}`;
    const log = (n: string) => path.join(config.dataDir, `${n}.log`);
    const client = spawnCli(
      ['--config', file, 'run', '--no-worker', '--run-id', runId, '--strategy', 'rtv', '-n', '4', '-V', '2', HELLO],
      log('client'),
    );
    const first = spawnCli(['--config', file, 'worker'], log('worker1'));
    const polls = () => double.calls.slice(before).filter((c) => /^\/v1\/messages\/batches\/[^/]+$/.test(c.path));
    try {
      await until('the summaries batch, polled', () => double.batches.length > batchesBefore && polls().length >= 2);
      first.kill('SIGKILL');
      await exited(first);
      const polled = polls().length;
      const second = spawnCli(['--config', file, 'worker'], log('worker2'));
      try {
        await until('the new worker polling the same batch', () => polls().length >= polled + 2);
        expect(double.batches.length - batchesBefore).toBe(1);
        double.holdBatches(false);
        const code = await exitedWithin(client, 170_000, log('client'));
        expect(code, readFileSync(log('client'), 'utf8')).toBe(0);
      } finally {
        second.kill('SIGTERM');
        await exited(second);
      }
    } finally {
      double.holdBatches(false);
      if (first.exitCode === null && first.signalCode === null) first.kill('SIGKILL');
    }
    // One batch per key: the summaries (pending across the kill), then each round (4 -> 2 -> 1) and its ties.
    const runDir = path.join(config.dataDir, 'runs', runId);
    const bracket = readJson<Bracket>(taskFolder(runDir, tasks[0]!.id).tournament('it0-final').bracket);
    const made = double.batches.slice(batchesBefore);
    expect(made).toHaveLength(1 + rounds([bracket]));
    expect(made.filter((b) => b.customIds.some((id) => id.endsWith('-it0-r0')))).toHaveLength(1);
    expect(made[0]!.customIds).toHaveLength(4);
    // No model call was made twice: as many agent calls as steps, one summary per rollout, one call per vote.
    const ok = double.calls.slice(before).filter((c) => c.status === 200 && c.request !== undefined);
    const bySystem = (system: string) => ok.filter((c) => c.request!.system === system).length;
    const steps = [0, 1, 2, 3]
      .map((i) => readJson<RolloutResult>(rolloutFolder(runDir, tasks[0]!.id, `it0-r${i}`).result).apiCalls)
      .reduce((a, b) => a + b, 0);
    expect(ok.length - bySystem(SUMMARY_SYSTEM) - bySystem(JUDGE_SYSTEM)).toBe(steps);
    expect(bySystem(SUMMARY_SYSTEM)).toBe(4);
    const votes = bracket.rounds.flatMap((r) => r.groups.flatMap((g) => [...g.votes, ...(g.tie ? [g.tie] : [])]));
    expect(bySystem(JUDGE_SYSTEM)).toBe(votes.length);
    const report = readJson<RunReport>(runFolder(runDir).results);
    expect(report.scaling!.final).toBe(1);
  });
});
