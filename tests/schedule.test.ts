// A schedule on the real server: created with its tasks and settings frozen, triggered twice,
// each trigger a run whose folder the worker makes from the schedule; the second run's report
// compares it with the first (a task newly passing), and `compare` agrees.
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSchedule, scheduleRuns } from '../client/schedule';
import type { RunComparison } from '../core/compare';
import { compareRuns } from '../core/compare';
import type { RunReport } from '../core/report';
import { loadDatasets } from '../datasets';
import { readJson } from '../runtime/artifacts';
import { runDirOf, runFolder } from '../runtime/runFolder';
import { startMessagesApiDouble, type MessagesApiDouble } from '../scripted-model/messagesApi';
import { scriptedAgent } from '../scripted-model/scriptedAgent';
import { createWorker } from '../worker';
import { EXAMPLES } from './helpers';
import { closeTestClient, doubleConfig, testClient, testServer } from './runHarness';

let double: MessagesApiDouble;
beforeAll(async () => {
  process.env.ANTHROPIC_API_KEY = 'sk-ant-schedule-test';
  double = await startMessagesApiDouble({ latencyMs: 5 });
});
afterAll(async () => {
  await closeTestClient();
  await double?.close();
});

describe('schedules', () => {
  it('two triggered runs of one schedule, the second compared with the first', async () => {
    const dir = path.join(EXAMPLES, 'harbor', 'hello-file');
    const [task] = await loadDatasets([dir]);
    const { config } = doubleConfig(double, 'schedule');
    const server = testServer(config);
    const client = await testClient(config);
    const id = `nightly-${Date.now()}`;
    await createSchedule(config, server, client, [dir], { id, every: '24h', strategy: 'sample', n: 1 });
    const handle = client.schedule.getHandle(id);
    expect((await handle.describe()).spec.intervals?.[0]?.every).toBe(24 * 3600 * 1000);

    const worker = await createWorker(config, server);
    /** Triggers the schedule and waits for the run it starts to finish. */
    const triggerAndFinish = async (before: number) => {
      await handle.trigger();
      let runId: string | undefined;
      for (let i = 0; i < 200 && !runId; i++) {
        const actions = (await handle.describe()).info.recentActions;
        if (actions.length > before) runId = actions.at(-1)!.action.workflow.workflowId;
        else await new Promise((r) => setTimeout(r, 250));
      }
      expect(runId, 'the schedule started a run').toBeDefined();
      return { runId: runId!, result: await client.workflow.getHandle(runId!).result() };
    };
    const [first, second] = await worker.runUntil(async () => {
      double.setReply(scriptedAgent([task!], { [task!.id]: ['giveUp'] }).reply);
      const a = await triggerAndFinish(0);
      double.setReply(scriptedAgent([task!], { [task!.id]: ['solve'] }).reply);
      const b = await triggerAndFinish(1);
      return [a, b] as const;
    });
    await handle.delete();

    expect(scheduleRuns(config, id)).toEqual([first.runId, second.runId]);
    const report = (runId: string) =>
      readJson<RunReport & { comparison?: RunComparison }>(runFolder(runDirOf(config, runId)).results);
    expect(report(first.runId)).toMatchObject({ tasks: 1, pass1: 0 });
    expect(report(first.runId).comparison).toBeUndefined();
    const c = report(second.runId).comparison!;
    expect(c).toMatchObject({ previous: first.runId, current: second.runId, tasks: 1, newlyPassing: [task!.id] });
    expect(c.newlyFailing).toEqual([]);
    expect(c.solved.change).toBe(1);
    expect(readFileSync(runFolder(runDirOf(config, second.runId)).table, 'utf8')).toContain(
      `## Compared with ${first.runId}`,
    );
    // report.html shows the comparison and both runs side by side, task by task.
    const html = readFileSync(runFolder(runDirOf(config, second.runId)).html, 'utf8');
    expect(html).toContain(`<h2>Compared with ${first.runId}</h2>`);
    expect(html).toMatch(
      new RegExp(`<table id="run-grid"><thead><tr><th>task</th><th>${first.runId}</th><th>${second.runId}</th>`),
    );
    expect(html).toMatch(/<td class="fail">[^<]*(<a [^>]*>)?✗ fail(<\/a>)?<\/td><td class="pass">/);
    // The run record says which schedule started it, with the schedule's frozen settings.
    expect(readJson(runFolder(runDirOf(config, second.runId)).run)).toMatchObject({ schedule: id, strategy: 'sample' });
    // `compare` on the same two runs says the same.
    expect(compareRuns(report(first.runId), report(second.runId))).toEqual(c);
  });
});
