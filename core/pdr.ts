// Parallel-Distill-Refine's rules (method.md), pure: which rollouts an iteration runs, which of
// them are judged, how many the iteration's tournament keeps, which summaries each new rollout is
// given, and when summaries must be made. workflows/scaling.ts only orchestrates what this decides.
// `sample` is the degenerate case: one iteration, no summaries, no selection.
import type { BudgetStop } from './budget';
import { addCost } from './model';
import type { RolloutResult } from './rollout';
import type { ScalingSettings } from './settings';
import type { TaskRef } from './task';
import { shortHash } from './task';
import { rng, shuffle, type Bracket } from './tournament';

export interface IterationOutcome {
  iteration: number;
  rollouts: RolloutResult[];
  /** Rollouts that produced nothing, left out of the tournament. */
  dropped: string[];
  /** select-K: the K carried forward (their summaries); the last iteration: the final pick. */
  selected: string[];
  bracket?: Bracket;
  /** PDR: the earlier rollouts whose summaries each rollout of this iteration was given. */
  contexts?: Record<string, string[]>;
  /** The iteration's tournament (its role id and target), when one was played; for `select`. */
  tournament?: { id: string; target: number };
}

/** Dollars by stage; null when a model in that stage has no price. */
export interface StageCost {
  agent: number | null;
  summary: number | null;
  judge: number | null;
}

export interface TaskScalingResult {
  taskId: string;
  error?: string;
  iterations: IterationOutcome[];
  final?: string;
  cost: StageCost;
  /** `select --sizes`: the final tournament replayed on sub-samples of the last iteration. */
  curve?: CurvePoint[];
  /** `select --ks`: each iteration narrowed to other K. */
  byK?: KPoint[];
  /** A cost cap stopped new rollouts: the iterations after this point were not run, and there is no final pick. */
  budgetStop?: BudgetStop;
}

/** One iteration's rollouts narrowed to K by a tournament: which, and how many of them pass. */
export interface KPoint {
  iteration: number;
  k: number;
  selected: string[];
  passRate: number;
}

export function kPoint(it: Pick<IterationOutcome, 'iteration' | 'rollouts'>, k: number, selected: string[]): KPoint {
  const passed = new Set(it.rollouts.filter((r) => r.passed).map((r) => r.rolloutId));
  return {
    iteration: it.iteration,
    k,
    selected,
    passRate: selected.length ? selected.filter((id) => passed.has(id)).length / selected.length : 0,
  };
}

/** One sub-sampled final tournament: N rollouts drawn from the stored population, one pick. */
export interface CurvePoint {
  n: number;
  repeat: number;
  pick?: string;
  /** Whether the pick passed; the sample's mean pass rate and whether any of it passed. */
  final: boolean;
  pass1: number;
  passN: boolean;
}

/** A seeded draw of `n` rollouts, the same for the same seed and key wherever it is made. */
export function subsample<T>(population: readonly T[], n: number, seed: number, key: string): T[] {
  return shuffle(population, rng(seed ^ parseInt(shortHash(key), 16))).slice(0, n);
}

export function curvePoint(
  n: number,
  repeat: number,
  sample: readonly Pick<RolloutResult, 'rolloutId' | 'passed'>[],
  pick: string | undefined,
): CurvePoint {
  const passed = sample.map((r) => (r.passed ? 1 : 0));
  return {
    n,
    repeat,
    pick,
    final: !!sample.find((r) => r.rolloutId === pick)?.passed,
    pass1: passed.reduce<number>((a, b) => a + b, 0) / (sample.length || 1),
    passN: passed.includes(1),
  };
}

export const rolloutId = (iteration: number, index: number) => `it${iteration}-r${index}`;

export const iterationRolloutIds = (s: ScalingSettings, iteration: number) =>
  Array.from({ length: s.n }, (_, i) => rolloutId(iteration, i));

export const isLastIteration = (s: ScalingSettings, iteration: number) => iteration === s.iterations - 1;

/**
 * How many rollouts the iteration's tournament keeps: one (the answer) after the last iteration,
 * K where the next iteration is given the winners, none otherwise (no tournament is played).
 */
export function tournamentTarget(s: ScalingSettings, iteration: number): number {
  if (s.strategy === 'sample') return 0;
  if (isLastIteration(s, iteration)) return 1;
  return s.context === 'select-K' ? s.k : 0;
}

/** The tournament's name in the run folder; it also seeds the tournament's random stream. */
export const tournamentId = (s: ScalingSettings, iteration: number) =>
  isLastIteration(s, iteration) ? `it${iteration}-final` : `it${iteration}-select-${s.k}`;

/** Whether the iteration's rollouts are summarised: for the judge, or for the next iteration's prompts. */
export function needsSummaries(s: ScalingSettings, iteration: number): boolean {
  if (s.strategy === 'sample') return false;
  return s.judgeInput === 'summaries' || (!isLastIteration(s, iteration) && s.context !== 'none');
}

/** Produced nothing: no step taken, or (repository tasks) an empty patch. Such rollouts are not judged. */
export const producedNothing = (r: Pick<RolloutResult, 'steps' | 'patchBytes'>, grading: TaskRef['grading']) =>
  r.steps === 0 || (grading === 'patch' && !r.patchBytes);

/** The tournament's candidates: every rollout that produced something, or all when none did. */
export function judgedCandidates(
  rollouts: readonly Pick<RolloutResult, 'rolloutId' | 'steps' | 'patchBytes'>[],
  grading: TaskRef['grading'],
): { candidates: string[]; dropped: string[] } {
  const ids = rollouts.map((r) => r.rolloutId);
  const productive = rollouts.filter((r) => !producedNothing(r, grading)).map((r) => r.rolloutId);
  const candidates = productive.length ? productive : ids;
  return { candidates, dropped: ids.filter((id) => !candidates.includes(id)) };
}

/** The task's own random stream (random-K draws from it): one seed, one sequence per task. */
export const taskRandom = (s: ScalingSettings, taskId: string) => rng(s.seed ^ parseInt(shortHash(taskId), 16));

/**
 * Which earlier rollouts' summaries rollout `index` of the next iteration is given. random-K
 * draws from `random`, so callers ask in rollout order.
 */
export function contextFor(
  s: ScalingSettings,
  previous: Pick<IterationOutcome, 'rollouts' | 'selected'> | undefined,
  index: number,
  random: () => number,
): string[] {
  if (!previous) return [];
  switch (s.context) {
    case 'select-K':
      return previous.selected;
    // Each new rollout draws its own K, as the original PDR does.
    case 'random-K':
      return shuffle(
        previous.rollouts.map((r) => r.rolloutId),
        random,
      ).slice(0, s.k);
    // K = 1: the summary of the earlier attempt in the same position.
    case 'own':
      return [previous.rollouts[index % previous.rollouts.length]!.rolloutId];
    case 'none':
      return [];
  }
}

export const emptyCost = (): StageCost => ({ agent: 0, summary: 0, judge: 0 });

export const agentCost = (rollouts: readonly Pick<RolloutResult, 'costUsd'>[]) =>
  rollouts.reduce<number | null>((a, r) => addCost(a, r.costUsd), 0);
