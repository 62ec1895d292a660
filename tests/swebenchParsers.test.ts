// Golden tests of the harness's log parsers on real logs (tests/fixtures/swebench-logs/README.md
// names their sources). What each parser must find is read off the logs by independent means
// (the runner's own lines and counts); tests/harness.test.ts checks the same logs against the
// official parsers themselves.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseLogDjango,
  parseLogMatplotlib,
  parseLogPytest,
  parseLogPytestOptions,
  parseLogPytestV2,
  parseLogSeaborn,
  parseLogSympy,
  pySplit,
  pyStrip,
} from '../core/swebenchParsers';
import { FIXTURES } from './helpers';

const read = (name: string) => readFileSync(path.join(FIXTURES, 'swebench-logs', name), 'utf8');
const count = (m: Map<string, string>, status: string) => [...m.values()].filter((s) => s === status).length;

describe('parse_log_django on a real runtests.py run', () => {
  const log = read('django-runtests-fail.txt');
  const m = parseLogDjango(log);
  const id = (t: string) => `${t} (basic.tests.ModelInstanceCreationTests.${t})`;
  it('reads ok, FAIL, ERROR and skipped lines with Python 3.11 ids', () => {
    expect(m.get(id('test_object_is_not_written_to_database_until_save_was_called'))).toBe('FAILED');
    expect(m.get(id('test_can_initialize_model_instance_using_positional_arguments'))).toBe('ERROR');
    expect(m.get(id('test_can_create_instance_using_kwargs'))).toBe('PASSED');
    // The FAIL:/ERROR: headers add the bare method name (split()[1]), as in the harness.
    expect(m.get('test_object_is_not_written_to_database_until_save_was_called')).toBe('FAILED');
    expect(m.get('test_can_initialize_model_instance_using_positional_arguments')).toBe('ERROR');
    // A test with a docstring is printed (and listed in the datasets) by its docstring's first line.
    expect(m.get('Test fetching, deleting and finally saving an object - we should get')).toBe('SKIPPED');
    const ran = Number(/Ran (\d+) tests/.exec(log)![1]);
    const skipped = Number(/skipped=(\d+)/.exec(log)![1]);
    const headers = log.split('\n').filter((l) => /^(FAIL|ERROR): /.test(l)).length;
    expect(m.size).toBe(ran + headers);
    expect(count(m, 'SKIPPED')).toBe(skipped);
    expect(count(m, 'PASSED')).toBe(ran - skipped - 2);
  });
  it('a passing run has no failure', () => {
    const ok = parseLogDjango(read('django-runtests-ok.txt'));
    const log2 = read('django-runtests-ok.txt');
    expect(ok.size).toBe(log2.split('\n').filter((l) => l.includes(' ... ')).length); // one per result line
    expect(count(ok, 'FAILED') + count(ok, 'ERROR')).toBe(0);
  });
});

describe('parse_log_sympy on a real sympy test run', () => {
  const log = read('sympy-runtests.txt');
  const m = parseLogSympy(log);
  it('reads ok, F and E, and the failure headers; xfail (f) and skip (s) are not recorded', () => {
    expect(m.get('test_issue_3538')).toBe('FAILED');
    expect(m.get('test_sympify_keywords')).toBe('ERROR');
    expect(m.get('test_sympify1')).toBe('PASSED');
    // Every `___ file:test ___` header reads as FAILED, an exception's too.
    expect(m.get('sympy/core/tests/test_sympify.py:test_issue_3538')).toBe('FAILED');
    expect(m.get('sympy/core/tests/test_sympify.py:test_sympify_keywords')).toBe('FAILED');
    expect(m.has('test_issue_16772')).toBe(false); // "f"
    const okLines = log.split('\n').filter((l) => pyStrip(l).startsWith('test_') && pyStrip(l).endsWith(' ok'));
    expect(count(m, 'PASSED')).toBe(okLines.length);
  });
});

describe('the pytest parsers on a real pytest -rA run', () => {
  const log = read('requests-pytest-rA.txt');
  const summary = log.split('short test summary info')[1]!;
  it('parse_log_pytest keeps an id up to its first whitespace (how the datasets list them)', () => {
    const m = parseLogPytest(log);
    expect(m.get('tests/test_utils.py::test_get_auth_from_url[http://user:pass')).toBe('PASSED');
    expect(
      m.has('tests/test_utils.py::test_get_auth_from_url[http://user:pass pass@complex.url.com/path?query=yes-auth3]'),
    ).toBe(false);
    expect(m.get('tests/test_structures.py::TestCaseInsensitiveDict::test_list')).toBe('FAILED');
    expect(count(m, 'ERROR')).toBe(summary.split('\n').filter((l) => l.startsWith('ERROR ')).length);
    expect([...m.keys()].some((k) => /^\[\d+\]$/.test(k))).toBe(false); // "SKIPPED [1] file:line" is no test
  });
  it('parse_log_pytest_options (requests, pylint) cuts a parametrization that is a path to its last part', () => {
    const m = parseLogPytestOptions(log);
    const id = 'tests/test_utils.py::TestExtractZippedPaths::test_unzipped_paths_unchanged';
    expect(m.get(`${id}[/location]`)).toBe('PASSED');
    expect(parseLogPytest(log).get(`${id}[/etc/invalid/location]`)).toBe('PASSED');
    expect(m.has(`${id}[/etc/invalid/location]`)).toBe(false);
    expect(m.size).toBe(parseLogPytest(log).size);
  });
  it('parse_log_matplotlib is pytest plus MouseButton names', () => {
    expect([...parseLogMatplotlib(log)]).toEqual([...parseLogPytest(log)]);
    expect([...parseLogMatplotlib('PASSED t.py::test_m[MouseButton.LEFT]')]).toEqual([['t.py::test_m[1]', 'PASSED']]);
  });
  it('parse_log_seaborn records PASSED and FAILED only', () => {
    const m = parseLogSeaborn(log);
    expect(new Set(m.values())).toEqual(new Set(['PASSED', 'FAILED']));
    const pytest = parseLogPytest(log);
    const only = (map: Map<string, string>, st: string) => [...map].filter(([, v]) => v === st);
    expect(only(m, 'PASSED')).toEqual(only(pytest, 'PASSED'));
    expect(only(m, 'FAILED')).toEqual(only(pytest, 'FAILED'));
    expect(m.size).toBe(pytest.size - count(pytest, 'ERROR'));
  });
});

describe('parse_log_pytest_v2 on a real coloured -vv classic run (astropy, scikit-learn, sphinx)', () => {
  const log = read('requests-pytest-vv-classic.txt');
  const m = parseLogPytestV2(log);
  it('strips colours, keeps whole ids with spaces, reads both "STATUS id" and "id STATUS"', () => {
    expect(m.get('tests/test_structures.py::TestCaseInsensitiveDict::test_list')).toBe('FAILED');
    expect(
      m.get('tests/test_utils.py::test_get_auth_from_url[http://user:pass pass@complex.url.com/path?query=yes-auth3]'),
    ).toBe('PASSED');
    expect([...m.keys()].every((k) => !k.includes('\x1b'))).toBe(true);
  });
});

describe("Python's whitespace", () => {
  it('split and strip use str.isspace, not JavaScript \\s', () => {
    expect(pySplit('a\x1cb\u00a0c\ufeffd')).toEqual(['a', 'b', 'c\ufeffd']);
    expect(pyStrip('\x85 x \x1f')).toBe('x');
  });
});
