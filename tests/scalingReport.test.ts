// The paper's analysis (core/scalingReport.ts) on hand-made outcomes whose figures are worked out
// by hand here: denominators, Sel-K, rounds, context buckets, selection stats and tokens.
import { emptyUsage } from '../core/model';
import { describe, expect, it } from 'vitest';
import type { IterationOutcome, TaskScalingResult } from '../core/pdr';
import type { RolloutResult } from '../core/rollout';
import { renderRunReport, runReport, totalCost } from '../core/report';
import { renderScalingReport, scalingReport } from '../core/scalingReport';
import type { Bracket, BracketGroup } from '../core/tournament';

const r = (rolloutId: string, passed: boolean, steps = 10): RolloutResult => ({
  taskId: 't',
  rolloutId,
  exitStatus: 'Submitted',
  steps,
  apiCalls: steps,
  costUsd: 0.1,
  passed,
  patchBytes: 1,
  sandboxRestarts: 0,
  durationMs: 1,
});

const group = (members: string[], winner: string, extra: Partial<BracketGroup> = {}): BracketGroup => ({
  members,
  votes: members.map(() => ({ order: members, choice: winner })),
  counts: Object.fromEntries(members.map((m) => [m, m === winner ? members.length : 0])),
  winner,
  ...extra,
});

const bracket = (id: string, rounds: Bracket['rounds'], winners: string[]): Bracket => ({
  id,
  target: winners.length,
  groupSize: 2,
  votes: 2,
  seed: 0,
  judgeInput: 'summaries',
  candidates: [],
  rounds,
  winners,
});

// Task a: iteration 0 has r1 passing; the judge keeps r1 and r2 (K = 2); iteration 1's rollouts
// got [r1, r2] (1 of 2 passing) and pass 3 of 4; the final pick q3 passes.
const taskA: TaskScalingResult = {
  taskId: 'a',
  iterations: [
    {
      iteration: 0,
      rollouts: [r('r0', false), r('r1', true), r('r2', false), r('r3', false)],
      dropped: [],
      selected: ['r1', 'r2'],
      bracket: bracket(
        'it0-select-2',
        [{ groups: [group(['r0', 'r1'], 'r1'), group(['r2', 'r3'], 'r2')], byes: [] }],
        ['r1', 'r2'],
      ),
    },
    {
      iteration: 1,
      rollouts: [r('q0', true, 4), r('q1', false, 4), r('q2', true, 4), r('q3', true, 4)],
      dropped: [],
      selected: ['q3'],
      contexts: { q0: ['r1', 'r2'], q1: ['r1', 'r2'], q2: ['r1', 'r2'], q3: ['r1', 'r2'] },
      bracket: bracket(
        'it1-final',
        [
          // A wrong pick in a mixed group (q1 over q0), then a tie broken at random.
          { groups: [group(['q0', 'q1'], 'q1'), group(['q2', 'q3'], 'q3')], byes: [] },
          {
            groups: [
              group(['q1', 'q3'], 'q3', {
                votes: [
                  { order: ['q1', 'q3'], choice: null },
                  { order: ['q3', 'q1'], choice: null },
                ],
                tie: { tied: ['q1', 'q3'], order: ['q3', 'q1'], extraVote: null, how: 'random' },
              }),
            ],
            byes: [],
          },
        ],
        ['q3'],
      ),
    },
  ],
  final: 'q3',
  cost: { agent: 0.8, summary: 0.08, judge: 0.2 },
};
const failed: TaskScalingResult = {
  taskId: 'b',
  error: 'image build failed: RUN exit 3',
  iterations: [],
  cost: { agent: 0, summary: 0, judge: 0 },
};

describe('scaling report', () => {
  const s = scalingReport([taskA, failed]);

  it('counts every task: the failed one is unsolved in every table and named', () => {
    expect(s.tasks).toBe(2);
    expect(s.failedTasks).toEqual([{ taskId: 'b', error: failed.error }]);
    expect(s.iterations.map((it) => it.pass1)).toEqual([0.25 / 2, 0.75 / 2]);
    expect(s.iterations.map((it) => it.passN)).toEqual([0.5, 0.5]);
    expect(s.selK).toEqual([{ iteration: 0, mean: 0.5 / 2 }]);
    expect(s.final).toBe(0.5);
    expect(s.iterations.map((it) => it.solveCounts)).toEqual([
      { 0: 1, 1: 1 },
      { 0: 1, 3: 1 },
    ]);
  });

  it('judge accuracy per iteration and per round, and how selection sharpens round by round', () => {
    expect(s.iterations[0]!.judgeAccuracy).toEqual({ correct: 1, groups: 1, rate: 1 });
    expect(s.iterations[1]!.rounds.map((x) => x.judgeAccuracy.rate)).toEqual([0, 1]);
    expect(s.judgeAccuracy).toEqual({ correct: 2, groups: 3, rate: 2 / 3 });
    expect(s.iterations[1]!.rounds.map((x) => [x.survivors, x.survivorPassRate])).toEqual([
      [2, 0.5],
      [1, 1],
    ]);
  });

  it('buckets iteration-1 pass@1 by how many given summaries came from passing rollouts', () => {
    expect(s.iterations[1]!.contextBuckets).toEqual([{ passingContexts: 1, contexts: 2, rollouts: 4, pass1: 0.75 }]);
    expect(s.iterations[0]!.contextBuckets).toEqual([]);
  });

  it('counts abstentions, random tie breaks and groups decided without any valid vote', () => {
    expect(s.selection).toMatchObject({
      groups: 5,
      abstentions: 3,
      ties: 1,
      tiesByRandom: 1,
      groupsWithoutValidVote: 1,
      winnersByBye: 0,
    });
    expect(s.finalIsSelection).toBe(true);
    const md = renderScalingReport(s);
    expect(md).toMatch(/1 of 2 tasks failed/);
    expect(md).toMatch(/1 groups decided without any valid vote/);
    expect(md).toMatch(/\| 1 \| 1\/2 \| 4 \| 75\.0% \|/);
  });

  it('a judge that never answered is not presented as a selection', () => {
    const mute = structuredClone(taskA);
    for (const it of mute.iterations as IterationOutcome[])
      for (const round of it.bracket!.rounds)
        for (const g of round.groups) {
          g.votes = g.votes.map((v) => ({ ...v, choice: null }));
          g.tie = { tied: g.members, order: g.members, extraVote: null, how: 'random' };
        }
    const m = scalingReport([mute]);
    expect(m.finalIsSelection).toBe(false);
    expect(renderScalingReport(m)).toMatch(/^\*\*No selection: the judge never gave a valid vote\*\*/);
  });

  it('reports tokens by stage when given', () => {
    const u = (n: number) => ({ inputTokens: n, outputTokens: n, cacheReadTokens: 0, cacheWriteTokens: 0 });
    const t = scalingReport([taskA], { agent: u(100), summary: u(10), judge: u(1) });
    expect(renderScalingReport(t)).toMatch(/tokens by stage: agent 100 in, 100 out/);
  });

  it('splits input by how it was billed: full price, cache writes by lifetime, cache reads, batched calls', () => {
    const agent = {
      inputTokens: 100,
      outputTokens: 50,
      cacheReadTokens: 800,
      cacheWriteTokens: 100,
      cacheWrite1hTokens: 40,
    };
    const judge = { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0, batchedCalls: 3 };
    const t = scalingReport([taskA], { agent, summary: emptyUsage(), judge });
    const md = renderScalingReport(t);
    // 800 of 1000 input tokens read from the cache; 60 written for 5 minutes, 40 for an hour.
    expect(md).toMatch(/\| agent \| 100 \| 60 \| 40 \| 800 \| 50 \| 80\.0% \| 0 \| /);
    expect(md).toMatch(/\| judge \| 10 \| 0 \| 0 \| 0 \| 5 \| 0\.0% \| 3 \| /);
    expect(md).toMatch(/\| summaries \| 0 \| 0 \| 0 \| 0 \| 0 \| - \| 0 \| /);
  });

  it('Sel-K against K over every task, a failed task counting as 0', () => {
    const withK: TaskScalingResult = {
      ...taskA,
      byK: [
        { iteration: 0, k: 1, selected: ['r1'], passRate: 1 },
        { iteration: 0, k: 2, selected: ['r1', 'r2'], passRate: 0.5 },
      ],
    };
    const k = scalingReport([withK, failed]);
    expect(k.selKByK).toEqual([
      { iteration: 0, k: 1, mean: 0.5 },
      { iteration: 0, k: 2, mean: 0.25 },
    ]);
    expect(renderScalingReport(k)).toMatch(/Sel-K against K[\s\S]*\| 0 \| 2 \| 25\.0% \|/);
  });

  it("the run's headline cost is every stage's", () => {
    const run = runReport(
      { runId: 'x', strategy: 'pdr', model: 'm' },
      new Map([['a', taskA.iterations.flatMap((it) => it.rollouts)]]),
    );
    run.scaling = scalingReport([taskA]);
    expect(totalCost(run)).toBeCloseTo(0.8 + 0.08 + 0.2);
    expect(renderRunReport(run)).toMatch(/cost \$1\.0800 \(all stages; agent \$0\.8000\)/);
  });

  it('intervals: each estimate is the table figure, efficiency worked out by hand', () => {
    const iv = s.intervals!;
    // Estimates equal the point figures above; taskA alone decides them, the failed task adds zeros.
    expect(iv.final!.estimate).toBe(s.final);
    expect(iv.iterations[0]!.pass1!.estimate).toBeCloseTo(s.iterations[0]!.pass1, 12);
    expect(iv.iterations[1]!.passN!.estimate).toBeCloseTo(s.iterations[1]!.passN, 12);
    expect(iv.iterations[0]!.selK!.estimate).toBeCloseTo(s.iterations[0]!.selK!, 12);
    // Iteration 1: pass@1 (3/4 + 0) / 2, oracle (1 + 0) / 2, Final (1 + 0) / 2: the pick closed the whole gap.
    expect(iv.iterations[1]!.efficiency!.estimate).toBeCloseTo((0.5 - 0.375) / (0.5 - 0.375), 12);
    // Iteration 0: pass@1 1/8, oracle 1/2, Sel-K (1/2 + 0) / 2 = 1/4: (1/4 - 1/8) / (1/2 - 1/8) = 1/3.
    expect(iv.iterations[0]!.efficiency!.estimate).toBeCloseTo(1 / 3, 12);
    expect(iv.judgeAccuracy!.estimate).toBeCloseTo(s.judgeAccuracy.rate!, 12);
    for (const i of [iv.final!, iv.iterations[1]!.pass1!]) {
      expect(i.low).toBeLessThanOrEqual(i.estimate);
      expect(i.high).toBeGreaterThanOrEqual(i.estimate);
    }
    expect(renderScalingReport(s)).toMatch(/\*\*Final 50\.0% \[0\.0%, 100\.0%\]\*\*/);
    expect(renderScalingReport(s)).toMatch(/selection efficiency .*iteration 0 33\.3%/);
  });

  it('run report: pass@k for every k, intervals recorded with how they were made', () => {
    const run = runReport(
      { runId: 'x', strategy: 'sample', model: 'm' },
      new Map([
        ['a', [r('1', true), r('2', false), r('3', false), r('4', false)]],
        ['b', [r('1', true), r('2', true), r('3', false), r('4', false)]],
      ]),
    );
    const curve = run.intervals!.passAtK.map((p) => p.interval.estimate);
    // Task a: 1 - C(3,k)/C(4,k); task b: 1 - C(2,k)/C(4,k).
    const expected = [1, 2, 3, 4].map((k) => {
      const c = (n: number, j: number): number => (j > n ? 0 : j === 0 ? 1 : (c(n - 1, j - 1) * n) / j);
      return (1 - c(3, k) / c(4, k) + 1 - c(2, k) / c(4, k)) / 2;
    });
    curve.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 12));
    expect(run.intervals!.bootstrap).toEqual({ resamples: 2000, seed: 1, level: 0.95 });
    expect(renderRunReport(run)).toMatch(/\| 4 \| 100\.0% \[100\.0%, 100\.0%\] \|/);
    expect(renderRunReport(run)).toMatch(/95% intervals, bootstrap over tasks .* 2000 resamples, seed 1/);
  });
});
