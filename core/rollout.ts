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
