// How test output becomes a verdict, for all three formats. Pure functions: the evaluation
// activities feed them what the container printed or wrote.

export type TestStatus = 'PASSED' | 'FAILED' | 'ERROR' | 'SKIPPED' | 'XFAIL' | 'XPASS';
// eslint-disable-next-line no-control-regex -- pytest may colour its summary; the escapes must go.
const ANSI_COLOR = /\x1b\[[0-9;]*m/g;
const STATUSES = new Set<string>(['PASSED', 'FAILED', 'ERROR', 'SKIPPED', 'XFAIL', 'XPASS']);

/**
 * Reads pytest's `-rA` short summary (`PASSED tests/x.py::test_y`, `FAILED ... - message`), as
 * SWE-bench's parse_log_pytest does. Later lines win, so a rerun's outcome counts.
 */
export function parsePytestLog(log: string): Map<string, TestStatus> {
  const result = new Map<string, TestStatus>();
  for (const raw of log.split('\n')) {
    const line = raw.replace(ANSI_COLOR, '').trim();
    const space = line.indexOf(' ');
    if (space < 0) continue;
    const status = line.slice(0, space);
    if (!STATUSES.has(status)) continue;
    let name = line.slice(space + 1).trim();
    if (name.startsWith('[')) continue; // "SKIPPED [1] file:line: reason" has no node id
    const dash = name.indexOf(' - ');
    if (dash >= 0) name = name.slice(0, dash);
    if (name) result.set(name, status as TestStatus);
  }
  return result;
}

/** pytest's closing line, e.g. `=== 3 passed, 1 failed in 0.12s ===`. */
export function parsePytestSummary(log: string): { passed: number; failed: number; errors: number } | undefined {
  const lines = log.split('\n').filter((l) => /^=+ .*\bin [\d.]+s\b.* =+$/.test(l.trim()));
  const last = lines.at(-1);
  if (!last) return undefined;
  const count = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(last)?.[1] ?? 0);
  return { passed: count('passed'), failed: count('failed'), errors: count('errors?') };
}

const passing = (s: TestStatus | undefined) => s === 'PASSED' || s === 'XFAIL';

/**
 * Terminal-Bench 1's rule: the task passes when the pytest run has at least one test and every
 * test passed. Unparseable output fails with a reason rather than guessing.
 */
export function gradePytestRun(log: string): { passed: boolean; reason: string; tests: Record<string, TestStatus> } {
  const statuses = parsePytestLog(log);
  const tests = Object.fromEntries(statuses);
  if (statuses.size > 0) {
    const failing = [...statuses].filter(([, s]) => !passing(s) && s !== 'SKIPPED').map(([n]) => n);
    return failing.length === 0
      ? { passed: true, reason: `${statuses.size} tests passed`, tests }
      : {
          passed: false,
          reason: `failing: ${failing.slice(0, 5).join(', ')}${failing.length > 5 ? ', ...' : ''}`,
          tests,
        };
  }
  const summary = parsePytestSummary(log);
  if (summary) {
    const ok = summary.passed > 0 && summary.failed === 0 && summary.errors === 0;
    return {
      passed: ok,
      reason: `pytest: ${summary.passed} passed, ${summary.failed} failed, ${summary.errors} errors`,
      tests,
    };
  }
  return { passed: false, reason: 'no pytest results found in the test output', tests };
}

export interface TestBuckets {
  success: string[];
  failure: string[];
}

/** The per-instance report SWE-bench's harness writes (report.json), keyed by instance id. */
export interface SwebenchInstanceReport {
  patch_is_None: boolean;
  patch_exists: boolean;
  patch_successfully_applied: boolean;
  resolved: boolean;
  tests_status?: {
    FAIL_TO_PASS: TestBuckets;
    PASS_TO_PASS: TestBuckets;
    FAIL_TO_FAIL: TestBuckets;
    PASS_TO_FAIL: TestBuckets;
  };
}

/**
 * SWE-bench's grading: resolved when every FAIL_TO_PASS and every PASS_TO_PASS test passes.
 * A test missing from the log counts as failing, as in the official harness.
 */
export function gradeSwebench(
  statuses: Map<string, TestStatus>,
  failToPass: string[],
  passToPass: string[],
): { resolved: boolean; tests_status: NonNullable<SwebenchInstanceReport['tests_status']> } {
  const bucket = (names: string[]): TestBuckets => ({
    success: names.filter((n) => passing(statuses.get(n))),
    failure: names.filter((n) => !passing(statuses.get(n))),
  });
  const f2p = bucket(failToPass);
  const p2p = bucket(passToPass);
  return {
    resolved: f2p.failure.length === 0 && p2p.failure.length === 0,
    tests_status: {
      FAIL_TO_PASS: f2p,
      PASS_TO_PASS: p2p,
      FAIL_TO_FAIL: { success: [], failure: [] },
      PASS_TO_FAIL: { success: [], failure: [] },
    },
  };
}

/** Files a unified diff touches (the b/ side), e.g. the test files of a test_patch. */
export function diffFiles(patch: string): string[] {
  const files = new Set<string>();
  for (const m of patch.matchAll(/^diff --git a\/\S+ b\/(\S+)$/gm)) files.add(m[1]!);
  if (files.size === 0) for (const m of patch.matchAll(/^\+\+\+ b\/(\S+)/gm)) files.add(m[1]!);
  return [...files];
}

/** Patch application as SWE-bench's harness falls back, first success wins. */
export const PATCH_COMMANDS = [
  'git apply -v',
  'git apply --3way',
  'git apply --reject',
  'patch --batch --forward --fuzz=5 -p1 -i',
] as const;

/**
 * Harbor's reward: reward.txt holds one number; reward.json holds named numbers, of which
 * `reward` (or the only one) is the task's score. A task passes at reward >= 1.
 */
export function parseReward(
  txt: string | undefined,
  json: string | undefined,
): { reward: number; rewards: Record<string, number> } | { error: string } {
  if (json !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      return { error: 'reward.json is not valid JSON' };
    }
    if (typeof parsed === 'number') return { reward: parsed, rewards: { reward: parsed } };
    if (!parsed || typeof parsed !== 'object') return { error: 'reward.json is not an object of numbers' };
    const rewards = Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === 'number')) as Record<
      string,
      number
    >;
    const values = Object.values(rewards);
    const main = rewards.reward ?? (values.length === 1 ? values[0] : undefined);
    if (main === undefined)
      return { error: `reward.json has no "reward" key among ${Object.keys(rewards).join(', ') || 'no numbers'}` };
    return { reward: main, rewards };
  }
  if (txt !== undefined) {
    const n = Number(txt.trim());
    if (txt.trim() === '' || !Number.isFinite(n))
      return { error: `reward.txt does not hold a number: ${JSON.stringify(txt.slice(0, 40))}` };
    return { reward: n, rewards: { reward: n } };
  }
  return { error: 'the verifier wrote neither /logs/verifier/reward.txt nor reward.json' };
}
