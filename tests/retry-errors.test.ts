// `run --retry-errors`: a finished run whose rollouts ended in ModelError runs those again (and
// only those), from the start; the others keep their results untouched. Real Temporal, real
// Docker; the model is the Messages-API test double.
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../client/run';
import type { RolloutResult } from '../core/rollout';
import type { RunReport } from '../core/report';
import { runSettings } from '../core/settings';
import type { Task } from '../core/task';
import { loadDatasets } from '../datasets';
import { readJson } from '../runtime/artifacts';
import { rolloutFolder, runFolder, taskFolder } from '../runtime/runFolder';
import { startMessagesApiDouble, type MessagesApiDouble } from '../scripted-model/messagesApi';
import { scriptedAgent } from '../scripted-model/scriptedAgent';
import { EXAMPLES } from './helpers';
import { closeTestClient, doubleConfig, startRun } from './runHarness';

let double: MessagesApiDouble;
let tasks: Task[];
beforeAll(async () => {
  process.env.ANTHROPIC_API_KEY = 'sk-ant-test-retry-errors';
  double = await startMessagesApiDouble({ latencyMs: 10 });
  tasks = await loadDatasets([path.join(EXAMPLES, 'harbor', 'hello-file')]);
});
afterAll(async () => {
  await closeTestClient();
  await double?.close();
  delete process.env.ANTHROPIC_API_KEY;
});

/** Requests that open a conversation (no assistant turn yet): one per rollout started. */
const firstTurns = () =>
  double.calls.filter((c) => c.request && !c.request.messages.some((m) => m.role === 'assistant'));

describe('run --retry-errors', () => {
  it('runs again the rollouts that ended in ModelError, only those, and keeps the others', async () => {
    const { config } = doubleConfig(double, 'retry-errors');
    // One rollout's second request is refused (400: ModelError at once); the other solves.
    const agent = scriptedAgent(tasks, { 'hello-file': ['giveUp', 'solve'] });
    double.setReply((req) =>
      req.messages.some((m) => m.role === 'assistant' && m.content.includes('[plan giveUp]'))
        ? { error: { status: 400, type: 'invalid_request_error', message: 'scripted refusal' } }
        : agent.reply(req),
    );
    const first = await startRun(config, tasks, runSettings(config, { strategy: 'sample', n: 2 }));
    const results = () =>
      ['it0-r0', 'it0-r1'].map((id) => readJson<RolloutResult>(rolloutFolder(first.runDir, 'hello-file', id).result));
    const before = results();
    expect(before.map((r) => r.exitStatus).sort()).toEqual(['ModelError', 'Submitted']);
    const failed = before.find((r) => r.exitStatus === 'ModelError')!;
    const kept = before.find((r) => r.exitStatus === 'Submitted')!;
    const keptFile = readFileSync(rolloutFolder(first.runDir, 'hello-file', kept.rolloutId).result, 'utf8');

    // The model works now: the retried rollout solves.
    double.setReply(scriptedAgent(tasks, { 'hello-file': ['solve'] }).reply);
    const opened = firstTurns().length;
    const code = await runCommand(config, [], { runId: first.runId, retryErrors: true, strategy: 'sample' });
    expect(code).toBe(0);
    expect(firstTurns().length - opened).toBe(1); // one rollout ran again, from its first step
    const after = results();
    expect(after.map((r) => r.exitStatus)).toEqual(['Submitted', 'Submitted']);
    expect(readFileSync(rolloutFolder(first.runDir, 'hello-file', kept.rolloutId).result, 'utf8')).toBe(keptFile);
    const aside = path.join(taskFolder(first.runDir, 'hello-file').dir, 'retried', '1', 'rollouts', failed.rolloutId);
    expect(readJson<RolloutResult>(path.join(aside, 'result.json')).exitStatus).toBe('ModelError');
    const report = readJson<RunReport>(runFolder(first.runDir).results);
    expect(report.exitStatuses).toEqual({ Submitted: 2 });

    // Nothing left to retry: the finished run is reported as it is, no model call made.
    const calls = double.calls.length;
    expect(await runCommand(config, [], { runId: first.runId, retryErrors: true, strategy: 'sample' })).toBe(0);
    expect(double.calls.length).toBe(calls);
    expect(existsSync(path.join(taskFolder(first.runDir, 'hello-file').dir, 'retried', '2'))).toBe(false);
  });
});
