// The terminal agent (after Terminus): its reply parser and screen arithmetic, then end to end on
// real containers through the real Temporal server, with the model played by the Messages-API
// test double through the real SDK: it solves the examples (the interactive one included, which
// the bash agent cannot), bad replies are answered with the error and asked again, a container
// removed mid-rollout is rebuilt by replaying keystrokes, and summaries and PDR run over it.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutResult } from '../core/rollout';
import { ConfigSchema } from '../core/config';
import { agentFor, describeAgents, runSettings, type SettingsOptions } from '../core/settings';
import type { Task } from '../core/task';
import {
  completionConfirmation,
  incrementalOutput,
  limitOutput,
  parseTerminalReply,
  terminalFormatErrorMessage,
} from '../core/terminal';
import { loadDatasets } from '../datasets';
import { readJson } from '../runtime/artifacts';
import { loadConfig, PROJECT_ROOT } from '../runtime/config';
import type { StoredModelStep, StoredObservation } from '../runtime/rollouts';
import { rolloutFolder, runFolder } from '../runtime/runFolder';
import { LABEL, listSandboxes, removeSandboxes } from '../runtime/sandbox';
import { startMessagesApiDouble, type DoubleReplyFn, type MessagesApiDouble } from '../scripted-model/messagesApi';
import { scriptedAgent, type Behaviour } from '../scripted-model/scriptedAgent';
import { EXAMPLES } from './helpers';
import { closeTestClient, doubleConfig, startRun } from './runHarness';

describe('Terminus reply parsing', () => {
  const ok = { analysis: 'a', plan: 'p', commands: [{ keystrokes: 'ls\n', duration: 0.1 }] };

  it('takes analysis, plan, keystroke batches and the completion flag; caps waits at 60 s', () => {
    const r = parseTerminalReply(
      JSON.stringify({ ...ok, commands: [...ok.commands, { keystrokes: 'C-c', duration: 600 }], task_complete: true }),
    );
    expect(r).toEqual({
      kind: 'action',
      commands: [
        { keystrokes: 'ls\n', duration: 0.1 },
        { keystrokes: 'C-c', duration: 60 },
      ],
      taskComplete: true,
      warning: undefined,
    });
    expect(parseTerminalReply(JSON.stringify({ ...ok, task_complete: 'yes' }))).toMatchObject({ taskComplete: true });
    expect(parseTerminalReply(JSON.stringify(ok))).toMatchObject({ taskComplete: false });
  });

  it('errors are format errors with the reason; what it can mend or tolerate is a warning', () => {
    expect(parseTerminalReply('I will run ls')).toMatchObject({
      kind: 'format_error',
      error: 'No valid JSON found in response',
    });
    expect(parseTerminalReply(JSON.stringify({ analysis: 'a', commands: [] }))).toMatchObject({
      kind: 'format_error',
      error: 'Missing required fields: plan',
    });
    expect(parseTerminalReply(JSON.stringify({ ...ok, commands: [{ duration: 1 }] }))).toMatchObject({
      kind: 'format_error',
      error: "Command 1 missing required 'keystrokes' field",
    });
    // A reply cut before its last brace is mended, with a warning (Terminus's auto-fix).
    const cut = JSON.stringify(ok).slice(0, -1);
    const mended = parseTerminalReply(cut);
    expect(mended).toMatchObject({ kind: 'action', commands: ok.commands });
    expect(mended.warning).toMatch(/AUTO-CORRECTED: Fixed incomplete JSON/);
    const chatty = parseTerminalReply(`Sure:\n${JSON.stringify({ ...ok, commands: [{ keystrokes: 'ls' }] })}\nthanks`);
    expect(chatty).toMatchObject({ kind: 'action', commands: [{ keystrokes: 'ls', duration: 1 }] });
    expect(chatty.warning).toContain('Extra text detected before JSON object');
    expect(chatty.warning).toContain('Missing duration field, using default 1.0');
    // Cut at the token limit: not acted on even though it would parse, and told so.
    const long = parseTerminalReply(JSON.stringify(ok), 'max_tokens');
    if (long.kind !== 'format_error') throw new Error('expected a format error');
    expect(terminalFormatErrorMessage(long, 1024)).toMatch(/^ERROR!! NONE of the actions .* 1024 tokens/);
    const bad = parseTerminalReply('nothing');
    if (bad.kind !== 'format_error') throw new Error('expected a format error');
    expect(terminalFormatErrorMessage(bad)).toMatch(/^Previous response had parsing errors:\nERROR: No valid JSON/);
  });

  it('observations: the scrollback increment, else the screen; capped head and tail', () => {
    expect(incrementalOutput(undefined, 'x', '$ ')).toBe('Current Terminal Screen:\n$ ');
    expect(incrementalOutput('$ ls\na\n$', '$ ls\na\n$ pwd\n/app\n$', '$ pwd')).toBe(
      // From the previous buffer's last newline on, as Terminus slices it: its prompt line again.
      'New Terminal Output:\n\n$ pwd\n/app\n$',
    );
    expect(incrementalOutput('gone', 'cleared\n$', '$')).toBe('Current Terminal Screen:\n$');
    const long = 'a'.repeat(6000) + 'b'.repeat(6000);
    const capped = limitOutput(long);
    expect(capped).toMatch(
      /^a{5000}\n\[\.\.\. output limited to 10000 bytes; 2000 interior bytes omitted \.\.\.\]\nb{5000}$/,
    );
    expect(completionConfirmation('$')).toContain('"task_complete": true in your JSON response again');
  });
});

describe('--agent', () => {
  it('defaults per format (bash for SWE-bench, terminal for Terminal-Bench and Harbor); --agent sets every format', () => {
    const config = ConfigSchema.parse({});
    const byDefault = runSettings(config, { strategy: 'sample' });
    expect(byDefault.agents).toEqual({ swebench: 'bash', 'terminal-bench': 'terminal', harbor: 'terminal' });
    expect(describeAgents(byDefault, ['swebench', 'harbor', 'terminal-bench'])).toBe(
      'agents terminal (harbor, terminal-bench), bash (swebench)',
    );
    const pinned = runSettings(config, { strategy: 'sample', agent: 'bash' });
    expect(describeAgents(pinned, ['swebench', 'harbor'])).toBe('agent bash');
    const configured = ConfigSchema.parse({ agent: { byFormat: { harbor: 'bash' } } });
    expect(runSettings(configured, { strategy: 'sample' }).agents!.harbor).toBe('bash');
    // A run started before the choice existed (no agents recorded) ran the bash agent everywhere.
    expect(agentFor({}, 'harbor')).toBe('bash');
  });
});

const API_KEY = `sk-ant-terminal-${Math.random().toString(36).slice(2)}`;
let double: MessagesApiDouble;
let tasks: Task[];

beforeAll(async () => {
  process.env.ANTHROPIC_API_KEY = API_KEY;
  double = await startMessagesApiDouble({ latencyMs: 20 });
  tasks = await loadDatasets([path.join(EXAMPLES, 'harbor'), path.join(EXAMPLES, 'terminal-bench')]);
});
afterAll(async () => {
  await closeTestClient();
  await double?.close();
  delete process.env.ANTHROPIC_API_KEY;
});

const byId = (id: string) => tasks.find((t) => t.id === id)!;

async function run(
  name: string,
  runTasks: Task[],
  behaviours: Record<string, Behaviour[]>,
  opts: Partial<SettingsOptions> & { n?: number } = {},
  wrap: (inner: DoubleReplyFn, dataDir: string) => DoubleReplyFn = (inner) => inner,
  extra: Record<string, unknown> = {},
) {
  // Offline, as the examples need nothing else: the tests do not depend on the host's bridge network.
  const sandbox = { ...loadConfig(path.join(PROJECT_ROOT, 'agentscale.yaml')).sandbox, network: 'none' };
  const { config } = doubleConfig(double, name, { agent: { stepLimit: 12 }, sandbox, ...extra });
  const agent = scriptedAgent(runTasks, behaviours);
  double.setReply(wrap(agent.reply, config.dataDir));
  const started = await startRun(config, runTasks, runSettings(config, { strategy: 'sample', n: 1, ...opts }));
  const result = (taskId: string, id = 'it0-r0') =>
    readJson<RolloutResult>(rolloutFolder(started.runDir, taskId, id).result);
  return { ...started, config, agent, result };
}

function steps(runDir: string, taskId: string, rolloutId = 'it0-r0') {
  const p = rolloutFolder(runDir, taskId, rolloutId);
  const out: { model: StoredModelStep; obs: StoredObservation }[] = [];
  for (let s = 1; ; s++) {
    try {
      out.push({ model: readJson(p.model(s)), obs: readJson(p.observation(s)) });
    } catch {
      return out;
    }
  }
}

describe('the terminal agent', () => {
  it('solves every example, the interactive one included; a bad reply is answered with the error and asked again', async () => {
    const behaviours: Record<string, Behaviour[]> = {
      ...Object.fromEntries(tasks.map((t) => [t.id, ['solve'] as Behaviour[]])),
      quiz: ['interact'],
      'json-names': ['badJson'],
    };
    // Harbor and Terminal-Bench tasks get the terminal agent by default (agent.byFormat).
    const { runId, runDir, report, result } = await run('terminal-e2e', tasks, behaviours);
    for (const t of tasks) {
      const r = result(t.id);
      expect(r, `${t.id}: ${r.detail ?? ''} ${r.evalReason ?? ''}`).toMatchObject({
        exitStatus: 'Submitted',
        passed: true,
      });
    }
    expect(report.pass1).toBe(1);
    expect(readJson<{ settings: { agents: Record<string, string> } }>(runFolder(runDir).run).settings.agents).toEqual({
      swebench: 'bash',
      'terminal-bench': 'terminal',
      harbor: 'terminal',
    });

    // The interactive example: the quiz was started, each question answered as it appeared.
    const quiz = steps(runDir, 'quiz');
    const typed = quiz.flatMap((s) => s.obs.keystrokes ?? []).map((k) => k.keystrokes);
    expect(typed).toEqual(['ls -la\n', '/app/quiz\n', '42\n', '72\n', '42\n']);
    expect(quiz.map((s) => s.obs.screen ?? '').join('\n')).toContain('Your score: 3/3');
    // Completion is confirmed, as Terminus asks: the first task_complete is asked again.
    expect(quiz.at(-2)!.obs).toMatchObject({ taskComplete: true, submitted: false });
    expect(quiz.at(-2)!.obs.message).toMatch(/Are you sure you want to mark the task as complete\?/);
    expect(quiz.at(-1)!.obs).toMatchObject({ taskComplete: true, submitted: true });

    // The trajectory: the same messages, each observation with its keystrokes and screen.
    const traj = readJson<{
      trajectory_format: string;
      info: { agent: string };
      messages: { role: string; content: string; extra?: { keystrokes?: unknown[]; screen?: string } }[];
    }>(rolloutFolder(runDir, 'quiz', 'it0-r0').traj);
    expect(traj.trajectory_format).toBe('agentscale-terminal-1');
    expect(traj.info.agent).toBe('terminal');
    expect(traj.messages[1]!.content).toContain('Current terminal state:\nCurrent Terminal Screen:\n');
    expect(traj.messages.filter((m) => m.extra?.keystrokes).length).toBe(quiz.length);

    // Bad replies: nothing typed, the model told what was wrong, and the next call carries it.
    const json = steps(runDir, 'json-names');
    expect(json.slice(0, 2).map((s) => s.model.parsed.kind)).toEqual(['format_error', 'format_error']);
    expect(json[0]!.obs.message).toContain('ERROR: No valid JSON found in response');
    expect(json[1]!.obs.message).toContain('ERROR: Missing required fields: plan');
    expect(json.slice(0, 2).every((s) => s.obs.keystrokes === undefined)).toBe(true);
    expect(result('json-names').steps).toBe(json.length);
    const asked = double.calls.filter(
      (c) => c.status === 200 && c.request?.messages.at(-1)?.content.includes('Missing required fields: plan'),
    );
    expect(asked).toHaveLength(1);
    expect(await listSandboxes({ [LABEL.run]: runId })).toEqual([]);
  });

  it('the bash agent cannot do the interactive example: the quiz wants a terminal', async () => {
    const quiz = byId('quiz');
    const { runDir, result } = await run('terminal-bash-quiz', [quiz], { quiz: ['interact'] }, { agent: 'bash' });
    expect(result('quiz')).toMatchObject({ exitStatus: 'Submitted', passed: false });
    const ran = steps(runDir, 'quiz').find((s) => s.obs.command === '/app/quiz')!;
    expect(ran.obs.output).toContain('this quiz needs a terminal');
  });

  it('a container removed mid-rollout is rebuilt by replaying the keystrokes, without model calls, and finishes', async () => {
    const task = byId('count-lines');
    let removed = false;
    // When the model is asked for step 3 (the solution typed in steps 1-2), the container goes.
    const wrap =
      (inner: DoubleReplyFn, dataDir: string): DoubleReplyFn =>
      async (req) => {
        if (!removed && req.messages.filter((m) => m.role === 'assistant').length === 2) {
          removed = true;
          const runId = readdirSync(path.join(dataDir, 'runs'))[0]!;
          expect(await removeSandboxes({ [LABEL.run]: runId })).toBe(1);
        }
        return inner(req);
      };
    const before = double.calls.length;
    const { runId, runDir, result, client } = await run('terminal-rebuild', [task], { [task.id]: ['solve'] }, {}, wrap);
    expect(removed).toBe(true);
    // AGENTSCALE_RECORD_HISTORIES=DIR saves this rollout's history for tests/replay.test.ts.
    const record = process.env.AGENTSCALE_RECORD_HISTORIES;
    if (record) {
      const history = await client.workflow.getHandle(`${runId}/${task.id}/it0-r0`).fetchHistory();
      writeFileSync(path.join(record, 'rollout-terminal-replayed-container.json'), historyToJSON(history));
    }
    const r = result(task.id);
    expect(r, r.detail).toMatchObject({ exitStatus: 'Submitted', passed: true, sandboxRestarts: 1 });
    // One model call per step: the rebuild asked the model nothing.
    expect(double.calls.slice(before).filter((c) => c.status === 200)).toHaveLength(r.apiCalls);
    expect(steps(runDir, task.id)).toHaveLength(r.steps);
  });

  it('with --agent terminal on SWE-bench, the answer is the repository diff, graded by the harness', async () => {
    const [swe] = (await loadDatasets([path.join(EXAMPLES, 'swebench', 'instances.jsonl')])).filter(
      (t) => t.id === 'example__calc-1',
    );
    const { runDir, result } = await run('terminal-swebench', [swe!], { [swe!.id]: ['solve'] }, { agent: 'terminal' });
    expect(result(swe!.id)).toMatchObject({ exitStatus: 'Submitted', passed: true });
    const patch = readFileSync(rolloutFolder(runDir, swe!.id, 'it0-r0').patch, 'utf8');
    expect(patch).toMatch(/^diff --git a\//);
  });

  it('summaries and PDR run over terminal rollouts', async () => {
    const task = byId('hello-file');
    const { runDir, report, result } = await run(
      'terminal-pdr',
      [task],
      { [task.id]: ['solve', 'giveUp'] },
      { strategy: 'pdr', n: 2, iterations: 2, k: 1, groupSize: 2, votes: 1 },
    );
    expect(report.rollouts).toBe(4);
    for (const id of ['it0-r0', 'it0-r1']) {
      const s = readJson<{ text: string }>(rolloutFolder(runDir, task.id, id).summary);
      expect(s.text).toMatch(/plan (solve|giveUp)/);
    }
    // The second iteration's first prompts (Terminus's) carry the summary picked in the first.
    const prompt = readJson<{ instance: string; agent: string }>(rolloutFolder(runDir, task.id, 'it1-r0').prompt);
    expect(prompt.agent).toBe('terminal');
    expect(prompt.instance).toContain('plan solve');
    expect(result(task.id, 'it1-r0').exitStatus).toBe('Submitted');
    expect(readFileSync(runFolder(runDir).table, 'utf8')).toContain('hello-file');
  });
});
