// What one rollout leaves behind, as the workflows, the reports and `select` read it.
import type { ExitStatus } from './agent';
import type { Usage } from './model';

export interface RolloutResult {
  taskId: string;
  rolloutId: string;
  exitStatus: ExitStatus;
  /** Why the rollout ended, when not by submission. */
  detail?: string;
  steps: number;
  apiCalls: number;
  costUsd: number | null;
  /** The agent's tokens over all its model calls (absent in runs made before it was recorded). */
  usage?: Usage;
  /** Hidden-test verdict; undefined when evaluation itself failed (see evalError). */
  passed?: boolean;
  reward?: number;
  evalReason?: string;
  evalError?: string;
  /** SWE-bench: size of the final patch (the patch itself is in patch.diff). */
  patchBytes?: number;
  /** Fresh containers the rollout needed after losing one (replayed, not re-paid). */
  sandboxRestarts: number;
  durationMs: number;
}

/** Rollout ids in their natural order (it0-r2 before it0-r10). */
export const byRolloutId = (a: { rolloutId: string }, b: { rolloutId: string }) =>
  a.rolloutId.localeCompare(b.rolloutId, 'en', { numeric: true });

/** A rollout's iteration, from its id (`it1-r3`); runs made before ids carried it were single-iteration. */
export const iterationOf = (rolloutId: string) => Number(/^it(\d+)-/.exec(rolloutId)?.[1] ?? 0);

/** How a finished rollout ended, in one word: passed, failed, eval-error, or ModelError / SandboxError. */
export const rolloutOutcome = (r: Pick<RolloutResult, 'exitStatus' | 'passed' | 'evalError'>) =>
  r.exitStatus === 'ModelError' || r.exitStatus === 'SandboxError'
    ? r.exitStatus
    : r.evalError
      ? 'eval-error'
      : r.passed
        ? 'passed'
        : 'failed';
