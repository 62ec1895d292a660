// `regrade` on a stored run after a task's tests change: exactly the affected verdict flips, no
// model call is made, the new verdicts name the grader (and the tests' hash) that made them, a
// resumed regrade evaluates nothing twice, and no container is left. Real Docker, real Temporal;
// the model (only for the original run) is the Messages-API test double.
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegradeSummary } from '../activities/regrade';
import { startRegrade } from '../client/regrade';
import type { Regraded } from '../core/regrade';
import type { RunReport } from '../core/report';
import { runSettings } from '../core/settings';
import { loadDatasets } from '../datasets';
import { readJson } from '../runtime/artifacts';
import { regradeFolder } from '../runtime/runFolder';
import { LABEL, listSandboxes } from '../runtime/sandbox';
import { startMessagesApiDouble, type MessagesApiDouble } from '../scripted-model/messagesApi';
import { scriptedAgent } from '../scripted-model/scriptedAgent';
import { createWorker, runWorker } from '../worker';
import { EXAMPLES } from './helpers';
import { closeTestClient, doubleConfig, startRun, testClient, testServer } from './runHarness';

let double: MessagesApiDouble;
let taskDir: string;

beforeAll(async () => {
  process.env.ANTHROPIC_API_KEY = 'sk-ant-regrade-test';
  double = await startMessagesApiDouble({ latencyMs: 5 });
  taskDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'agentscale-regrade-task-')), 'hello-file');
  cpSync(path.join(EXAMPLES, 'harbor', 'hello-file'), taskDir, { recursive: true });
});
afterAll(async () => {
  await closeTestClient();
  await double?.close();
  rmSync(path.dirname(taskDir), { recursive: true, force: true });
  delete process.env.ANTHROPIC_API_KEY;
});

describe('regrade', () => {
  it('flips exactly the verdicts a test change affects, with no model call, resumable, no container left', async () => {
    const { config } = doubleConfig(double, 'regrade');
    const tasks = await loadDatasets([taskDir]);
    const task = tasks[0]!;
    double.setReply(scriptedAgent(tasks, { [task.id]: ['solve', 'giveUp'] }).reply);
    const { runId, report } = await startRun(config, tasks, runSettings(config, { strategy: 'sample', n: 2 }));
    expect(report.perTask[0]).toMatchObject({ rollouts: 2, passed: 1 });
    const callsAfterRun = double.calls.length;

    const regrade = async (regradeId: string, datasets: string[] = []) => {
      const client = await testClient(config);
      const handle = await startRegrade(config, client, { runId, regradeId, datasets });
      const worker = await createWorker(config, testServer(config));
      return (await runWorker(worker, handle.result())) as RegradeSummary;
    };
    // Tests unchanged: the solved rollout's final state, rebuilt from its recorded commands, passes again.
    const same = await regrade('regrade-0');
    expect(same.changes).toEqual([]);
    expect(same.report.perTask[0]).toMatchObject({ rollouts: 2, passed: 1 });

    // The task's tests change: the greeting the solved rollout wrote is no longer the expected one.
    const testFile = path.join(taskDir, 'tests', 'test_outputs.py');
    writeFileSync(testFile, readFileSync(testFile, 'utf8').replace('Hello, agentscale!', 'Hello, regrade!'));

    const runResults = path.join(config.dataDir, 'runs', runId, 'results.json');
    const resultsBefore = readFileSync(runResults, 'utf8');
    const summary = await regrade('regrade-1', [taskDir]);

    expect(summary.rollouts).toBe(2);
    expect(summary.changes).toHaveLength(1);
    expect(summary.changes[0]).toMatchObject({ taskId: task.id, before: true, after: false });
    expect(summary.report.perTask[0]).toMatchObject({ rollouts: 2, passed: 0 });
    expect(double.calls.length).toBe(callsAfterRun);

    const folder = regradeFolder(path.join(config.dataDir, 'runs', runId), 'regrade-1');
    const verdicts = ['it0-r0', 'it0-r1'].map((id) => readJson<Regraded>(folder.verdict(task.id, id)));
    for (const v of verdicts) {
      expect(v.passed).toBe(false);
      expect(v.grader.tests).toMatch(/^[0-9a-f]{16}$/);
      expect(v.grader.agentscale).toMatch(/^\d+\.\d+\.\d+/);
    }
    expect(verdicts.map((v) => v.before.passed).sort()).toEqual([false, true]);
    expect(readFileSync(folder.table, 'utf8')).toMatch(/1 verdict changed:\n- .* it0-r\d: passed -> failed/);
    // The run's own results are untouched; the regrade's report is beside them.
    expect(readFileSync(runResults, 'utf8')).toBe(resultsBefore);
    expect(readJson<RunReport>(folder.results).perTask[0]).toMatchObject({ passed: 0 });

    // The same regrade id again: every verdict is already written, none is made twice.
    const mtimes = ['it0-r0', 'it0-r1'].map((id) => statSync(folder.verdict(task.id, id)).mtimeMs);
    const again = await regrade('regrade-1', [taskDir]);
    expect(again.changes).toEqual(summary.changes);
    expect(['it0-r0', 'it0-r1'].map((id) => statSync(folder.verdict(task.id, id)).mtimeMs)).toEqual(mtimes);
    expect(await listSandboxes({ [LABEL.run]: `${runId}/regrade-1` })).toEqual([]);
  });

  it('SWE-bench: graded again from the stored diffs; a changed FAIL_TO_PASS list flips the resolved rollout', async () => {
    const { config } = doubleConfig(double, 'regrade-swe');
    const instances = path.join(EXAMPLES, 'swebench', 'instances.jsonl');
    const tasks = (await loadDatasets([instances])).filter((t) => t.id === 'example__calc-1');
    const task = tasks[0]!;
    double.setReply(scriptedAgent(tasks, { [task.id]: ['solve', 'giveUp'] }).reply);
    const { runId, report } = await startRun(config, tasks, runSettings(config, { strategy: 'sample', n: 2 }));
    expect(report.perTask[0]).toMatchObject({ rollouts: 2, passed: 1 });
    const callsAfterRun = double.calls.length;

    // The instance as fixed later: FAIL_TO_PASS names a test the repository does not have.
    const fixed = path.join(path.dirname(taskDir), 'instances.jsonl');
    const line = readFileSync(instances, 'utf8')
      .split('\n')
      .find((l) => l.includes('"example__calc-1"'))!;
    const instance = JSON.parse(line) as { FAIL_TO_PASS: string };
    instance.FAIL_TO_PASS = JSON.stringify([
      ...(JSON.parse(instance.FAIL_TO_PASS) as string[]),
      'tests/test_calc.py::test_absent',
    ]);
    writeFileSync(fixed, `${JSON.stringify(instance)}\n`);

    const client = await testClient(config);
    const handle = await startRegrade(config, client, { runId, regradeId: 'regrade-swe', datasets: [fixed] });
    const summary = (await runWorker(
      await createWorker(config, testServer(config)),
      handle.result(),
    )) as RegradeSummary;
    expect(double.calls.length).toBe(callsAfterRun);
    expect(summary.changes).toHaveLength(1);
    expect(summary.changes[0]).toMatchObject({ taskId: task.id, before: true, after: false });
    const folder = regradeFolder(path.join(config.dataDir, 'runs', runId), 'regrade-swe');
    const verdicts = ['it0-r0', 'it0-r1'].map((id) => readJson<Regraded>(folder.verdict(task.id, id)));
    expect(verdicts.every((v) => v.grader.harness?.startsWith('swebench==5.0.2'))).toBe(true);
    // The rollout without a patch stays unresolved without a container; the other was graded on its diff.
    expect(verdicts.map((v) => v.reason).sort()).toEqual(expect.arrayContaining(['empty patch']));
    expect(await listSandboxes({ [LABEL.run]: `${runId}/regrade-swe` })).toEqual([]);
  });
});
