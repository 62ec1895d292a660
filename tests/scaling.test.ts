// Test-time scaling end to end on real containers and the real Temporal server, with the model
// (agent, summariser and judge) played by the Messages-API test double: a scripted agent whose
// rollouts solve or give up, and a judge whose preferences are known (it favours summaries that
// report the solving plan).
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JUDGE_SYSTEM } from '../core/judge';
import type { ResultShapingSettings } from '../core/resultSettings';
import { renderSelectionComparison, type ScalingReport } from '../core/scalingReport';
import { SUMMARY_SYSTEM } from '../core/summary';
import type { Task } from '../core/task';
import { loadDatasets } from '../datasets';
import { readJson } from '../runtime/artifacts';
import { rolloutFolder, runFolder, selectionFolder, taskFolder } from '../runtime/runFolder';
import type { StoredPrompt } from '../runtime/rollouts';
import { LABEL, listSandboxes } from '../runtime/sandbox';
import { runSettings, type SettingsOptions } from '../core/settings';
import type { Bracket } from '../core/tournament';
import type { TaskScalingResult } from '../core/pdr';
import { startSelection } from '../client/select';
import { selectionRows } from '../client/selections';
import type { SelectSpec } from '../workflows/select';
import { createWorker, runWorker } from '../worker';
import {
  startMessagesApiDouble,
  type DoubleRequest,
  type DoubleResponse,
  type MessagesApiDouble,
} from '../scripted-model/messagesApi';
import { scriptedAgent, type Behaviour } from '../scripted-model/scriptedAgent';
import { EXAMPLES, FIXTURES } from './helpers';
import { closeTestClient, doubleConfig, startRun, testClient, testServer } from './runHarness';

let double: MessagesApiDouble;
let tasks: Task[];

beforeAll(async () => {
  process.env.ANTHROPIC_API_KEY = 'sk-ant-scaling-test';
  double = await startMessagesApiDouble({ latencyMs: 10 });
  tasks = (
    await loadDatasets([
      path.join(EXAMPLES, 'harbor', 'hello-file'),
      path.join(EXAMPLES, 'swebench', 'instances.jsonl'),
    ])
  ).filter((t) => t.id !== 'example__calc-2');
});
afterAll(async () => {
  await closeTestClient();
  await double?.close();
});

/** One solving rollout in four: the judge must find it among the others. */
const oneInFour = (ts: Task[]): Record<string, Behaviour[]> =>
  Object.fromEntries(ts.map((t) => [t.id, ['giveUp', 'solve', 'giveUp', 'giveUp']]));

async function scale(
  name: string,
  runTasks: Task[],
  opts: Omit<SettingsOptions, 'strategy'> & { strategy: 'rtv' | 'pdr' },
  extra: Record<string, unknown> = {},
) {
  const { config } = doubleConfig(double, name, extra);
  const before = double.calls.length;
  double.setReply(scriptedAgent(runTasks, oneInFour(runTasks)).reply);
  const { runDir, report, runId } = await startRun(config, runTasks, runSettings(config, opts));
  const outcome = (taskId: string) => readJson<TaskScalingResult>(taskFolder(runDir, taskId).scaling);
  const prompt = (taskId: string, id: string) =>
    readJson<StoredPrompt & { contextFrom: string[] }>(rolloutFolder(runDir, taskId, id).prompt);
  return { runDir, runId, report, outcome, prompt, calls: double.calls.slice(before) };
}

describe('pdr', () => {
  it('selects the solving rollouts, carries their summaries forward, and picks a passing final answer', async () => {
    const { runDir, runId, report, outcome, prompt, calls } = await scale('pdr', tasks, {
      strategy: 'pdr',
      n: 4,
      iterations: 2,
      k: 2,
      groupSize: 2,
      votes: 2,
    });

    for (const task of tasks) {
      const o = outcome(task.id);
      expect(o.iterations).toHaveLength(2);
      const [it0, it1] = o.iterations;
      const solver0 = it0!.rollouts.find((r) => r.passed)!;
      expect(it0!.selected).toContain(solver0.rolloutId);
      for (const r of it1!.rollouts) expect(prompt(task.id, r.rolloutId).contextFrom).toEqual(it0!.selected);
      expect(prompt(task.id, it1!.rollouts[0]!.rolloutId).instance).toMatch(/<prior_attempts>[\s\S]*plan solve/);
      expect(it1!.rollouts.find((r) => r.rolloutId === o.final)?.passed).toBe(true);
      if (task.format === 'swebench') {
        // Giving up leaves an empty patch: those rollouts are dropped before the tournament,
        // so the solver is the only candidate and needs no vote.
        expect(it0!.dropped).toHaveLength(3);
        expect(it0!.selected).toEqual([solver0.rolloutId]);
        expect(it0!.bracket!.rounds).toEqual([]);
        continue;
      }
      // Iteration 0: 4 -> 2 in one round of two groups; iteration 1: 4 -> 2 -> 1.
      expect(it0!.dropped).toEqual([]);
      expect(it0!.bracket!.rounds.map((r) => r.groups.length)).toEqual([2]);
      expect(it0!.selected).toHaveLength(2);
      expect(it1!.bracket!.rounds.map((r) => r.groups.length)).toEqual([2, 1]);
      // Every vote of the bracket is recorded, positions rotated (G = 2, V = 2: A,B then B,A).
      const bracket = readJson<Bracket>(taskFolder(runDir, task.id).tournament('it1-final').bracket);
      const g = bracket.rounds[0]!.groups[0]!;
      expect(g.votes.map((v) => v.order)).toEqual([g.members, [...g.members].reverse()]);
    }

    const s = report.scaling!;
    expect(s.final).toBe(1);
    expect(s.iterations.map((i) => i.pass1)).toEqual([0.25, 0.25]);
    expect(s.iterations.map((i) => i.passN)).toEqual([1, 1]);
    // Sel-K: harbor carried 1 solver of 2 selected, SWE-bench its only (solving) candidate.
    expect(s.selK).toEqual([{ iteration: 0, mean: (0.5 + 1) / 2 }]);
    expect(s.judgeAccuracy.rate).toBe(1);
    expect(s.judgeAccuracy.groups).toBeGreaterThanOrEqual(2); // harbor's mixed groups, one per iteration at least
    expect(s.cost.summary).toBeGreaterThan(0);
    expect(s.cost.judge).toBeGreaterThan(0);

    // preds.json holds the final pick.
    const swe = tasks.find((t) => t.format === 'swebench')!;
    const preds = readJson<Record<string, { model_patch: string }>>(runFolder(runDir).preds);
    expect(preds[swe.id]!.model_patch).toContain('diff --git');

    // Blind: nothing the judge was sent mentions tests, rewards or verdicts.
    const judged = calls
      .filter((c) => c.request?.system === JUDGE_SYSTEM)
      .map((c) => c.request!.messages.map((m) => m.content).join('\n'));
    expect(judged.length).toBeGreaterThan(0);
    for (const text of judged)
      expect(text).not.toMatch(/\b(FAIL_TO_PASS|PASS_TO_PASS|reward|test_outputs|passed|resolved)\b/i);
    expect(await listSandboxes({ [LABEL.run]: runId })).toEqual([]);
  });

  it('context modes reach the first prompts of the next iteration', async () => {
    const [harbor] = tasks;
    for (const context of ['random-K', 'own', 'none'] as const) {
      const { outcome, prompt } = await scale(`ctx-${context}`, [harbor!], {
        strategy: 'pdr',
        n: 3,
        iterations: 2,
        k: 2,
        groupSize: 2,
        votes: 1,
        context,
      });
      const [it0, it1] = outcome(harbor!.id).iterations;
      const earlier = it0!.rollouts.map((r) => r.rolloutId);
      const given = it1!.rollouts.map((r) => prompt(harbor!.id, r.rolloutId).contextFrom);
      if (context === 'own') expect(given).toEqual(earlier.map((id) => [id]));
      if (context === 'none') {
        expect(given).toEqual([[], [], []]);
        expect(prompt(harbor!.id, it1!.rollouts[0]!.rolloutId).instance).not.toContain('<prior_attempts>');
      }
      if (context === 'random-K') {
        for (const g of given) {
          expect(g).toHaveLength(2);
          expect(new Set(g).size).toBe(2);
          for (const id of g) expect(earlier).toContain(id);
        }
      }
      if (context !== 'none')
        expect(prompt(harbor!.id, it1!.rollouts[0]!.rolloutId).instance).toContain('<prior_attempts>');
      expect(it0!.bracket, `${context}: no selection tournament`).toBeUndefined();
    }
  });
});

describe('rtv', () => {
  it('is one iteration: N rollouts, then the tournament to one; each role samples as configured', async () => {
    const [harbor] = tasks;
    // Through an OpenAI-compatible endpoint, whose API takes sampling parameters.
    const sampling = {
      agent: { temperature: 0.9 },
      summariser: { temperature: 0.3 },
      judge: { temperature: 0.7, topP: 0.95 },
    };
    const model = { provider: 'openai', name: 'local-coder', baseUrl: double.baseUrl.openai, sampling, prices: {} };
    const { outcome, report, calls, runDir } = await scale(
      'rtv',
      [harbor!],
      { strategy: 'rtv', n: 4, groupSize: 2, votes: 2 },
      { model },
    );
    const o = outcome(harbor!.id);
    expect(o.iterations).toHaveLength(1);
    expect(o.iterations[0]!.bracket!.rounds.map((r) => r.groups.length)).toEqual([2, 1]);
    expect(report.scaling!.final).toBe(1);

    const roleOf = (system: string) =>
      system === JUDGE_SYSTEM ? 'judge' : system === SUMMARY_SYSTEM ? 'summariser' : 'agent';
    const seen = new Map<string, Set<string>>();
    for (const c of calls) {
      const role = roleOf(c.request!.system);
      seen.set(role, (seen.get(role) ?? new Set()).add(JSON.stringify([c.request!.temperature, c.request!.topP])));
    }
    expect(Object.fromEntries([...seen].map(([role, s]) => [role, [...s]]))).toEqual({
      agent: [JSON.stringify([0.9, undefined])],
      summariser: [JSON.stringify([0.3, undefined])],
      judge: [JSON.stringify([0.7, 0.95])],
    });
    const run = readJson<{ resultSettings: ResultShapingSettings }>(runFolder(runDir).run);
    expect(run.resultSettings.sampling).toMatchObject({
      sent: true,
      effective: {
        agent: { temperature: 0.9, topP: null },
        summariser: { temperature: 0.3, topP: null },
        judge: { temperature: 0.7, topP: 0.95 },
      },
    });
  });

  it("can judge raw trajectories instead of summaries (the paper's ablation), making no summaries", async () => {
    const [harbor] = tasks;
    const { outcome, report, calls } = await scale('rtv-traj', [harbor!], {
      strategy: 'rtv',
      n: 4,
      groupSize: 2,
      votes: 2,
      judgeInput: 'trajectories',
    });
    expect(calls.filter((c) => c.request?.system === SUMMARY_SYSTEM)).toHaveLength(0);
    const judged = calls.filter((c) => c.request?.system === JUDGE_SYSTEM).map((c) => c.request!.messages[0]!.content);
    expect(judged[0]).toMatch(/the agent's trajectory[\s\S]*## Step 1/);
    expect(outcome(harbor!.id).iterations[0]!.bracket!.judgeInput).toBe('trajectories');
    expect(report.scaling!.final).toBe(1);
  });
});

describe('select', () => {
  it('re-plays selection on a finished run with other G, V and seed, without new rollouts', async () => {
    const [harbor] = tasks;
    const { config } = doubleConfig(double, 'select');
    double.setReply(scriptedAgent([harbor!], oneInFour([harbor!])).reply);
    const { runDir, runId } = await startRun(config, [harbor!], runSettings(config, { strategy: 'sample', n: 4 }));

    const agentCalls = () =>
      double.calls.filter((c) => c.request && c.request.system !== JUDGE_SYSTEM && c.request.system !== SUMMARY_SYSTEM)
        .length;
    const before = agentCalls();
    const client = await testClient(config);
    const server = testServer(config);
    const select = async (selectId: string, spec: SelectSpec) => {
      const handle = await startSelection(config, server, client, { runId, runDir, selectId, spec, concurrency: 1 });
      return (await runWorker(await createWorker(config, server), handle.result())) as ScalingReport;
    };

    const a = await select('sel-a', { groupSize: 2, votes: 2, seed: 1, judgeInput: 'summaries' });
    const b = await select('sel-b', { groupSize: 4, votes: 1, seed: 7, judgeInput: 'summaries' });
    expect(agentCalls()).toBe(before); // no new rollouts, only summaries and votes
    for (const r of [a, b]) expect(r).toMatchObject({ tasks: 1, final: 1, judgeAccuracy: { rate: 1 } });
    const bracket = (id: string) =>
      readJson<Bracket>(selectionFolder(runDir, id).tournament(harbor!.id, 'it0-final').bracket);
    expect(bracket('sel-a').rounds.map((r) => r.groups.length)).toEqual([2, 1]);
    expect(bracket('sel-b').rounds.map((r) => r.groups.length)).toEqual([1]);
    expect(readFileSync(selectionFolder(runDir, 'sel-b').table, 'utf8')).toMatch(
      /groupSize=4, votes=1, seed=7[\s\S]*Final 100\.0%/,
    );
    // Both strategies side by side, each with its interval and the share of the oracle gap it closed.
    const rows = selectionRows(config, runId);
    expect(rows.map((r) => [r.id, r.groupSize, r.votes, r.seed])).toEqual([
      ['sel-a', 2, 2, 1],
      ['sel-b', 4, 1, 7],
    ]);
    expect(renderSelectionComparison(rows)).toMatch(
      /\| sel-b \| 4 \| 1 \| 7 \| summaries \| 100\.0% \[100\.0%, 100\.0%\] \| 100\.0% \[100\.0%, 100\.0%\] \|/,
    );

    // A scaling curve from the stored population: Final against N, without a rollout.
    const c = await select('sel-c', {
      groupSize: 2,
      votes: 2,
      seed: 3,
      judgeInput: 'summaries',
      sizes: [1, 4],
      repeats: 3,
      ks: [1, 2],
    });
    expect(agentCalls()).toBe(before);
    const [one, four] = c.finalByN!;
    expect(one).toMatchObject({ n: 1, draws: 3 });
    expect(one!.final).toBe(one!.pass1); // one rollout drawn: the pick is that rollout
    expect(four).toMatchObject({ n: 4, draws: 3, final: 1, passN: 1, pass1: 0.25 });
    // Sel-K against K: the one solver kept at K = 1, and half of what is kept at K = 2.
    expect(c.selKByK).toEqual([
      { iteration: 0, k: 1, mean: 1 },
      { iteration: 0, k: 2, mean: 0.5 },
    ]);
    expect(readFileSync(selectionFolder(runDir, 'sel-c').table, 'utf8')).toMatch(
      /\| 4 \| 3 \| 100\.0% \| 25\.0% \| 100\.0% \|/,
    );
  });
});

/** A copy of a fixture task whose image cannot be built: its task workflow fails. */
function unbuildableTask(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agentscale-unbuildable-'));
  const task = path.join(dir, 'cannot-build');
  cpSync(path.join(FIXTURES, 'harbor', 'broken-oracle'), task, { recursive: true });
  writeFileSync(path.join(task, 'environment', 'Dockerfile'), 'FROM agentscale/base:bookworm\nRUN exit 3\n');
  return task;
}

describe('selection under judges that fail, tie and prefer a position', () => {
  it('counts every task, shows ties, abstentions and random picks, and select replays the bracket byte for byte', async () => {
    const [harbor] = tasks;
    const [broken] = await loadDatasets([unbuildableTask()]);
    const runTasks = [harbor!, broken!];
    const agent = scriptedAgent(runTasks, oneInFour(runTasks)).reply;
    // Always answers "A": with V = 2 and rotated orders every group ties 1-1, and the extra vote
    // goes to whoever is shown first.
    const positional = (req: DoubleRequest): DoubleResponse | Promise<DoubleResponse> =>
      req.system === JUDGE_SYSTEM ? { text: 'The first one. <answer>A</answer>' } : agent(req);
    const { config } = doubleConfig(double, 'hostile-judge');
    double.setReply(positional);
    const settings = runSettings(config, { strategy: 'rtv', n: 4, groupSize: 2, votes: 2, seed: 5 });
    const { runDir, runId, report } = await startRun(config, runTasks, settings);

    // Every table counts both tasks; the one that could not be built is unsolved and named.
    const s = report.scaling!;
    expect(s.tasks).toBe(2);
    expect(s.failedTasks.map((f) => f.taskId)).toEqual(['cannot-build']);
    expect(s.iterations[0]!.pass1).toBeCloseTo(0.25 / 2);
    expect(s.iterations[0]!.solveCounts).toEqual({ 0: 1, 1: 1 });
    expect(report.perTask.find((t) => t.taskId === 'cannot-build')!.error).toBeTruthy();
    expect(report.pass1).toBeCloseTo(0.25 / 2);
    // Every group tied; each tie went to an extra vote shown in a seeded order, and is counted.
    const bracket = readFileSync(taskFolder(runDir, harbor!.id).tournament('it0-final').bracket, 'utf8');
    const groups = (JSON.parse(bracket) as Bracket).rounds.flatMap((r) => r.groups);
    expect(groups).toHaveLength(3);
    for (const g of groups) {
      expect(g.tie).toMatchObject({ how: 'extra-vote' });
      expect([...g.tie!.order!].sort()).toEqual([...g.tie!.tied].sort());
      expect(g.winner).toBe(g.tie!.order![0]);
    }
    expect(s.selection).toMatchObject({ groups: 3, ties: 3, tiesByExtraVote: 3, abstentions: 0 });
    expect(s.finalIsSelection).toBe(true);
    const md = readFileSync(runFolder(runDir).table, 'utf8');
    expect(md).toMatch(/1 of 2 tasks failed/);
    expect(md).toMatch(/3 ties \(3 settled by the extra vote/);

    // select with the run's own settings plays the same bracket, byte for byte.
    const client = await testClient(config);
    const spec: SelectSpec = { groupSize: 2, votes: 2, seed: 5, judgeInput: 'summaries' };
    const again = await startSelection(config, testServer(config), client, {
      runId,
      runDir,
      selectId: 'same',
      spec,
    });
    const selected = (await runWorker(await createWorker(config, testServer(config)), again.result())) as ScalingReport;
    expect(readFileSync(selectionFolder(runDir, 'same').tournament(harbor!.id, 'it0-final').bracket, 'utf8')).toBe(
      bracket,
    );
    expect(selected.tasks).toBe(2);
    expect(selected.cost.summary).toBe(0); // the run's summaries, not paid for again

    // A judge that never answers: every vote an abstention, every group a random pick, said loudly.
    double.setReply((req) => (req.system === JUDGE_SYSTEM ? { text: 'I cannot decide.' } : agent(req)));
    const mute = await startSelection(config, testServer(config), client, {
      runId,
      runDir,
      selectId: 'mute',
      spec,
    });
    const muted = (await runWorker(await createWorker(config, testServer(config)), mute.result())) as ScalingReport;
    expect(muted.selection).toMatchObject({ groups: 3, groupsWithoutValidVote: 3, tiesByRandom: 3 });
    expect(muted.selection.abstentions).toBe(muted.selection.votes);
    expect(muted.finalIsSelection).toBe(false);
    expect(readFileSync(selectionFolder(runDir, 'mute').table, 'utf8')).toMatch(/No selection: the judge never gave/);
  });
});
