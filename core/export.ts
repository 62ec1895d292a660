// `export RUN`: one JSON line per rollout, for fine-tuning and analysis. The conversation is the
// rollout's as chat messages (system, user, assistant, ...), exactly what the model was sent and
// answered, taken from the mini-swe-agent trajectory the run already writes.
import type { Usage } from './model';
import { iterationOf, rolloutOutcome, type RolloutResult } from './rollout';

export interface ExportFilter {
  passedOnly?: boolean;
  iteration?: number;
  taskIds?: string[];
}

export interface ExportedMessage {
  role: string;
  content: string;
}

/** One line of the export (documented in docs/export.md; field names are snake_case like the datasets'). */
export interface ExportLine {
  run_id: string;
  task_id: string;
  rollout_id: string;
  iteration: number;
  outcome: ReturnType<typeof rolloutOutcome>;
  passed: boolean | null;
  reward: number | null;
  exit_status: string;
  steps: number;
  cost_usd: number | null;
  usage: Usage | null;
  model: string;
  messages: ExportedMessage[];
}

export const exportWanted = (r: RolloutResult, f: ExportFilter) =>
  (!f.passedOnly || r.passed === true) &&
  (f.iteration === undefined || iterationOf(r.rolloutId) === f.iteration) &&
  (!f.taskIds?.length || f.taskIds.includes(r.taskId));

export function exportLine(
  runId: string,
  model: string,
  r: RolloutResult,
  messages: readonly { role: string; content: string }[],
): ExportLine {
  return {
    run_id: runId,
    task_id: r.taskId,
    rollout_id: r.rolloutId,
    iteration: iterationOf(r.rolloutId),
    outcome: rolloutOutcome(r),
    passed: r.passed ?? null,
    reward: r.reward ?? (r.passed === undefined ? null : r.passed ? 1 : 0),
    exit_status: r.exitStatus,
    steps: r.steps,
    cost_usd: r.costUsd,
    usage: r.usage ?? null,
    model,
    // Only what a chat model takes: the trajectory's per-message extras (usage, return codes) stay out.
    messages: messages.map((m) => ({ role: m.role, content: m.content })),
  };
}
