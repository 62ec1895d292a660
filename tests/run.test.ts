// `run` end to end: rollouts of a scripted agent on real containers through the real Temporal
// server. The model is the one stand-in: the real Anthropic SDK talks to the local Messages-API
// test double (scripted-model/), scripted per task.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema, type Config } from '../core/config';
import { resultShapingSettings, type ResultShapingSettings } from '../core/resultSettings';
import type { Task } from '../core/task';
import { loadDatasets } from '../datasets';
import { readJson } from '../runtime/artifacts';
import { rolloutFolder, runFolder } from '../runtime/runFolder';
import type { RolloutResult } from '../core/rollout';
import { LABEL, listSandboxes } from '../runtime/sandbox';
import { SA } from '../core/searchAttributes';
import { runSettings } from '../core/settings';
import { startMessagesApiDouble, type DoubleReplyFn, type MessagesApiDouble } from '../scripted-model/messagesApi';
import { REPRO_SCRIPT, scriptedAgent, type Behaviour } from '../scripted-model/scriptedAgent';
import { EXAMPLES } from './helpers';
import { closeTestClient, doubleConfig, startRun } from './runHarness';

const API_KEY = `sk-ant-test-${Math.random().toString(36).slice(2)}-do-not-leak`;
let double: MessagesApiDouble;
let client: Client;
let tasks: Task[];

beforeAll(async () => {
  process.env.ANTHROPIC_API_KEY = API_KEY;
  double = await startMessagesApiDouble({ latencyMs: 20 });
  tasks = await loadDatasets([
    path.join(EXAMPLES, 'harbor', 'hello-file'),
    path.join(EXAMPLES, 'terminal-bench', 'count-lines'),
    path.join(EXAMPLES, 'swebench', 'instances.jsonl'),
  ]);
  tasks = tasks.filter((t) => t.id !== 'example__calc-2');
});
afterAll(async () => {
  await closeTestClient();
  await double?.close();
  delete process.env.ANTHROPIC_API_KEY;
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const modelConfig = (name: string, extra: Record<string, unknown> = {}) => doubleConfig(double, name, extra);

/** A `sample` run of the scripted agent; `wrap` alters the double's replies (e.g. to throttle them). */
async function run(
  config: Config,
  runTasks: Task[],
  behaviours: Record<string, Behaviour[]>,
  n = 2,
  wrap: (inner: DoubleReplyFn) => DoubleReplyFn = (inner) => inner,
) {
  const agent = scriptedAgent(runTasks, behaviours);
  double.setReply(wrap(agent.reply));
  const started = await startRun(config, runTasks, runSettings(config, { strategy: 'sample', n }));
  client = started.client;
  return { ...started, results: (taskId: string) => readdirResults(started.runDir, taskId), agent };
}

function readdirResults(runDir: string, taskId: string): RolloutResult[] {
  return ['it0-r0', 'it0-r1', 'it0-r2', 'it0-r3']
    .map((id) => rolloutFolder(runDir, taskId, id).result)
    .filter(existsSync)
    .map((f) => readJson<RolloutResult>(f));
}

describe('run, strategy sample', () => {
  it('a solving rollout passes and a giving-up one fails, in every format; report, trajectories, preds', async () => {
    const { config } = modelConfig('run-e2e');
    const behaviours = Object.fromEntries(tasks.map((t) => [t.id, ['solve', 'giveUp'] as Behaviour[]]));
    const { runId, runDir, report, results, agent } = await run(config, tasks, behaviours);

    expect(report.tasks).toBe(tasks.length);
    expect(report.rollouts).toBe(2 * tasks.length);
    for (const task of tasks) {
      const rs = results(task.id);
      expect(rs).toHaveLength(2);
      for (const r of rs) expect(r.exitStatus, `${task.id}/${r.rolloutId}: ${r.detail ?? ''}`).toBe('Submitted');
      const byBehaviour = new Map(rs.map((r, i) => [agent.assigned.get(task.id)![i], r]));
      expect(
        rs.filter((r) => r.passed),
        `${task.id}: ${JSON.stringify(rs.map((r) => r.evalReason))}`,
      ).toHaveLength(1);
      expect(byBehaviour.size).toBe(2);
      const t = report.perTask.find((p) => p.taskId === task.id)!;
      expect(t).toMatchObject({ rollouts: 2, passed: 1, pass1: 0.5, passN: 1 });
    }
    expect(report.pass1).toBeCloseTo(0.5);
    expect(report.passN).toBe(1);
    expect(report.exitStatuses).toEqual({ Submitted: 2 * tasks.length });
    expect(report.costUsd).toBeGreaterThan(0);
    expect(report.costUnknown).toBe(0);

    // The trajectory in mini-swe-agent's shape, and preds.json in SWE-bench's.
    const swe = tasks.find((t) => t.format === 'swebench')!;
    const traj = readJson<{
      info: { exit_status: string; submission: string; model_stats: { api_calls: number } };
      messages: { role: string }[];
      trajectory_format: string;
    }>(rolloutFolder(runDir, swe.id, 'it0-r0').traj);
    expect(traj.info.exit_status).toBe('Submitted');
    expect(traj.info.model_stats.api_calls).toBeGreaterThan(0);
    expect(traj.messages.map((m) => m.role).slice(0, 3)).toEqual(['system', 'user', 'assistant']);
    const preds = readJson<Record<string, { model_patch: string; model_name_or_path: string }>>(
      path.join(runDir, 'preds.json'),
    );
    expect(Object.keys(preds)).toEqual([swe.id]);
    expect(preds[swe.id]!.model_patch).toBe(readFileSync(rolloutFolder(runDir, swe.id, 'it0-r0').patch, 'utf8'));
    // The patch is the submission (the patch file the agent wrote), not the whole worktree: the
    // reproduction script and the patch file itself are not in it.
    const solver = results(swe.id).find((r) => r.passed)!;
    const solved = readFileSync(rolloutFolder(runDir, swe.id, solver.rolloutId).patch, 'utf8');
    expect(solved).toMatch(/^diff --git/);
    expect(solved).not.toContain(REPRO_SCRIPT);
    expect(solved).not.toContain('patch.txt');
    expect(preds[swe.id]!.model_name_or_path).toBe('claude-test');
    expect(readFileSync(runFolder(runDir).table, 'utf8')).toMatch(/pass@1 50\.0%/);

    // run.json holds every setting that shapes a result, among them that Claude was sent no sampling.
    const shaping = readJson<{ resultSettings: ResultShapingSettings }>(runFolder(runDir).run).resultSettings;
    expect(shaping).toEqual(resultShapingSettings(config, sha256));
    expect(shaping).toMatchObject({
      model: { provider: 'anthropic', name: 'claude-test', maxTokens: 1024 },
      sampling: {
        sent: false,
        note: expect.stringContaining('2026-10-21'),
        configured: { agent: { temperature: 1, topP: null } },
        effective: { agent: { temperature: null, topP: null }, judge: { temperature: null, topP: null } },
      },
      agent: { outputCapBytes: config.sandbox.outputCapBytes },
      scaling: { trajectoryChars: config.scaling.trajectoryChars, summaryAttempts: config.scaling.summaryAttempts },
    });
    expect(shaping.prompts['agent.templates.swebenchInstance']).toBe(sha256(config.agent.templates.swebenchInstance));
    expect(double.calls.every((c) => c.request?.temperature === undefined)).toBe(true);

    // The key reached the model API and nothing else: not one workflow history holds it.
    expect(double.calls.some((c) => c.request?.apiKey === API_KEY)).toBe(true);
    let histories = 0;
    for await (const w of client.workflow.list({ query: `WorkflowId STARTS_WITH '${runId}'` })) {
      const history = await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
      expect(JSON.stringify(history)).not.toContain(API_KEY);
      histories++;
    }
    expect(histories).toBe(1 + tasks.length * 3); // run + per task (task workflow + 2 rollouts)
    expect(await listSandboxes({ [LABEL.run]: runId })).toEqual([]);

    // In the UI, every rollout is found by run, task, iteration and outcome (visibility is eventual).
    const outcomes = async () => {
      const found: Record<string, string> = {};
      const query = `AgentscaleRunId = '${runId}' AND AgentscaleJob = 'rollout' AND AgentscaleIteration = 0`;
      for await (const w of client.workflow.list({ query })) {
        const sa = w.typedSearchAttributes;
        found[`${sa.get(SA.taskId)}/${sa.get(SA.rollout)}`] = String(sa.get(SA.outcome));
      }
      return found;
    };
    let seen: Record<string, string> = {};
    for (let i = 0; i < 40 && Object.keys(seen).length < tasks.length * 2; i++) {
      seen = await outcomes();
      if (Object.keys(seen).length < tasks.length * 2) await new Promise((r) => setTimeout(r, 250));
    }
    for (const t of tasks)
      for (const r of results(t.id))
        expect(seen[`${t.id}/${r.rolloutId}`], JSON.stringify(seen)).toBe(r.passed ? 'passed' : 'failed');
  });

  it('format errors, step limits and a model that keeps failing end rollouts with their status; the run goes on', async () => {
    const { config } = modelConfig('run-limits', {
      agent: { stepLimit: 4, formatErrorLimit: 2, costLimitUsd: 3, commandTimeoutSec: 30 },
    });
    const harbor = tasks.find((t) => t.id === 'hello-file')!;
    const tb = tasks.find((t) => t.id === 'count-lines')!;
    // Both rollouts of one task meet a model that always fails (retries of a first turn look alike,
    // so the failure is task-wide); the other task's rollouts must finish regardless.
    const before = double.calls.length;
    const { report, results } = await run(config, [harbor, tb], {
      [harbor.id]: ['chatty', 'wander'],
      [tb.id]: ['fail'],
    });

    const h = new Map(results(harbor.id).map((r) => [r.exitStatus, r]));
    expect(h.get('RepeatedFormatError')).toMatchObject({ steps: 2, passed: false });
    expect(h.get('LimitsExceeded')).toMatchObject({ steps: 4, passed: false });
    for (const r of results(tb.id))
      expect(r).toMatchObject({
        exitStatus: 'ModelError',
        steps: 0,
        detail: expect.stringMatching(/scripted failure/),
      });
    expect(report.exitStatuses).toEqual({ RepeatedFormatError: 1, LimitsExceeded: 1, ModelError: 2 });
    // Each failing call was tried exactly modelMaxAttempts (4) times, then given up.
    expect(double.calls.slice(before).filter((c) => c.status === 500)).toHaveLength(2 * 4);
  });

  it('a storm of 429s with retry-after ends in success', async () => {
    const { config } = modelConfig('run-429');
    const harbor = tasks.find((t) => t.id === 'hello-file')!;
    const before = double.calls.length;
    let throttled = 0;
    const { results } = await run(
      config,
      [harbor],
      {},
      1,
      (inner) => (req) =>
        throttled++ < 3
          ? { error: { status: 429, type: 'rate_limit_error', message: 'slow down', retryAfterSec: 1 } }
          : inner(req),
    );
    const [r] = results(harbor.id);
    expect(r).toMatchObject({ exitStatus: 'Submitted', passed: true });
    const calls = double.calls.slice(before);
    expect(calls.filter((c) => c.status === 429)).toHaveLength(3);
    // Retries waited for retry-after (1 s) between attempts.
    const stamps = calls.map((c) => c.at);
    expect(stamps[3]! - stamps[0]!).toBeGreaterThanOrEqual(2900);
  });
});

describe('run.json', () => {
  it('hashes every prompt template, so a changed prompt shows, and records the limits that shape results', () => {
    const base = ConfigSchema.parse({});
    const a = resultShapingSettings(base, sha256);
    expect(Object.keys(a.prompts).sort()).toEqual(
      [
        ...[
          'system',
          'instance',
          'swebenchInstance',
          'observation',
          'timeout',
          'formatError',
          'terminal',
          'truncated',
        ].map((k) => `agent.templates.${k}`),
        ...['system', 'instance', 'retry', 'context'].map((k) => `scaling.templates.summary.${k}`),
        ...['system', 'instance', 'retry'].map((k) => `scaling.templates.judge.${k}`),
      ].sort(),
    );
    const judged = ConfigSchema.parse({ scaling: { templates: { judge: { instance: 'Pick one: {{attempts}}' } } } });
    const b = resultShapingSettings(judged, sha256);
    const changed = Object.keys(a.prompts).filter((k) => a.prompts[k] !== b.prompts[k]);
    expect(changed).toEqual(['scaling.templates.judge.instance']);
    // The default sampling is the APIs' own (temperature 1), never greedy; openai sends it.
    const openai = resultShapingSettings(ConfigSchema.parse({ model: { provider: 'openai' } }), sha256);
    expect(openai.sampling).toMatchObject({ sent: true, effective: { agent: { temperature: 1, topP: null } } });
  });
});
