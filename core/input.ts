// Checks of what a user types (config keys, command-line settings), pure so that they move with
// the code that builds settings. Each problem is one line that names what is wrong and, where it
// can, what was meant.
import type { z } from 'zod';

/** Raised for settings that contradict each other; the CLI prints it and exits with status 2. */
export class SettingsError extends Error {
  override name = 'SettingsError';
}

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/** The known name closest to `name`, when it is close enough to be a likely typo. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(name, k);
    if (!best || d < best.d) best = { name: k, d };
  }
  if (!best) return undefined;
  const close = best.d <= Math.max(2, Math.floor(Math.max(name.length, best.name.length) / 3));
  const sameWords = best.name.toLowerCase().replace(/[_-]/g, '') === name.toLowerCase().replace(/[_-]/g, '');
  return close || sameWords ? best.name : undefined;
}

export interface UnknownKey {
  /** Dotted path of the key, e.g. `sandbox.storgeMb`. */
  path: string;
  key: string;
  suggestion?: string;
}

type AnyDef = { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; valueType?: z.ZodType };
const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: AnyDef } })._zod.def;
const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional']);

function unwrap(s: z.ZodType): AnyDef {
  let def = defOf(s);
  while (WRAPPERS.has(def.type) && def.innerType) def = defOf(def.innerType);
  return def;
}

/**
 * Keys of `value` that `schema` does not know, at any depth (records take any key; their values
 * are checked). zod drops unknown keys silently, so a misspelt setting would otherwise just not apply.
 */
export function unknownKeys(schema: z.ZodType, value: unknown, at: string[] = []): UnknownKey[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const def = unwrap(schema);
  const entries = Object.entries(value as Record<string, unknown>);
  if (def.type === 'record' && def.valueType)
    return entries.flatMap(([k, v]) => unknownKeys(def.valueType!, v, [...at, k]));
  if (def.type !== 'object' || !def.shape) return [];
  const shape = def.shape;
  const known = Object.keys(shape);
  return entries.flatMap(([k, v]) =>
    k in shape
      ? unknownKeys(shape[k]!, v, [...at, k])
      : [{ path: [...at, k].join('.'), key: k, suggestion: closestName(k, known) }],
  );
}

/** One line per unknown key: `unknown key "x" (did you mean "y"?)`. */
export function describeUnknownKey(u: UnknownKey): string {
  return `unknown key "${u.key}"${u.suggestion ? ` (did you mean "${u.suggestion}"?)` : ''}`;
}

/** A zod issue as a user should read it: a required value that is absent is "missing". */
export function issueText(issue: { code: string; message: string }): string {
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) return 'missing';
  return issue.message;
}

/** The scaling parameters that must agree with each other. */
export interface ScalingShape {
  strategy: string;
  n: number;
  k: number;
  iterations: number;
  context: string;
}

/** Problems with a run's scaling settings (empty when they make sense). */
export function scalingProblems(s: ScalingShape | undefined): string[] {
  if (!s) return [];
  const problems: string[] = [];
  const carriesK = s.iterations > 1 && (s.context === 'select-K' || s.context === 'random-K');
  if (carriesK && s.k > s.n)
    problems.push(
      `K = ${s.k} (-k, scaling.k) is larger than N = ${s.n} (-n, scaling.n): the K summaries carried into the next iteration are chosen among that iteration's N rollouts`,
    );
  return problems;
}
