// How test output becomes a verdict, for all three formats. Pure functions: the evaluation
// activities feed them what the container printed or wrote.
import { LOG_PARSERS, type StatusMap } from './swebenchParsers';

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

/**
 * The harness whose grading this file reproduces: log parsers, grading and report.json are
 * swebench 5.0.2's; the per-repository evaluation specs (test commands, directives, eval script)
 * are 4.1.0's, the last version that derives eval scripts itself (core/swebenchSpecs.ts).
 */
export const HARNESS = {
  grading: 'swebench==5.0.2',
  specs: 'swebench==4.1.0',
} as const;
export const HARNESS_LABEL = `${HARNESS.grading} (log parsers, grading, report.json); eval specs of ${HARNESS.specs}`;

/** The harness's log markers (swebench.harness.constants). */
export const MARKERS = {
  applyPatchFail: '>>>>> Patch Apply Failed',
  resetFailed: '>>>>> Reset Failed',
  testsError: '>>>>> Tests Errored',
  testsTimeout: '>>>>> Tests Timed Out',
  startTestOutput: '>>>>> Start Test Output',
  endTestOutput: '>>>>> End Test Output',
  testExitCode: '>>>>> Test Exit Code',
  testExitCodeVar: 'SWEBENCH_TEST_EXIT_CODE',
} as const;

export type EvalType = 'pass_and_fail' | 'fail_only';
export type ResolvedStatus = 'RESOLVED_FULL' | 'RESOLVED_PARTIAL' | 'RESOLVED_NO';

export interface TestsStatus {
  FAIL_TO_PASS: TestBuckets;
  PASS_TO_PASS: TestBuckets;
  FAIL_TO_FAIL: TestBuckets;
  PASS_TO_FAIL: TestBuckets;
}

/** The per-instance report the harness writes (report.json), keyed by instance id; keys in its order. */
export interface SwebenchInstanceReport {
  patch_is_None: boolean;
  patch_exists: boolean;
  patch_successfully_applied: boolean;
  resolved: boolean;
  infra_failure: boolean;
  infra_failure_reason?: string;
  tests_status?: TestsStatus;
}

/** Python's universal newlines: the harness reads test_output.txt in text mode. */
export function universalNewlines(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

// Evidence that a test runner ran at all (grading.py SUITE_RAN); Python's \d and \w are Unicode.
const SUITE_RAN =
  /Executed [1-9]\p{Nd}* of \p{Nd}+|TOTAL: [1-9]\p{Nd}* (?:SUCCESS|FAILED)|[1-9]\p{Nd}* passing|Tests:\s+[1-9]\p{Nd}*|Test Suites:\s+(?:\p{Nd}+ [\p{L}\p{N}_]+, )*[1-9]\p{Nd}* total|^# tests [1-9]\p{Nd}*|[1-9]\p{Nd}* specs?, \p{Nd}+ failures?|': ok$/mu;

/** The test command's exit status the eval script records after the end marker, if any. */
export function parseTestExitCode(content: string): number | undefined {
  const m = /\x3e{5} Test Exit Code:\s*(-?[0-9]+)/.exec(content);
  return m ? Number(m[1]) : undefined;
}

/**
 * get_logs_eval: the status map of a test run and whether the log counts as a run at all. A log
 * with a failure marker, without both output markers, with nothing parsed and no sign the suite
 * ran, or with a non-zero test exit status but no failing test, is not a run.
 */
export function getLogsEval(
  rawContent: string,
  parser: (log: string) => StatusMap,
): { statusMap: StatusMap; found: boolean } {
  const content = universalNewlines(rawContent);
  const none = { statusMap: new Map<string, string>(), found: false };
  const bad = [MARKERS.applyPatchFail, MARKERS.resetFailed, MARKERS.testsError, MARKERS.testsTimeout];
  if (bad.some((b) => content.includes(b))) return none;
  if (!(content.includes(MARKERS.startTestOutput) && content.includes(MARKERS.endTestOutput))) return none;
  const sliced = content.split(MARKERS.startTestOutput)[1]!.split(MARKERS.endTestOutput)[0]!;
  let statusMap = parser(sliced);
  if (statusMap.size === 0) statusMap = parser(content);
  if (statusMap.size === 0 && !SUITE_RAN.test(content)) return none;
  const exit = parseTestExitCode(content);
  if (
    exit !== undefined &&
    exit !== 0 &&
    statusMap.size > 0 &&
    ![...statusMap.values()].some((s) => s === 'FAILED' || s === 'ERROR')
  )
    return none;
  return { statusMap, found: true };
}

const PASSING = new Set(['PASSED', 'XFAIL']);

/**
 * _resolve_case: the status-map key for a listed test. Ids that the datasets cut inside a
 * parametrization (more `[` than `]`) match by prefix when every candidate agrees on pass/fail.
 */
function resolveCase(test: string, sm: StatusMap): string | undefined {
  if (sm.has(test)) return test;
  if (test.split('[').length > test.split(']').length) {
    const matches = [...sm.keys()].filter((k) => k.startsWith(test));
    if (matches.length > 0 && new Set(matches.map((k) => PASSING.has(sm.get(k)!))).size === 1) return matches[0];
  }
  return undefined;
}

/** PASSED or XFAIL. */
export function testPassed(test: string, sm: StatusMap): boolean {
  const key = resolveCase(test, sm);
  return key !== undefined && PASSING.has(sm.get(key)!);
}

/** PASS_TO_PASS: passing, or SKIPPED (a skip is no regression). */
export function testMaintained(test: string, sm: StatusMap): boolean {
  const key = resolveCase(test, sm);
  return testPassed(test, sm) || (key !== undefined && sm.get(key) === 'SKIPPED');
}

/** Absent, FAILED, ERROR or SKIPPED. Any other status (e.g. `ERROR:`) is neither passed nor failed. */
export function testFailed(test: string, sm: StatusMap): boolean {
  const key = resolveCase(test, sm);
  return key === undefined || ['FAILED', 'ERROR', 'SKIPPED'].includes(sm.get(key)!);
}

/** get_eval_tests_report: FAIL_TO_PASS and PASS_TO_PASS bucketed; the *_TO_FAIL lists stay empty. */
export function getEvalTestsReport(
  sm: StatusMap,
  failToPass: string[],
  passToPass: string[],
  evalType: EvalType = 'pass_and_fail',
): TestsStatus {
  const passAndFail = (t: string, b: TestBuckets) => {
    if (testPassed(t, sm)) b.success.push(t);
    else if (testFailed(t, sm)) b.failure.push(t);
  };
  const maintained = (t: string, b: TestBuckets) => {
    if (testMaintained(t, sm)) b.success.push(t);
    else if (testFailed(t, sm)) b.failure.push(t);
  };
  const failOnly = (t: string, b: TestBuckets) => {
    if (sm.get(t) === 'FAILED') b.failure.push(t);
    else b.success.push(t);
  };
  const f2p: TestBuckets = { success: [], failure: [] };
  const p2p: TestBuckets = { success: [], failure: [] };
  for (const t of failToPass) (evalType === 'pass_and_fail' ? passAndFail : failOnly)(t, f2p);
  for (const t of passToPass) (evalType === 'pass_and_fail' ? maintained : failOnly)(t, p2p);
  return {
    FAIL_TO_PASS: f2p,
    PASS_TO_PASS: p2p,
    FAIL_TO_FAIL: { success: [], failure: [] },
    PASS_TO_FAIL: { success: [], failure: [] },
  };
}

const ratio = (b: TestBuckets) => {
  const total = b.success.length + b.failure.length;
  return total === 0 ? 1 : b.success.length / total;
};

/** FULL when every FAIL_TO_PASS and PASS_TO_PASS test succeeded; PARTIAL when some FAIL_TO_PASS did. */
export function getResolutionStatus(report: TestsStatus): ResolvedStatus {
  const f2p = ratio(report.FAIL_TO_PASS);
  const p2p = ratio(report.PASS_TO_PASS);
  if (f2p === 1 && p2p === 1) return 'RESOLVED_FULL';
  if (f2p < 1 && f2p > 0 && p2p === 1) return 'RESOLVED_PARTIAL';
  return 'RESOLVED_NO';
}

// infra_failure.py: signatures of a broken environment, first match wins (advisory only).
const INFRA_FAILURE_SIGNATURES: [reason: string, tier: 'environment' | 'ambiguous', pattern: RegExp][] = [
  ['browser_launch_failed', 'environment', /Failed to launch|Failed to connect to the bus/m],
  ['display_unavailable', 'environment', /cannot open display|Missing X server|unable to open X display/m],
  ['out_of_memory', 'environment', /Cannot allocate memory|OutOfMemoryError|^Killed$/m],
  ['container_unavailable', 'environment', /Error response from daemon|Cannot connect to the Docker daemon/m],
  ['network_unreachable', 'environment', /Could not resolve host|Temporary failure in name resolution/m],
  ['missing_module', 'ambiguous', /Cannot find module|MODULE_NOT_FOUND|ModuleNotFoundError/m],
  ['no_tests_collected', 'ambiguous', /no tests ran|collected 0 items/m],
  ['tests_timed_out', 'ambiguous', /Timeout error: \p{Nd}+ seconds exceeded/mu],
];

export function classifyLog(text: string): { reason: string; tier: 'environment' | 'ambiguous' } | undefined {
  if (!text) return undefined;
  for (const [reason, tier, pattern] of INFRA_FAILURE_SIGNATURES) if (pattern.test(text)) return { reason, tier };
  return undefined;
}

export interface EvalReportInput {
  instanceId: string;
  /** null is the harness's "patch is None"; an empty string is a patch that exists (and is empty). */
  modelPatch: string | null;
  failToPass: string[];
  passToPass: string[];
  /** A registry name (LOG_PARSERS). */
  logParser: string;
  evalType: EvalType;
  /** test_output.txt as the eval script printed it. */
  testOutput: string;
  includeTestsStatus?: boolean;
}

/** get_eval_report: the report.json object for one prediction, exactly as the harness builds it. */
export function getEvalReport(input: EvalReportInput): {
  report: Record<string, SwebenchInstanceReport>;
  statusMap: StatusMap;
  resolution?: ResolvedStatus;
} {
  const parser = LOG_PARSERS[input.logParser];
  if (!parser)
    throw new Error(`unknown log parser "${input.logParser}" (known: ${Object.keys(LOG_PARSERS).join(', ')})`);
  const r: SwebenchInstanceReport = {
    patch_is_None: false,
    patch_exists: false,
    patch_successfully_applied: false,
    resolved: false,
    infra_failure: false,
  };
  const report = { [input.instanceId]: r };
  if (input.modelPatch === null) {
    r.patch_is_None = true;
    return { report, statusMap: new Map() };
  }
  r.patch_exists = true;
  const { statusMap, found } = getLogsEval(input.testOutput, parser);
  if (!found) {
    const c = classifyLog(input.testOutput.replace(/\r\n?/g, '\n'));
    if (c) {
      r.infra_failure = c.tier === 'environment';
      r.infra_failure_reason = c.reason;
    }
    return { report, statusMap };
  }
  r.patch_successfully_applied = true;
  const tests = getEvalTestsReport(statusMap, input.failToPass, input.passToPass, input.evalType);
  const resolution = getResolutionStatus(tests);
  if (resolution === 'RESOLVED_FULL') r.resolved = true;
  if (input.includeTestsStatus ?? true) r.tests_status = tests;
  return { report, statusMap, resolution };
}

/**
 * JSON as Python's json.dumps(x, indent=4) writes it (ensure_ascii: every character outside
 * space..~ escaped), so report.json is byte-identical to the harness's.
 */
export function pythonJsonDumps(value: unknown): string {
  return JSON.stringify(value, null, 4).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Files a unified diff touches (the b/ side), e.g. the test files of a test_patch. */
export function diffFiles(patch: string): string[] {
  const files = new Set<string>();
  for (const m of patch.matchAll(/^diff --git a\/\S+ b\/(\S+)$/gm)) files.add(m[1]!);
  if (files.size === 0) for (const m of patch.matchAll(/^\+\+\+ b\/(\S+)/gm)) files.add(m[1]!);
  return [...files];
}

/**
 * How the harness (5.0.2, run_instance) applies a candidate patch: each command in turn on a
 * pristine tree (`git checkout -- . ; git clean -fd` between tries), first success wins; if all
 * fail, a patch that `git apply --check --reverse` accepts counts as already applied.
 */
export const PATCH_COMMANDS = [
  'git apply --verbose',
  'git apply --verbose --3way',
  'git apply --verbose --reject',
  'patch --batch --forward --fuzz=5 -p1 -i',
] as const;
export const PATCH_RESET = 'git checkout -- . ; git clean -fd';
export const PATCH_REVERSE_CHECK = 'git apply --check --reverse';

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
