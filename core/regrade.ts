// `regrade`: every stored rollout of a finished run evaluated again with today's grader (a new
// harness version, fixed task tests), without a model call. The new verdicts are written beside the
// old ones, each saying which grader made it; the run's report and its selection results are
// recomputed from them with the stored brackets, so no judge is asked again.
import type { TaskScalingResult } from './pdr';
import type { RolloutResult } from './rollout';

/** What made a verdict: our version, the harness whose semantics it follows, and the tests' content. */
export interface GraderVersion {
  agentscale: string;
  /** SWE-bench: the pinned harness (core/grading.ts HARNESS_LABEL). */
  harness?: string;
  /** A hash of the hidden tests as they were read (a task's test files, or its test_patch and test lists). */
  tests: string;
}

export interface Verdict {
  passed?: boolean;
  reward?: number;
  reason?: string;
  /** The tests could not be run (or, after a SandboxError, were not: the rollout has no final state). */
  evalError?: string;
}

/** One rollout's new evaluation, with the one it replaces. */
export interface Regraded extends Verdict {
  taskId: string;
  rolloutId: string;
  grader: GraderVersion;
  before: Verdict;
}

export interface VerdictChange {
  taskId: string;
  rolloutId: string;
  before: boolean | undefined;
  after: boolean | undefined;
}

export const verdictOf = (r: Pick<RolloutResult, 'passed' | 'reward' | 'evalReason' | 'evalError'>): Verdict => ({
  passed: r.passed,
  reward: r.reward,
  reason: r.evalReason,
  evalError: r.evalError,
});

/** The rollout as the new grader sees it: everything the agent did is kept, only the verdict changes. */
export function withVerdict(r: RolloutResult, v: Verdict): RolloutResult {
  const { passed: _p, reward: _r, evalReason: _e, evalError: _x, ...rest } = r;
  return {
    ...rest,
    ...(v.passed !== undefined ? { passed: v.passed } : {}),
    ...(v.reward !== undefined ? { reward: v.reward } : {}),
    ...(v.reason !== undefined ? { evalReason: v.reason } : {}),
    ...(v.evalError !== undefined ? { evalError: v.evalError } : {}),
  };
}

/** A task's scaling outcome with new verdicts: the same brackets and picks, judged by new tests. */
export function regradeOutcome(t: TaskScalingResult, verdicts: ReadonlyMap<string, Verdict>): TaskScalingResult {
  return {
    ...t,
    iterations: t.iterations.map((it) => ({
      ...it,
      rollouts: it.rollouts.map((r) => {
        const v = verdicts.get(r.rolloutId);
        return v ? withVerdict(r, v) : r;
      }),
    })),
  };
}

/** Verdicts that changed (passed or not, or evaluated or not), in task and rollout order. */
export const verdictChanges = (regraded: readonly Regraded[]): VerdictChange[] =>
  regraded
    .filter((g) => g.passed !== g.before.passed)
    .map((g) => ({ taskId: g.taskId, rolloutId: g.rolloutId, before: g.before.passed, after: g.passed }));

const word = (p: boolean | undefined) => (p === undefined ? 'not evaluated' : p ? 'passed' : 'failed');

export function renderVerdictChanges(changes: readonly VerdictChange[], graders: readonly GraderVersion[]): string {
  const versions = [
    ...new Set(graders.map((g) => `agentscale ${g.agentscale}${g.harness ? ` with ${g.harness}` : ''}`)),
  ];
  return [
    '## Regraded',
    '',
    `grader: ${versions.join('; ') || 'none (no rollout to regrade)'}; each verdict file names the tests' hash`,
    '',
    `${changes.length} verdict${changes.length === 1 ? '' : 's'} changed${changes.length ? ':' : ''}`,
    ...changes.map((c) => `- ${c.taskId} ${c.rolloutId}: ${word(c.before)} -> ${word(c.after)}`),
  ].join('\n');
}
