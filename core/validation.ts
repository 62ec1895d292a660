// Validation of a dataset: the oracle (reference solution) must pass and the null agent (does
// nothing) must fail. A task that breaks either rule would mislead every agent run on it.

export type AttemptKind = 'oracle' | 'null';

export interface AttemptResult {
  kind: AttemptKind;
  /** The tests passed on this attempt's final state. Absent when the attempt could not run. */
  passed?: boolean;
  reason: string;
  reward?: number;
  /** Infrastructure problem (image, container, solution missing), not a test outcome. */
  error?: string;
  /** Fresh containers this attempt needed (more than 1 after a crash). */
  tries: number;
  durationMs: number;
}

export type VerdictStatus = 'valid' | 'invalid' | 'error';

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
  if (oracle.error) problems.push(`oracle could not run: ${oracle.error}`);
  else if (!oracle.passed) problems.push(`oracle fails: ${oracle.reason}`);
  if (nul.error) problems.push(`null attempt could not run: ${nul.error}`);
  else if (nul.passed) problems.push(`null attempt passes without any change: ${nul.reason}`);
  const status: VerdictStatus = oracle.error || nul.error ? 'error' : problems.length ? 'invalid' : 'valid';
  return { taskId, format, status, problems, image, oracle, null: nul };
}

/** A verdict for a task that never reached its attempts (its image did not build, say). */
export function errorVerdict(taskId: string, format: string, error: string): TaskVerdict {
  const skipped = (kind: AttemptKind): AttemptResult => ({ kind, reason: 'not run', error, tries: 0, durationMs: 0 });
  return { taskId, format, status: 'error', problems: [error], oracle: skipped('oracle'), null: skipped('null') };
}

export interface ValidationSummary {
  runId: string;
  total: number;
  valid: number;
  invalid: number;
  error: number;
}

export function summarize(runId: string, verdicts: TaskVerdict[]): ValidationSummary {
  const count = (s: VerdictStatus) => verdicts.filter((v) => v.status === s).length;
  return { runId, total: verdicts.length, valid: count('valid'), invalid: count('invalid'), error: count('error') };
}

const cell = (a: AttemptResult) => (a.error ? 'error' : a.passed ? 'pass' : 'fail');
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
