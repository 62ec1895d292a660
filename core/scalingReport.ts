// The paper's analysis of a test-time scaling run (rtv, pdr) or a selection replayed by `select`,
// from each task's outcome and the hidden-test verdicts that selection never saw. Every table
// counts every task: a task whose workflow failed counts as unsolved, and is listed as failed.
import { addCost, addUsage, emptyUsage, type Usage } from './model';
import type { IterationOutcome, StageCost, TaskScalingResult } from './pdr';
import {
  bootstrap,
  DEFAULT_BOOTSTRAP,
  formatInterval,
  meanInterval,
  ratioOfSums,
  selectionEfficiency,
  type BootstrapSettings,
  type Interval,
} from './statistics';
import { addBracketStats, bracketStats, emptyBracketStats, type BracketStats } from './tournament';

/** In groups holding both a passing and a failing rollout: how often the winner passed. */
export interface Accuracy {
  correct: number;
  groups: number;
  rate: number | null;
}

export interface RoundReport {
  round: number;
  judgeAccuracy: Accuracy;
  /** Candidates left after the round (winners and byes), over all tasks, and how many of them pass. */
  survivors: number;
  survivorPassRate: number | null;
}

/** Iteration-t rollouts grouped by how many of the summaries they were given came from passing rollouts. */
export interface ContextBucket {
  passingContexts: number;
  contexts: number;
  rollouts: number;
  pass1: number;
}

export interface IterationReport {
  iteration: number;
  /** Mean over tasks of the mean over the iteration's rollouts. */
  pass1: number;
  /** Tasks where any rollout of the iteration passed (the oracle). */
  passN: number;
  meanSteps: number;
  /** Mean pass rate of the K selected to carry forward; undefined where the iteration carried none. */
  selK?: number;
  /** Tasks by how many of the iteration's rollouts passed. */
  solveCounts: Record<number, number>;
  judgeAccuracy: Accuracy;
  /** How selection sharpens: the pass rate of what is left after each RTV round. */
  rounds: RoundReport[];
  contextBuckets: ContextBucket[];
}

export type StageTokens = { agent: Usage; summary: Usage; judge: Usage };

export interface ScalingReport {
  tasks: number;
  failedTasks: { taskId: string; error: string }[];
  iterations: IterationReport[];
  /** Sel-K per iteration that carried K forward (the paper's column). */
  selK: { iteration: number; mean: number }[];
  /** The single RTV-selected rollout passed, averaged over every task. */
  final: number;
  /** False when the judge never gave a valid vote: the final picks were random, not a selection. */
  finalIsSelection: boolean;
  judgeAccuracy: Accuracy;
  /** Tasks by how many of their last iteration's rollouts passed. */
  solveCounts: Record<number, number>;
  /** How the run's tournaments decided: abstentions, ties, random picks, groups without a valid vote. */
  selection: BracketStats;
  /** `select --sizes`: Final against N, each N drawn `draws` times per task from the stored population. */
  finalByN?: { n: number; draws: number; final: number; pass1: number; passN: number }[];
  /** `select --ks`: Sel-K against K per iteration (the pass rate of the K kept), over every task. */
  selKByK?: { iteration: number; k: number; mean: number }[];
  cost: StageCost;
  tokens?: StageTokens;
  /** 95% intervals, bootstrap over tasks; absent in reports written before they existed. */
  intervals?: ScalingIntervals;
}

export interface IterationIntervals {
  iteration: number;
  pass1: Interval | null;
  passN: Interval | null;
  /** Where the iteration carried K forward. */
  selK?: Interval | null;
  judgeAccuracy: Interval | null;
  /**
   * The share of the gap between the iteration's pass@1 and its oracle (pass@N) that selection
   * closed: (picked - pass@1) / (pass@N - pass@1), where picked is Sel-K for an iteration that
   * carried K forward and Final for the last. Null without a gap (or without a selection).
   */
  efficiency: Interval | null;
}

export interface ScalingIntervals {
  final: Interval | null;
  /** The last iteration's selection efficiency: how much of its oracle gap the single pick closed. */
  efficiency: Interval | null;
  judgeAccuracy: Interval | null;
  iterations: IterationIntervals[];
  bootstrap: BootstrapSettings;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const rate = (correct: number, groups: number): Accuracy => ({
  correct,
  groups,
  rate: groups ? correct / groups : null,
});

const passedIn = (it: IterationOutcome | undefined) =>
  new Map((it?.rollouts ?? []).map((r) => [r.rolloutId, !!r.passed]));

function countBy(xs: number[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

/** Judge accuracy and survivors' pass rate per round, over every task's iteration `i`. */
function roundReports(its: (IterationOutcome | undefined)[]): { rounds: RoundReport[]; accuracy: Accuracy } {
  const depth = Math.max(0, ...its.map((it) => it?.bracket?.rounds.length ?? 0));
  let correct = 0;
  let groups = 0;
  const rounds = Array.from({ length: depth }, (_, r): RoundReport => {
    let c = 0;
    let g = 0;
    const survivors: boolean[] = [];
    for (const it of its) {
      const round = it?.bracket?.rounds[r];
      if (!round) continue;
      const passed = passedIn(it);
      for (const grp of round.groups) {
        const verdicts = grp.members.map((m) => passed.get(m));
        if (verdicts.includes(true) && verdicts.includes(false)) {
          g++;
          if (passed.get(grp.winner)) c++;
        }
      }
      for (const id of [...round.groups.map((x) => x.winner), ...round.byes]) survivors.push(!!passed.get(id));
    }
    correct += c;
    groups += g;
    return {
      round: r,
      judgeAccuracy: rate(c, g),
      survivors: survivors.length,
      survivorPassRate: survivors.length ? survivors.filter(Boolean).length / survivors.length : null,
    };
  });
  return { rounds, accuracy: rate(correct, groups) };
}

function contextBuckets(it: IterationOutcome | undefined, previous: IterationOutcome | undefined): ContextBucket[] {
  if (!it?.contexts || !previous) return [];
  const passedBefore = passedIn(previous);
  const buckets = new Map<string, { passingContexts: number; contexts: number; passed: number[] }>();
  for (const r of it.rollouts) {
    const ctx = it.contexts[r.rolloutId] ?? [];
    const passing = ctx.filter((id) => passedBefore.get(id)).length;
    const key = `${passing}/${ctx.length}`;
    const b = buckets.get(key) ?? { passingContexts: passing, contexts: ctx.length, passed: [] };
    b.passed.push(r.passed ? 1 : 0);
    buckets.set(key, b);
  }
  return [...buckets.values()]
    .map((b) => ({
      passingContexts: b.passingContexts,
      contexts: b.contexts,
      rollouts: b.passed.length,
      pass1: mean(b.passed),
    }))
    .sort((a, b) => a.contexts - b.contexts || a.passingContexts - b.passingContexts);
}

/**
 * @param tasks every task of the run: failed ones carry `error` and no iterations, and count as
 *   unsolved in every table.
 */
export function scalingReport(
  tasks: TaskScalingResult[],
  tokens?: StageTokens,
  settings: BootstrapSettings = DEFAULT_BOOTSTRAP,
): ScalingReport {
  const depth = Math.max(0, ...tasks.map((t) => t.iterations.length));
  const iterations = Array.from({ length: depth }, (_, i): IterationReport => {
    const its = tasks.map((t) => t.iterations[i]);
    const carried = its.filter((it, k) => it && i < tasks[k]!.iterations.length - 1 && it.selected.length > 0);
    const { rounds, accuracy } = roundReports(its);
    return {
      iteration: i,
      pass1: mean(its.map(passRate)),
      passN: mean(its.map((it) => (it?.rollouts.some((r) => r.passed) ? 1 : 0))),
      meanSteps: mean(its.flatMap((it) => it?.rollouts.map((r) => r.steps) ?? [])),
      // Sel-K over every task: a task that failed before selecting counts as 0.
      selK: carried.length
        ? mean(
            its.map((it) => {
              const passed = passedIn(it);
              return it && it.selected.length ? mean(it.selected.map((id) => (passed.get(id) ? 1 : 0))) : 0;
            }),
          )
        : undefined,
      solveCounts: countBy(its.map((it) => it?.rollouts.filter((r) => r.passed).length ?? 0)),
      judgeAccuracy: accuracy,
      rounds,
      contextBuckets: contextBuckets(mergeIterations(its), mergeIterations(tasks.map((t) => t.iterations[i - 1]))),
    };
  });
  const selection = tasks
    .flatMap((t) => t.iterations.flatMap((it) => (it.bracket ? [bracketStats(it.bracket)] : [])))
    .reduce(addBracketStats, emptyBracketStats());
  const all = roundReports(tasks.flatMap((t) => t.iterations));
  return {
    tasks: tasks.length,
    failedTasks: tasks.flatMap((t) => (t.error ? [{ taskId: t.taskId, error: t.error }] : [])),
    iterations,
    selK: iterations.flatMap((it) => (it.selK === undefined ? [] : [{ iteration: it.iteration, mean: it.selK }])),
    final: mean(tasks.map(finalPassed)),
    finalIsSelection: selection.votes === 0 || selection.abstentions < selection.votes,
    judgeAccuracy: all.accuracy,
    solveCounts: iterations.at(-1)?.solveCounts ?? {},
    selection,
    ...finalByN(tasks),
    ...selKByK(tasks),
    cost: {
      agent: tasks.map((t) => t.cost.agent).reduce<number | null>(addCost, 0),
      summary: tasks.map((t) => t.cost.summary).reduce<number | null>(addCost, 0),
      judge: tasks.map((t) => t.cost.judge).reduce<number | null>(addCost, 0),
    },
    ...(tokens ? { tokens } : {}),
    intervals: scalingIntervals(tasks, depth, settings),
  };
}

const passRate = (it: IterationOutcome | undefined) => mean((it?.rollouts ?? []).map((r) => (r.passed ? 1 : 0)));
/** 1 when the task's final pick passed its hidden tests. */
export const finalPassed = (t: TaskScalingResult) =>
  t.final && t.iterations.at(-1)?.rollouts.find((r) => r.rolloutId === t.final)?.passed ? 1 : 0;

/** Per task, so that the bootstrap resamples tasks whole (their rollouts, votes and picks together). */
function scalingIntervals(tasks: TaskScalingResult[], depth: number, settings: BootstrapSettings): ScalingIntervals {
  const iterations = Array.from({ length: depth }, (_, i): IterationIntervals => {
    const last = i === depth - 1;
    const per = tasks.map((t) => {
      const it = t.iterations[i];
      const passed = passedIn(it);
      const selK = it && it.selected.length ? mean(it.selected.map((id) => (passed.get(id) ? 1 : 0))) : 0;
      const { accuracy } = roundReports([it]);
      return {
        pass1: passRate(it),
        passN: it?.rollouts.some((r) => r.passed) ? 1 : 0,
        picked: last ? finalPassed(t) : selK,
        carried: !!it && i < t.iterations.length - 1 && it.selected.length > 0,
        num: accuracy.correct,
        den: accuracy.groups,
      };
    });
    const carried = per.some((p) => p.carried);
    const selected = last ? tasks.some((t) => t.final) : carried;
    return {
      iteration: i,
      pass1: meanInterval(
        per.map((p) => p.pass1),
        settings,
      ),
      passN: meanInterval(
        per.map((p) => p.passN),
        settings,
      ),
      ...(carried
        ? {
            selK: meanInterval(
              per.map((p) => p.picked),
              settings,
            ),
          }
        : {}),
      judgeAccuracy: bootstrap(per, ratioOfSums, settings),
      efficiency: selected
        ? bootstrap(per, (xs) => selectionEfficiency(xs.map((p) => ({ ...p, final: p.picked }))), settings)
        : null,
    };
  });
  const all = tasks.map((t) => roundReports(t.iterations).accuracy);
  return {
    final: meanInterval(tasks.map(finalPassed), settings),
    efficiency: iterations.at(-1)?.efficiency ?? null,
    judgeAccuracy: bootstrap(
      all.map((a) => ({ num: a.correct, den: a.groups })),
      ratioOfSums,
      settings,
    ),
    iterations,
    bootstrap: settings,
  };
}

/** Means over tasks of each task's mean over its draws; a failed task counts as unsolved. */
function finalByN(tasks: TaskScalingResult[]): Pick<ScalingReport, 'finalByN'> {
  const sizes = [...new Set(tasks.flatMap((t) => t.curve?.map((p) => p.n) ?? []))].sort((a, b) => a - b);
  if (!sizes.length) return {};
  return {
    finalByN: sizes.map((n) => {
      const per = tasks.flatMap((t) => {
        const points = t.curve?.filter((p) => p.n === n) ?? [];
        if (!points.length) return t.error ? [{ draws: 0, final: 0, pass1: 0, passN: 0 }] : [];
        const avg = (f: (p: (typeof points)[number]) => number) => mean(points.map(f));
        return [
          {
            draws: points.length,
            final: avg((p) => (p.final ? 1 : 0)),
            pass1: avg((p) => p.pass1),
            passN: avg((p) => (p.passN ? 1 : 0)),
          },
        ];
      });
      return {
        n,
        draws: Math.max(...per.map((p) => p.draws)),
        final: mean(per.map((p) => p.final)),
        pass1: mean(per.map((p) => p.pass1)),
        passN: mean(per.map((p) => p.passN)),
      };
    }),
  };
}

/** Mean over tasks of the K-selection's pass rate; a task without that point (failed) counts as 0. */
function selKByK(tasks: TaskScalingResult[]): Pick<ScalingReport, 'selKByK'> {
  const keys = new Map<string, { iteration: number; k: number }>();
  for (const t of tasks) for (const p of t.byK ?? []) keys.set(`${p.iteration}/${p.k}`, p);
  if (!keys.size) return {};
  const rows = [...keys.values()].sort((a, b) => a.iteration - b.iteration || a.k - b.k);
  return {
    selKByK: rows.map(({ iteration, k }) => ({
      iteration,
      k,
      mean: mean(
        tasks.flatMap((t) => {
          const p = t.byK?.find((x) => x.iteration === iteration && x.k === k);
          return p ? [p.passRate] : t.error ? [0] : [];
        }),
      ),
    })),
  };
}

/** One task-independent view of iteration i for the context table: all tasks' rollouts and contexts. */
function mergeIterations(its: (IterationOutcome | undefined)[]): IterationOutcome | undefined {
  const present = its.filter((it): it is IterationOutcome => !!it);
  if (!present.length) return undefined;
  // Rollout ids repeat across tasks; the task index keeps them apart.
  const key = (k: number, id: string) => `${k}:${id}`;
  return {
    iteration: present[0]!.iteration,
    rollouts: its.flatMap((it, k) => it?.rollouts.map((r) => ({ ...r, rolloutId: key(k, r.rolloutId) })) ?? []),
    dropped: [],
    selected: [],
    contexts: Object.fromEntries(
      its.flatMap((it, k) =>
        Object.entries(it?.contexts ?? {}).map(([id, ctx]) => [key(k, id), ctx.map((c) => key(k, c))]),
      ),
    ),
  };
}

export const sumTokens = (xs: (Usage | undefined)[]) => xs.reduce<Usage>(addUsage, emptyUsage());

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const pctOrDash = (x: number | null | undefined) => (x === null || x === undefined ? '-' : pct(x));
/** A rate with its interval when the report has one. */
const withInterval = (x: number, i: Interval | null | undefined) => (i ? formatInterval(i, pct) : pct(x));
const accuracy = (a: Accuracy, i?: Interval | null) =>
  a.rate === null ? '-' : `${withInterval(a.rate, i)} (${a.correct}/${a.groups})`;
const money = (x: number | null) => (x === null ? 'unknown' : `$${x.toFixed(4)}`);
const tokens = (u: Usage) =>
  `${u.inputTokens} in, ${u.outputTokens} out, ${u.cacheReadTokens} cache read, ${u.cacheWriteTokens} cache write`;

/** A titled markdown table, when it has rows. */
function table(lines: string[], title: string, header: string[], rows: (string | number)[][]): void {
  if (!rows.length) return;
  lines.push('', title, '', `| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
}

export function renderScalingReport(r: ScalingReport): string {
  const s = r.selection;
  const iv = r.intervals;
  const ivOf = (i: number) => iv?.iterations.find((x) => x.iteration === i);
  const headline = r.finalIsSelection
    ? `**Final ${withInterval(r.final, iv?.final)}** (the single selected rollout, over all ${r.tasks} tasks)`
    : `**No selection: the judge never gave a valid vote** (${s.votes} votes, all abstentions). The final picks ` +
      `were random; their pass rate, ${pct(r.final)}, is not a result of selection.`;
  const lines = [
    headline,
    '',
    ...(r.failedTasks.length
      ? [
          `**${r.failedTasks.length} of ${r.tasks} tasks failed** and count as unsolved in every table: ${r.failedTasks
            .map((f) => `${f.taskId} (${f.error.split('\n')[0]})`)
            .join('; ')}`,
          '',
        ]
      : []),
    '| iteration | pass@1 | pass@N (oracle) | Sel-K | judge accuracy | mean steps | tasks by rollouts solved |',
    '|---|---|---|---|---|---|---|',
    ...r.iterations.map(
      (it) =>
        `| ${it.iteration} | ${withInterval(it.pass1, ivOf(it.iteration)?.pass1)} | ${withInterval(it.passN, ivOf(it.iteration)?.passN)} | ${it.selK === undefined ? '-' : withInterval(it.selK, ivOf(it.iteration)?.selK)} | ${accuracy(it.judgeAccuracy, ivOf(it.iteration)?.judgeAccuracy)} | ${it.meanSteps.toFixed(1)} | ${Object.entries(
          it.solveCounts,
        )
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ')} |`,
    ),
    '',
    `judge accuracy in mixed groups (a passing and a failing rollout): ${accuracy(r.judgeAccuracy, iv?.judgeAccuracy)}`,
    ...(iv
      ? [
          `selection efficiency (share of the gap from pass@1 to the oracle that selection closed; Sel-K for carried iterations, Final for the last): ${iv.iterations
            .map((x) => `iteration ${x.iteration} ${formatInterval(x.efficiency, pct)}`)
            .join(', ')}`,
          `[low, high]: ${Math.round(100 * iv.bootstrap.level)}% intervals, bootstrap over tasks, ${iv.bootstrap.resamples} resamples, seed ${iv.bootstrap.seed}`,
        ]
      : []),
    `selection: ${s.groups} groups, ${s.votes} votes, ${s.abstentions} abstentions, ${s.ties} ties (${s.tiesByExtraVote} settled by the extra vote, ${s.tiesByRandom} by a seeded random pick), ${s.groupsWithoutValidVote} groups decided without any valid vote, ${s.winnersByBye} selected on a bye`,
  ];
  table(
    lines,
    'How selection sharpens (pass rate of the candidates left after each round):',
    ['iteration', 'round', 'judge accuracy', 'survivors', 'survivors passing'],
    r.iterations.flatMap((it) =>
      it.rounds.map((x) => [
        it.iteration,
        x.round,
        accuracy(x.judgeAccuracy),
        x.survivors,
        pctOrDash(x.survivorPassRate),
      ]),
    ),
  );
  table(
    lines,
    'pass@1 by how many of the summaries a rollout was given came from passing rollouts:',
    ['iteration', 'passing / given', 'rollouts', 'pass@1'],
    r.iterations.flatMap((it) =>
      it.contextBuckets.map((b) => [it.iteration, `${b.passingContexts}/${b.contexts}`, b.rollouts, pct(b.pass1)]),
    ),
  );
  table(
    lines,
    'Final against N (sub-samples of the stored last iteration, no new rollouts):',
    ['N', 'draws per task', 'Final', 'pass@1', 'pass@N (oracle)'],
    (r.finalByN ?? []).map((x) => [x.n, x.draws, pct(x.final), pct(x.pass1), pct(x.passN)]),
  );
  table(
    lines,
    'Sel-K against K (each iteration narrowed to K again, no new rollouts):',
    ['iteration', 'K', 'pass rate of the K kept'],
    (r.selKByK ?? []).map((x) => [x.iteration, x.k, pct(x.mean)]),
  );
  lines.push(
    '',
    `cost by stage: agent ${money(r.cost.agent)}, summaries ${money(r.cost.summary)}, judge ${money(r.cost.judge)}`,
  );
  if (r.tokens) {
    lines.push(
      `tokens by stage: agent ${tokens(r.tokens.agent)}; summaries ${tokens(r.tokens.summary)}; judge ${tokens(r.tokens.judge)}`,
    );
    // Input by how it was billed: full price, written to the prompt cache (5-minute or 1-hour
    // lifetime), read from it; and the calls that went through the Message Batches API (half price).
    const stages = [
      ['agent', r.tokens.agent, r.cost.agent],
      ['summaries', r.tokens.summary, r.cost.summary],
      ['judge', r.tokens.judge, r.cost.judge],
    ] as const;
    table(
      lines,
      'Tokens and cost by stage (cache writes at 1.25x input for 5 minutes or 2x for 1 hour, reads at 0.1x; batched calls at half price):',
      [
        'stage',
        'input',
        'cache write 5m',
        'cache write 1h',
        'cache read',
        'output',
        'cached share of input',
        'batched calls',
        'cost',
      ],
      stages.map(([name, u, cost]) => {
        const w1h = u.cacheWrite1hTokens ?? 0;
        const all = u.inputTokens + u.cacheWriteTokens + u.cacheReadTokens;
        return [
          name,
          u.inputTokens,
          u.cacheWriteTokens - w1h,
          w1h,
          u.cacheReadTokens,
          u.outputTokens,
          all ? pct(u.cacheReadTokens / all) : '-',
          u.batchedCalls ?? 0,
          money(cost),
        ];
      }),
    );
  }
  return lines.join('\n');
}

/** One way of selecting on a run's stored population: the run's own, or a `select` replay. */
export interface SelectionRow {
  id: string;
  groupSize: number;
  votes: number;
  seed: number;
  judgeInput: string;
  report: ScalingReport;
}

/**
 * Strategies side by side on one stored population (`agentscale selections RUN`): Final, the
 * share of the oracle gap selection closed, and judge accuracy, each with its interval, and what
 * the judge cost.
 */
export function renderSelectionComparison(rows: readonly SelectionRow[]): string {
  const lines: string[] = [];
  table(
    lines,
    'Selections on the same rollouts (no new rollouts between rows):',
    ['selection', 'G', 'V', 'seed', 'judge input', 'Final', 'selection efficiency', 'judge accuracy', 'judge cost'],
    rows.map((r) => [
      r.id,
      r.groupSize,
      r.votes,
      r.seed,
      r.judgeInput,
      withInterval(r.report.final, r.report.intervals?.final),
      formatInterval(r.report.intervals?.efficiency, pct),
      accuracy(r.report.judgeAccuracy, r.report.intervals?.judgeAccuracy),
      money(r.report.cost.judge),
    ]),
  );
  return lines.join('\n').trim();
}
