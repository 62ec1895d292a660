// Validation of a dataset: the oracle (reference solution) must pass and the null agent (does
// nothing) must fail. A task that breaks either rule would mislead every agent run on it.

export type AttemptKind = 'oracle' | 'null';

export interface AttemptResult {
  kind: AttemptKind;
  /** The tests passed on this attempt's final state. Absent when the attempt could not run. */
  passed?: boolean;
  reason: string;
  reward?: number;
  /** Every named reward (Harbor's reward.json), when the verifier gave them. */
  rewards?: Record<string, number>;
  /** Infrastructure problem (image, container, solution missing), not a test outcome. */
  error?: string;
  /** Fresh containers this attempt needed (more than 1 after a crash). */
  tries: number;
  /** The network the task asked for and the one its container got (absent: patch-graded tasks). */
  network?: { requested: 'public' | 'none'; effective: 'public' | 'none' };
  durationMs: number;
}

/** 'unsupported' and 'malformed': a partial dataset's task that never ran (see RejectedTask). */
export type VerdictStatus = 'valid' | 'invalid' | 'error' | 'unsupported' | 'malformed';

export interface TaskVerdict {
  taskId: string;
  format: string;
  status: VerdictStatus;
  /** Why the task is not valid; empty when it is. */
  problems: string[];
  image?: string;
  oracle: AttemptResult;
  null: AttemptResult;
}

export function decideVerdict(
  taskId: string,
  format: string,
  oracle: AttemptResult,
  nul: AttemptResult,
  image?: string,
): TaskVerdict {
  const problems: string[] = [];
  // A failure without the network the task asked for may be the host's doing, not the task's.
  const offline = (a: AttemptResult) =>
    a.network && a.network.requested !== a.network.effective
      ? ` (ran without network; the task asks for a ${a.network.requested} network)`
      : '';
  if (oracle.error) problems.push(`oracle could not run: ${oracle.error}${offline(oracle)}`);
  else if (!oracle.passed) problems.push(`oracle fails: ${oracle.reason}${offline(oracle)}`);
  if (nul.error) problems.push(`null attempt could not run: ${nul.error}${offline(nul)}`);
  else if (nul.passed) problems.push(`null attempt passes without any change: ${nul.reason}`);
  const status: VerdictStatus = oracle.error || nul.error ? 'error' : problems.length ? 'invalid' : 'valid';
  return { taskId, format, status, problems, image, oracle, null: nul };
}

/** A verdict for a task that never reached its attempts (its image did not build, say). */
export function errorVerdict(taskId: string, format: string, error: string): TaskVerdict {
  const skipped = (kind: AttemptKind): AttemptResult => ({ kind, reason: 'not run', error, tries: 0, durationMs: 0 });
  return { taskId, format, status: 'error', problems: [error], oracle: skipped('oracle'), null: skipped('null') };
}

/** A task a partial dataset skipped: listed with its reasons, never run. */
export function rejectedVerdict(r: {
  id: string;
  format: string;
  kind: 'unsupported' | 'malformed';
  reasons: string[];
}): TaskVerdict {
  const skipped = (kind: AttemptKind): AttemptResult => ({ kind, reason: 'skipped', tries: 0, durationMs: 0 });
  return {
    taskId: r.id,
    format: r.format,
    status: r.kind,
    problems: r.reasons,
    oracle: skipped('oracle'),
    null: skipped('null'),
  };
}

export interface ValidationSummary {
  runId: string;
  total: number;
  valid: number;
  invalid: number;
  error: number;
  /** Tasks of a partial dataset that were not run (unsupported or malformed). */
  skipped?: number;
}

export function summarize(runId: string, verdicts: TaskVerdict[]): ValidationSummary {
  const count = (s: VerdictStatus) => verdicts.filter((v) => v.status === s).length;
  const skipped = count('unsupported') + count('malformed');
  return {
    runId,
    total: verdicts.length,
    valid: count('valid'),
    invalid: count('invalid'),
    error: count('error'),
    ...(skipped > 0 && { skipped }),
  };
}

/** The summary line printed under the table and at the top of results.md. */
export function summaryLine(s: ValidationSummary): string {
  return `${s.valid}/${s.total} valid, ${s.invalid} invalid, ${s.error} errors${s.skipped ? `, ${s.skipped} not run (unsupported or malformed)` : ''}`;
}

const cell = (a: AttemptResult) =>
  a.reason === 'skipped' && a.tries === 0 ? '-' : a.error ? 'error' : a.passed ? 'pass' : 'fail';
const oneLine = (s: string, max = 120) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** The readable table: Markdown, which also reads fine in a terminal. */
export function renderTable(verdicts: TaskVerdict[]): string {
  const row = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  const rows = [...verdicts]
    .sort((a, b) => a.taskId.localeCompare(b.taskId))
    .map((v) => row([v.taskId, v.format, cell(v.oracle), cell(v.null), v.status, oneLine(v.problems.join('; '))]));
  return ['| task | format | oracle | null | verdict | problems |', '|---|---|---|---|---|---|', ...rows].join('\n');
}
