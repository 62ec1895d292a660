// Budgets on real containers and the real Temporal server, the model played by the Messages-API
// test double: a run's cost cap stops tasks from starting once it is reached, a task's cost cap
// stops its next iteration, rollouts already running finish, and the report says where; the cap
// on model calls in flight holds across concurrent callers.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limitInFlight, Slots } from '../activities/modelLimit';
import { progressLine } from '../client/control';
import { EXIT } from '../client/exitCodes';
import { runExitCode } from '../client/run';
import type { TaskScalingResult } from '../core/pdr';
import type { RunReport } from '../core/report';
import { runSettings } from '../core/settings';
import type { Task } from '../core/task';
import { loadDatasets } from '../datasets';
import { readJson } from '../runtime/artifacts';
import { createModelClient } from '../runtime/model';
import { runFolder, taskFolder } from '../runtime/runFolder';
import { startMessagesApiDouble, type MessagesApiDouble } from '../scripted-model/messagesApi';
import { scriptedAgent } from '../scripted-model/scriptedAgent';
import { EXAMPLES } from './helpers';
import { startRun as startBenchmarkRun } from '../client/run';
import { createWorker, runWorker } from '../worker';
import { closeTestClient, doubleConfig, startRun, testServer } from './runHarness';

let double: MessagesApiDouble;
let tasks: Task[];

beforeAll(async () => {
  process.env.ANTHROPIC_API_KEY = 'sk-ant-budget-test';
  double = await startMessagesApiDouble({ latencyMs: 5 });
  tasks = await loadDatasets([
    path.join(EXAMPLES, 'harbor', 'hello-file'),
    path.join(EXAMPLES, 'harbor', 'csv-sum'),
    path.join(EXAMPLES, 'terminal-bench', 'count-lines'),
  ]);
});
afterAll(async () => {
  await closeTestClient();
  await double?.close();
});

describe('cost caps', () => {
  it("the run's cap: once reached, no further task starts; the report names them", async () => {
    double.setReply(scriptedAgent(tasks).reply);
    const { config } = doubleConfig(double, 'budget-run');
    // One task at a time: the first one's rollouts spend more than the cap before the second starts.
    const settings = runSettings(config, { strategy: 'sample', n: 2, concurrency: 1, maxCost: 0.000001 });
    expect(settings.budget).toEqual({ runUsd: 0.000001 });
    const { runDir, report, runId, client } = await startRun(config, tasks, settings);

    const [first, ...rest] = tasks.map((t) => t.id);
    const byId = new Map(report.perTask.map((t) => [t.taskId, t]));
    expect(byId.get(first!)!.rollouts).toBe(2);
    for (const id of rest) {
      expect(byId.get(id)!.rollouts).toBe(0);
      expect(existsSync(taskFolder(runDir, id).rollouts)).toBe(false);
    }
    expect(report.budget!.caps).toEqual({ runUsd: 0.000001 });
    expect(report.budget!.stops.map((s) => [s.taskId, s.scope, s.iteration]).sort()).toEqual(
      rest.map((id) => [id, 'run', 0]).sort(),
    );
    for (const s of report.budget!.stops) expect(s.spentUsd).toBeCloseTo(report.costUsd, 10);
    expect(readJson<RunReport>(runFolder(runDir).results).budget).toEqual(report.budget);
    const md = readFileSync(runFolder(runDir).table, 'utf8');
    expect(md).toContain('**cost cap reached** (caps: run $0.000001)');
    for (const id of rest) {
      expect(md).toMatch(new RegExp(`- ${id}: not started: the run's cost cap`));
      expect(md).toMatch(new RegExp(`\\| ${id} \\| 0/0 .*\\| \\*\\*not started\\*\\*: cost cap \\|`));
    }
    // An incomplete run is not a clean one for scripts.
    expect(runExitCode(report)).toBe(EXIT.problems);

    // The UI's memos: the run's summary and where the cap stopped it; a rollout's ending, without
    // empty fields.
    const memo = async (id: string) => (await client.workflow.getHandle(id).describe()).memo;
    expect(await memo(runId)).toEqual({
      summary: expect.stringMatching(/^pass@1 \d+\.\d%, pass@N \d+\.\d%; 3 tasks, 2 rollouts; \$\d+\.\d{4}$/),
      budget: 'cost cap reached: 2 tasks stopped (run cap)',
    });
    expect(await memo(`${runId}/${first}/it0-r0`)).toEqual({
      summary: expect.stringMatching(/^passed: Submitted after \d+ steps?, \$\d+\.\d{4}$/),
    });
    expect(await memo(`${runId}/${first}`)).toEqual({
      summary: expect.stringMatching(/^1 iteration; last: 2\/2 passed; \$\d+\.\d{4}$/),
    });
  });

  it("a task's cap stops its next iteration; the rollouts already started finish", async () => {
    const [task] = tasks;
    double.setReply(scriptedAgent([task!], { [task!.id]: ['solve', 'giveUp'] }).reply);
    const { config } = doubleConfig(double, 'budget-task');
    const settings = runSettings(config, {
      strategy: 'pdr',
      n: 2,
      iterations: 2,
      k: 1,
      groupSize: 2,
      votes: 1,
      maxTaskCost: 0.000001,
    });
    const { runDir, report, runId, client } = await startRun(config, [task!], settings);
    const outcome = readJson<TaskScalingResult>(taskFolder(runDir, task!.id).scaling);
    expect(outcome.iterations).toHaveLength(1);
    expect(outcome.iterations[0]!.rollouts).toHaveLength(2);
    expect(outcome.final).toBeUndefined();
    expect(outcome.budgetStop).toMatchObject({ taskId: task!.id, scope: 'task', iteration: 1, capUsd: 0.000001 });
    expect(report.perTask[0]!.rollouts).toBe(2);
    expect(report.budget!.stops).toEqual([outcome.budgetStop]);
    expect(readFileSync(runFolder(runDir).table, 'utf8')).toMatch(
      /stopped before iteration 1: the task cost cap \$0\.000001 was reached/,
    );
    const taskMemo = (await client.workflow.getHandle(`${runId}/${task!.id}`).describe()).memo;
    expect(taskMemo?.budget).toMatch(/stopped before iteration 1: the task cost cap/);
  });

  it('a continued run reads back what finished before, even past its cap: no task is cut after the fact', async () => {
    const [task] = tasks;
    double.setReply(scriptedAgent([task!], { [task!.id]: ['solve', 'giveUp'] }).reply);
    const { config } = doubleConfig(double, 'budget-continued');
    const opts = { strategy: 'pdr', n: 2, iterations: 2, k: 1, groupSize: 2, votes: 1 } as const;
    const first = await startRun(config, [task!], runSettings(config, opts));
    const before = readJson<TaskScalingResult>(taskFolder(first.runDir, task!.id).scaling);
    expect(before.final).toBeDefined();

    // The same run id again, now with a cap it has long passed (as after a crash and a restart).
    const calls = double.calls.length;
    const server = testServer(config);
    const { handle } = await startBenchmarkRun(config, server, first.client, {
      runId: first.runId,
      tasks: [task!],
      settings: runSettings(config, { ...opts, maxCost: 0.000001, maxTaskCost: 0.000001 }),
      resumed: true,
    });
    const report = (await runWorker(await createWorker(config, server), handle.result())) as RunReport;
    expect(report.budget).toEqual({ caps: { runUsd: 0.000001, taskUsd: 0.000001 }, stops: [] });
    expect(readJson<TaskScalingResult>(taskFolder(first.runDir, task!.id).scaling).final).toBe(before.final);
    expect(report.perTask[0]!.rollouts).toBe(4);
    // Summaries and votes were read back too: not one model call.
    expect(double.calls.length).toBe(calls);
  });
});

describe('progress', () => {
  it("says the run's cap beside its cost so far", () => {
    const line = progressLine({
      runId: 'r',
      kind: 'run',
      status: 'RUNNING',
      startedAt: new Date(0).toISOString(),
      elapsedSec: 60,
      tasks: 2,
      tasksDone: 1,
      costUsd: 1.5,
      costCapUsd: 5,
      running: [],
    });
    expect(line).toContain('cost $1.50 of a $5 cap');
    expect(
      progressLine({
        runId: 'r',
        kind: 'run',
        status: 'RUNNING',
        startedAt: '',
        elapsedSec: 1,
        tasks: 1,
        tasksDone: 0,
        costUsd: 1,
        running: [],
      }),
    ).not.toContain('cap');
  });
});

describe('model calls in flight', () => {
  it('at most the cap reach the API at once; the others wait their turn and all are answered', async () => {
    let now = 0;
    let max = 0;
    double.setReply(async () => {
      max = Math.max(max, ++now);
      await new Promise((r) => setTimeout(r, 40));
      now--;
      return { text: 'ok' };
    });
    const { config } = doubleConfig(double, 'budget-slots');
    const slots = new Slots(3);
    const client = limitInFlight(createModelClient(config.model), slots);
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => client.complete({ system: '', messages: [{ role: 'user', content: 'hi' }] })),
    );
    expect(replies.map((r) => r.text)).toEqual(Array(10).fill('ok'));
    expect(max).toBe(3);
    expect(slots.inUse).toBe(0);

    // A caller that gives up while waiting leaves the queue without calling.
    const before = double.calls.length;
    const hold = Array.from({ length: 3 }, () =>
      client.complete({ system: '', messages: [{ role: 'user', content: 'hold' }] }),
    );
    const abort = new AbortController();
    const waiting = client.complete(
      { system: '', messages: [{ role: 'user', content: 'never' }] },
      { signal: abort.signal },
    );
    expect(slots.queued).toBe(1);
    abort.abort();
    await expect(waiting).rejects.toBeDefined();
    await Promise.all(hold);
    expect(double.calls.length - before).toBe(3);
  });
});
