// Differential tests against the official SWE-bench harness, pinned (scripts/swebench-harness.sh):
// the same logs, instances and predictions go to both sides, and status maps, report.json bytes,
// resolutions, eval scripts, test directives and the spec table must be equal. The Python side is
// tests/harness/bridge.py run with the venv's python. A disagreement prints both sides.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { getEvalReport, pythonJsonDumps, type EvalType } from '../core/grading';
import { LOG_PARSERS, REPO_PARSER } from '../core/swebenchParsers';
import { EVAL_SPEC_ROWS, evalPlan, SWEBENCH_REPOS, tableSpec } from '../core/swebenchSpecs';
import { PROJECT_ROOT } from '../runtime/config';

let python = '';
const V4_DIR = () => path.join(path.dirname(path.dirname(path.dirname(python))), 'v4');

function harness<T>(mode: 'v4' | 'v5', request: unknown): T {
  const args = [path.join(PROJECT_ROOT, 'tests/harness/bridge.py'), mode === 'v4' ? '--v4' : '--v5'];
  if (mode === 'v4') args.push(V4_DIR());
  const out = execFileSync(python, args, { input: JSON.stringify(request), maxBuffer: 512 * 1024 * 1024 });
  return JSON.parse(out.toString('utf8')) as T;
}

/** Equal, or a failure that shows both sides and the input. */
function same(ours: unknown, theirs: unknown, input: unknown) {
  if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
    console.error(
      `disagreement with the harness\n--- input ---\n${JSON.stringify(input, null, 1).slice(0, 4000)}\n` +
        `--- ours ---\n${JSON.stringify(ours, null, 1).slice(0, 4000)}\n--- harness ---\n${JSON.stringify(theirs, null, 1).slice(0, 4000)}`,
    );
  }
  expect(ours).toEqual(theirs);
}

beforeAll(() => {
  python = execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts/swebench-harness.sh')], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .at(-1)!;
}, 300_000);

// ---------------------------------------------------------------------------------------------
// Logs: real excerpts (tests/fixtures/swebench-logs, sources in its README) and generated ones.

const LOG_DIR = path.join(PROJECT_ROOT, 'tests/fixtures/swebench-logs');
const realLogs = () =>
  readdirSync(LOG_DIR)
    .filter((f) => f.endsWith('.txt'))
    .map((f) => ({ name: f, text: readFileSync(path.join(LOG_DIR, f), 'utf8') }));

const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs);
const word = fc.stringMatching(/^[a-z_]{1,8}$/);
const oddChars = pick([
  ' ',
  '  ',
  '\t',
  '-',
  ' - ',
  '[',
  ']',
  '(',
  ')',
  '"',
  '/',
  '//',
  '*',
  '.',
  ':',
  'é',
  '\u00a0',
  '\x1c',
  '\u2028',
  '1',
  '\x1b[31m',
  '[0m',
]);
const testId = fc
  .tuple(
    pick(['tests/test_a.py', 'sympy/core/tests/test_b.py', 'lib/t.py', 'x']),
    word,
    fc.array(fc.oneof(word, oddChars), { maxLength: 6 }),
    fc.boolean(),
  )
  .map(([file, name, param, bracket]) => `${file}::test_${name}${bracket ? `[${param.join('')}]` : param.join('')}`);
const status = pick(['PASSED', 'FAILED', 'ERROR', 'SKIPPED', 'XFAIL', 'XPASS', 'ERROR:', 'PASSEDX', 'FAIL:', 'ok']);
const line = fc.oneof(
  fc
    .tuple(status, testId, fc.option(fc.tuple(pick([' - ', ' ']), word)))
    .map(([s, id, msg]) => `${s} ${id}${msg ? `${msg[0]}${msg[1]}` : ''}`),
  fc.tuple(testId, status).map(([id, s]) => `${id} ${s}`),
  fc
    .tuple(pick(['SKIPPED [1] x.py:3: why', 'PASSED [100%]', 'SKIPPED [12]', '[100%]']), fc.constant(''))
    .map(([a]) => a),
  fc.tuple(word, pick(['ok', 'F', 'E', 'f', 'ok '])).map(([w, s]) => `test_${w} ${s}`),
  fc.tuple(pick(['', '_', '____']), word, word).map(([u, f, t]) => `${u} sympy/${f}.py:test_${t} ${u}`),
  fc
    .tuple(word, word, pick([' ... ok', ' ... OK', ' ...  OK', ' ... FAIL', ' ... ERROR', " ... skipped 'x'", ' ... ']))
    .map(([t, c, s]) => `test_${t} (mod.${c})${s}`),
  fc.tuple(pick(['FAIL: ', 'ERROR: ', 'FAIL:', 'ok', '  ok']), word).map(([p, t]) => `${p}test_${t} (m.C)`),
  pick([
    'ok',
    'Testing against Django installed in /x (1 silenced).',
    'System check identified no issues (0 silenced)',
    'Internal Server Error: /a/',
    '--version is equivalent to version',
    'Applying sites.0002_alter_domain_unique...test_no_migrations (m.C) ... ok',
    "+ : '>>>>> Start Test Output'",
    "+ : '>>>>> End Test Output'",
    '>>>>> Test Exit Code: 1',
    '>>>>> Test Exit Code: 0',
    'FAILED MouseButton.LEFT test_m[MouseButton.RIGHT]',
    '===== 3 passed in 0.1s =====',
    '1 passing',
    'collected 0 items',
    'Killed',
  ]),
  fc.string({ maxLength: 20 }),
);
const log = fc
  .tuple(fc.array(line, { maxLength: 25 }), pick(['\n', '\r\n', '\r']))
  .map(([lines, nl]) => lines.join(nl));

describe('log parsers equal the harness (swebench 5.0.2)', () => {
  const parsers = Object.keys(LOG_PARSERS);

  it('on the real log excerpts, for every parser', () => {
    const logs = realLogs();
    expect(logs.length).toBeGreaterThan(0);
    for (const parser of parsers) {
      const theirs = harness<[string, string][][]>('v5', { op: 'parse', parser, logs: logs.map((l) => l.text) });
      logs.forEach((l, i) => same([...LOG_PARSERS[parser]!(l.text)], theirs[i], { parser, log: l.name }));
    }
  });

  it('on generated logs (quirks: whitespace, brackets, colours, status words as printed)', () => {
    const logs = fc.sample(log, { numRuns: 400, seed: 20261202 });
    for (const parser of parsers) {
      const theirs = harness<[string, string][][]>('v5', { op: 'parse', parser, logs });
      logs.forEach((l, i) => same([...LOG_PARSERS[parser]!(l)], theirs[i], { parser, log: l }));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Reports: the same test output, instance and prediction on both sides.

interface ReportCase {
  instance_id: string;
  model_patch: string | null;
  FAIL_TO_PASS: string[];
  PASS_TO_PASS: string[];
  log_parser: string;
  eval_type: EvalType;
  test_output: string;
}

function ours(c: ReportCase) {
  const r = getEvalReport({
    instanceId: c.instance_id,
    modelPatch: c.model_patch,
    failToPass: c.FAIL_TO_PASS,
    passToPass: c.PASS_TO_PASS,
    logParser: c.log_parser,
    evalType: c.eval_type,
    testOutput: c.test_output,
  });
  return {
    report_json: pythonJsonDumps(r.report),
    status_map: r.report[c.instance_id]!.patch_exists ? [...r.statusMap] : [],
    resolution: r.resolution ?? null,
  };
}

function compareReports(cases: ReportCase[]) {
  type Theirs = { report_json: string; status_map: [string, string][]; found: boolean; resolution: string | null };
  const theirs = harness<Theirs[]>('v5', {
    op: 'report',
    cases,
  });
  cases.forEach((c, i) => {
    const { found: _found, ...t } = theirs[i]!;
    const o = ours(c);
    // The harness computes a status map only for patches that exist; compare it there.
    same(o, { ...t, status_map: c.model_patch === null ? [] : t.status_map }, c);
  });
}

const wrap = (body: string, exit?: number) =>
  `+ git apply -v -\n+ : '>>>>> Start Test Output'\n${body}\n+ SWEBENCH_TEST_EXIT_CODE=${exit ?? 0}\n+ : '>>>>> End Test Output'\n` +
  (exit === undefined ? '' : `>>>>> Test Exit Code: ${exit}\n`);

describe('reports equal the harness: report.json bytes, status map, resolution', () => {
  it('on the real logs, with lists drawn from what each log holds (passing, failing, skipped, absent, cut ids)', () => {
    const cases: ReportCase[] = [];
    for (const l of realLogs()) {
      for (const parser of Object.keys(LOG_PARSERS)) {
        const keys = [...LOG_PARSERS[parser]!(l.text).keys()];
        const cut = keys.filter((k) => k.includes('[')).map((k) => k.slice(0, k.indexOf('[') + 2));
        for (const evalType of ['pass_and_fail', 'fail_only'] as const)
          cases.push({
            instance_id: `real__${l.name}`,
            model_patch: 'diff',
            FAIL_TO_PASS: [...keys.slice(0, 3), ...cut.slice(0, 1)],
            PASS_TO_PASS: [...keys.slice(3, 40), 'absent::test', ...cut.slice(1, 2)],
            log_parser: parser,
            eval_type: evalType,
            test_output: l.text,
          });
      }
    }
    compareReports(cases);
  });

  it('on generated outputs and lists (markers, exit codes, None and empty patches, unicode ids)', () => {
    const gen = fc
      .tuple(
        log,
        pick(Object.keys(LOG_PARSERS)),
        pick(['pass_and_fail', 'fail_only'] as const),
        pick([undefined, 0, 1, 2]),
        pick([true, true, true, false]),
        pick(['diff', '', null]),
        fc.array(fc.nat(30), { maxLength: 6 }),
        fc.array(fc.nat(30), { maxLength: 10 }),
        fc.array(testId, { maxLength: 2 }),
      )
      .map(([body, parser, evalType, exit, marked, patch, f2pIdx, p2pIdx, extra]): ReportCase => {
        const output = marked ? wrap(body, exit) : body;
        const keys = [...LOG_PARSERS[parser]!(output).keys()];
        const at = (i: number) => keys[i % Math.max(keys.length, 1)] ?? `missing_${i}`;
        return {
          instance_id: 'gen__x-1',
          model_patch: patch,
          FAIL_TO_PASS: [...new Set([...f2pIdx.map(at), ...extra])],
          PASS_TO_PASS: [...new Set(p2pIdx.map(at))],
          log_parser: parser,
          eval_type: evalType,
          test_output: output,
        };
      });
    compareReports(fc.sample(gen, { numRuns: 500, seed: 7 }));
  });
});

// ---------------------------------------------------------------------------------------------
// Specs and eval scripts: the table against 4.1.0's constants, the scripts against 4.1.0's
// make_eval_script_list plus 5.0.2's record_test_exit_code.

describe('evaluation specs equal the harness (swebench 4.1.0 constants, test_spec)', () => {
  it('covers the twelve repositories of Lite and Verified', () => {
    expect([...SWEBENCH_REPOS].sort()).toEqual(
      [
        'astropy/astropy',
        'django/django',
        'matplotlib/matplotlib',
        'mwaskom/seaborn',
        'pallets/flask',
        'psf/requests',
        'pydata/xarray',
        'pylint-dev/pylint',
        'pytest-dev/pytest',
        'scikit-learn/scikit-learn',
        'sphinx-doc/sphinx',
        'sympy/sympy',
      ].sort(),
    );
  });

  it('test command, install, eval commands, python and parser for every version of every repository', () => {
    type V4Specs = Record<
      string,
      {
        parser: string;
        versions: Record<string, { test_cmd: string; install?: string; eval_commands: string[]; python?: string }>;
      }
    >;
    const theirs = harness<V4Specs>('v4', { op: 'specs', repos: SWEBENCH_REPOS });
    for (const repo of SWEBENCH_REPOS) {
      // The harness's map holds functions (parse_log_astropy is parse_log_pytest_v2): compare the function.
      const fn = LOG_PARSERS[REPO_PARSER[repo]!]!.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      same(fn, theirs[repo]!.parser, { repo });
      const ourVersions = EVAL_SPEC_ROWS.filter((r) => r.repo === repo).flatMap((r) => r.versions);
      same([...new Set(ourVersions)].sort(), Object.keys(theirs[repo]!.versions).sort(), { repo });
      for (const [version, t] of Object.entries(theirs[repo]!.versions)) {
        const s = tableSpec(repo, version)!;
        same(
          { test_cmd: s.testCmd, install: s.install ?? null, eval_commands: s.evalCommands, python: s.python ?? null },
          {
            test_cmd: t.test_cmd,
            install: t.install ?? null,
            eval_commands: t.eval_commands,
            python: t.python ?? null,
          },
          { repo, version },
        );
      }
    }
  });

  // A test_patch as real ones are: changed, new and data files, a removed line that reads like a header.
  const testPatch = (repo: string) => {
    const dir = repo === 'django/django' ? 'tests/admin_views' : repo === 'sympy/sympy' ? 'sympy/core/tests' : 'tests';
    return [
      `diff --git a/${dir}/test_one.py b/${dir}/test_one.py`,
      'index 1111111..2222222 100644',
      `--- a/${dir}/test_one.py`,
      `+++ b/${dir}/test_one.py`,
      '@@ -1,3 +1,3 @@',
      ' import x',
      '--- a/not/a/header.py',
      '+++ b/not/a/header.py',
      ' y = 1',
      `diff --git a/${dir}/data/config.toml b/${dir}/data/config.toml`,
      'new file mode 100644',
      'index 0000000..3333333',
      '--- /dev/null',
      `+++ b/${dir}/data/config.toml`,
      '@@ -0,0 +1 @@',
      '+a = 1',
      `diff --git a/${dir}/fixtures/table.csv b/${dir}/fixtures/table.csv`,
      'index 4444444..5555555 100644',
      `--- a/${dir}/fixtures/table.csv`,
      `+++ b/${dir}/fixtures/table.csv`,
      '@@ -1 +1 @@',
      '-a,b',
      '+a,c',
      `diff --git a/${dir}/test_two.py b/${dir}/test_two.py`,
      'new file mode 100644',
      'index 0000000..6666666',
      '--- /dev/null',
      `+++ b/${dir}/test_two.py`,
      '@@ -0,0 +1,2 @@',
      '+def test_new():',
      '+    assert True',
      `diff --git a/${dir}/snap.json b/${dir}/snap.json`,
      'index 7777777..8888888 100644',
      `--- a/${dir}/snap.json`,
      `+++ b/${dir}/snap.json`,
      '@@ -1 +1 @@',
      '-{}',
      '+{"a": 1}',
      '',
    ].join('\n');
  };

  it('eval scripts and test directives for every version of every repository', () => {
    const instances = EVAL_SPEC_ROWS.flatMap((row) =>
      row.versions.map((version) => ({
        instance_id: `${row.repo.replace('/', '__')}-1`,
        repo: row.repo,
        version,
        base_commit: '0123456789abcdef0123456789abcdef01234567',
        test_patch: testPatch(row.repo),
      })),
    );
    const v4 = harness<{ lines: string[]; directives: string[]; modified: string[] }[]>('v4', {
      op: 'eval_script',
      instances,
    });
    const scripts = v4.map((t) => `#!/bin/bash\nset -uxo pipefail\n${t.lines.join('\n')}\n`);
    const v5 = harness<string[]>('v5', { op: 'eval_script', scripts });
    instances.forEach((inst, i) => {
      const plan = evalPlan({
        repo: inst.repo,
        version: inst.version,
        baseCommit: inst.base_commit,
        testPatch: inst.test_patch,
      });
      same(plan.directives, v4[i]!.directives, inst);
      same(plan.script, v5[i], inst);
    });
  });

  it("an instance's own eval_script is run as 5.0.2 runs it (header, exit-code record)", () => {
    const own = [
      "#!/bin/bash\nset -uxo pipefail\ncd /testbed\n: '>>>>> Start Test Output'\npytest -rA tests/a.py\n: '>>>>> End Test Output'\ngit checkout abc tests/a.py\n",
      'cd /testbed\nmake test\n',
    ];
    const theirs = harness<string[]>('v5', { op: 'eval_script', scripts: own });
    own.forEach((s, i) =>
      same(evalPlan({ repo: 'x/y', baseCommit: 'abc', testPatch: '', evalScript: s }).script, theirs[i], s),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Runs of the official harness (tests/fixtures/swebench-official/README.md): its eval.sh is what
// our table writes for the instance, and its report.json is what our grading makes of its log.

describe('official harness runs are reproduced byte for byte', () => {
  const DIR = path.join(PROJECT_ROOT, 'tests/fixtures/swebench-official');
  const runs = readdirSync(DIR).filter((d) => !d.includes('.'));
  const read = (id: string, f: string) => readFileSync(path.join(DIR, id, f), 'utf8');
  const repoOf = (id: string) => id.replace(/-\d+$/, '').replace('__', '/');

  it('eval.sh: our table gives the same script for the instance (base commit and test_patch from the script)', () => {
    expect(runs.length).toBeGreaterThan(1);
    for (const id of runs) {
      const script = read(id, 'eval.sh');
      const baseCommit = /git checkout ([0-9a-f]{40}) /.exec(script)![1]!;
      const testPatch = /<<'EOF_114329324912'\n([\s\S]*?)\nEOF_114329324912/.exec(script)![1]!;
      const repo = repoOf(id);
      const versions = EVAL_SPEC_ROWS.filter((r) => r.repo === repo).flatMap((r) => r.versions);
      const matching = versions.filter(
        (version) => evalPlan({ repo, version, baseCommit, testPatch }).script === script,
      );
      if (matching.length === 0)
        same(evalPlan({ repo, version: versions[0], baseCommit, testPatch }).script, script, { id });
      expect(matching.length).toBeGreaterThan(0);
    }
    // The datasets' versions of these instances (SWE-bench Lite).
    expect(
      evalPlan({
        repo: 'django/django',
        version: '3.0',
        baseCommit: 'ef082ebb84f00e38af4e8880d04e8365c2766d34',
        testPatch: /<<'EOF_114329324912'\n([\s\S]*?)\nEOF_114329324912/.exec(
          read('django__django-11001', 'eval.sh'),
        )![1]!,
      }).script,
    ).toBe(read('django__django-11001', 'eval.sh'));
  });

  it("report.json: our grading of test_output.txt, and the pinned harness's, equal the official report", () => {
    const graded = runs.filter((id) => existsSync(path.join(DIR, id, 'test_output.txt')));
    expect(graded.length).toBeGreaterThan(1);
    const cases: ReportCase[] = graded.map((id) => {
      const official = JSON.parse(read(id, 'report.json'))[id];
      const lists = (k: 'FAIL_TO_PASS' | 'PASS_TO_PASS') => [
        ...official.tests_status[k].success,
        ...official.tests_status[k].failure,
      ];
      return {
        instance_id: id,
        model_patch: 'diff',
        FAIL_TO_PASS: lists('FAIL_TO_PASS'),
        PASS_TO_PASS: lists('PASS_TO_PASS'),
        log_parser: REPO_PARSER[repoOf(id)]!,
        eval_type: 'pass_and_fail',
        test_output: read(id, 'test_output.txt'),
      };
    });
    cases.forEach((c, i) => same(ours(c).report_json, read(graded[i]!, 'report.json'), { id: graded[i] }));
    compareReports(cases);
  });
});
