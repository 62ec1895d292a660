import { describe, expect, it } from 'vitest';
import { mapBaseImage } from '../core/config';
import { rewriteBaseImages } from '../core/dockerfile';
import { diffFiles, getEvalTestsReport, gradePytestRun, parsePytestLog, parseReward } from '../core/grading';
import { parseLogPytest } from '../core/swebenchParsers';
import { containerName } from '../core/task';
import { decideVerdict, renderTable, type AttemptResult } from '../core/validation';

const PYTEST_RA = `
============================= test session starts ==============================
collected 4 items

tests/test_calc.py ..F.                                                   [100%]

=========================== short test summary info ============================
PASSED tests/test_calc.py::test_add
PASSED tests/test_calc.py::test_sub
FAILED tests/test_calc.py::test_div - ZeroDivisionError: division by zero
XFAIL tests/test_calc.py::test_future - not yet
SKIPPED [1] tests/test_calc.py:40: needs numpy
========================= 1 failed, 2 passed, 1 xfailed in 0.05s =========================
`;

describe('pytest log parsing', () => {
  it('reads -rA summary lines, strips messages, skips SKIPPED without node id', () => {
    const m = parsePytestLog(PYTEST_RA);
    expect(Object.fromEntries(m)).toEqual({
      'tests/test_calc.py::test_add': 'PASSED',
      'tests/test_calc.py::test_sub': 'PASSED',
      'tests/test_calc.py::test_div': 'FAILED',
      'tests/test_calc.py::test_future': 'XFAIL',
    });
  });

  it('Terminal-Bench rule: every test must pass', () => {
    expect(gradePytestRun(PYTEST_RA).passed).toBe(false);
    expect(gradePytestRun(PYTEST_RA).reason).toContain('test_div');
    const ok = PYTEST_RA.replace(
      'FAILED tests/test_calc.py::test_div - ZeroDivisionError: division by zero',
      'PASSED tests/test_calc.py::test_div',
    );
    expect(gradePytestRun(ok).passed).toBe(true);
    expect(gradePytestRun('bash: pytest: command not found').passed).toBe(false);
    // Without -rA, the closing line decides.
    expect(gradePytestRun('==== 3 passed in 0.10s ====').passed).toBe(true);
    expect(gradePytestRun('==== 2 passed, 1 failed in 0.10s ====').passed).toBe(false);
  });
});

describe('SWE-bench grading', () => {
  const statuses = parseLogPytest(PYTEST_RA);
  it('buckets FAIL_TO_PASS and PASS_TO_PASS as the harness does; missing tests fail', () => {
    const g = getEvalTestsReport(
      statuses,
      ['tests/test_calc.py::test_div'],
      ['tests/test_calc.py::test_sub', 'tests/test_calc.py::gone'],
    );
    expect(g.FAIL_TO_PASS).toEqual({ success: [], failure: ['tests/test_calc.py::test_div'] });
    expect(g.PASS_TO_PASS).toEqual({
      success: ['tests/test_calc.py::test_sub'],
      failure: ['tests/test_calc.py::gone'],
    });
  });

  it('finds the files a diff touches', () => {
    const patch =
      'diff --git a/tests/test_a.py b/tests/test_a.py\n--- a/tests/test_a.py\n+++ b/tests/test_a.py\n@@ -1 +1 @@\n-x\n+y\ndiff --git a/tests/new.py b/tests/new.py\nnew file mode 100644\n';
    expect(diffFiles(patch)).toEqual(['tests/test_a.py', 'tests/new.py']);
  });
});

describe('Harbor rewards', () => {
  it('reads reward.txt and reward.json, preferring json', () => {
    expect(parseReward('1\n', undefined)).toEqual({ reward: 1, rewards: { reward: 1 } });
    expect(parseReward('0.0', undefined)).toEqual({ reward: 0, rewards: { reward: 0 } });
    expect(parseReward('1', '{"reward": 0.5, "style": 1}')).toEqual({
      reward: 0.5,
      rewards: { reward: 0.5, style: 1 },
    });
    expect(parseReward(undefined, '{"accuracy": 1}')).toEqual({ reward: 1, rewards: { accuracy: 1 } });
    expect(parseReward(undefined, '{"a": 1, "b": 0}')).toHaveProperty('error');
    expect(parseReward('yes', undefined)).toHaveProperty('error');
    expect(parseReward(undefined, undefined)).toHaveProperty('error');
  });
});

describe('base image map', () => {
  const map = { 'ubuntu:*': 'local/base', 'python:3.12-slim': 'local/py', 'ghcr.io/org/*': 'local/org' };
  it('maps exact names and prefixes, longest prefix first', () => {
    expect(mapBaseImage('ubuntu:24.04', map)).toBe('local/base');
    expect(mapBaseImage('python:3.12-slim', map)).toBe('local/py');
    expect(mapBaseImage('python:3.13-slim', map)).toBeUndefined();
    expect(mapBaseImage('ghcr.io/org/img:latest', map)).toBe('local/org');
  });

  it('rewrites FROM lines but not stage references or flags', () => {
    const df =
      'FROM --platform=linux/amd64 ubuntu:24.04 AS build\nRUN make\nfrom build\nFROM python:3.12-slim\nCOPY --from=build /a /a\n';
    const r = rewriteBaseImages(df, (i) => mapBaseImage(i, map));
    expect(r.dockerfile).toBe(
      'FROM --platform=linux/amd64 local/base AS build\nRUN make\nfrom build\nFROM local/py\nCOPY --from=build /a /a\n',
    );
    expect(r.rewrites).toEqual([
      { from: 'ubuntu:24.04', to: 'local/base', where: 'FROM' },
      { from: 'python:3.12-slim', to: 'local/py', where: 'FROM' },
    ]);
  });
});

describe('validation verdicts', () => {
  const a = (kind: 'oracle' | 'null', passed: boolean | undefined, error?: string): AttemptResult => ({
    kind,
    passed,
    reason: passed ? 'reward 1' : 'reward 0',
    error,
    tries: 1,
    durationMs: 1,
  });
  it('valid only when the oracle passes and the null attempt fails', () => {
    expect(decideVerdict('t', 'harbor', a('oracle', true), a('null', false)).status).toBe('valid');
    expect(decideVerdict('t', 'harbor', a('oracle', false), a('null', false)).problems[0]).toMatch(/oracle fails/);
    expect(decideVerdict('t', 'harbor', a('oracle', true), a('null', true)).problems[0]).toMatch(/null attempt passes/);
    expect(decideVerdict('t', 'harbor', a('oracle', undefined, 'no solution'), a('null', false)).status).toBe('error');
  });

  it('renders one row per task, pipes escaped', () => {
    const v = decideVerdict('a|b', 'harbor', a('oracle', false), a('null', false));
    const table = renderTable([v]);
    expect(table.split('\n')).toHaveLength(3);
    expect(table).toContain('a\\|b');
  });
});

describe('container names', () => {
  it('are valid docker names and differ for ids sharing a long prefix', () => {
    const long = 'x'.repeat(60);
    const a = containerName('run-1', `${long}-a`, 'oracle', 1);
    const b = containerName('run-1', `${long}-b`, 'oracle', 1);
    expect(a).not.toBe(b);
    for (const n of [a, b, containerName('Run 1', 'Django__django-1', 'null', 2)])
      expect(n).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
  });
});
