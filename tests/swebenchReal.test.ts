// Real SWE-bench instances end to end on real repositories, in offline images built from Debian
// packages (scripts/swebench-base-image.sh): the instance's test_patch, FAIL_TO_PASS and
// PASS_TO_PASS come from the official harness's own files for it (tests/fixtures/swebench-official),
// the repository either from a local mirror of its history (an environment variable names it; the
// real base_commit, and the gold patch taken from the upstream pull request) or, without one, from
// the release sdist on PyPI whose files the patches touch are identical to base_commit's, committed
// to a local git repository that stands in for base_commit (the instance's base_commit is then that
// commit: said in the test name). Each report.json is also graded by the pinned official harness.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema, type Config } from '../core/config';
import { getEvalReport, pythonJsonDumps } from '../core/grading';
import { containerName, type Task } from '../core/task';
import { loadSwebenchFile } from '../datasets/swebench';
import { PROJECT_ROOT } from '../runtime/config';
import { evaluatePatch, sandboxSpec, swebenchPlan, type Outcome } from '../runtime/evaluate';
import { prepareTaskImage } from '../runtime/images';
import { LABEL, removeSandboxes } from '../runtime/sandbox';

const RUN = `real-test-${process.pid}`;
const OFFICIAL = path.join(PROJECT_ROOT, 'tests/fixtures/swebench-official');
const work = mkdtempSync(path.join(os.tmpdir(), 'agentscale-real-'));
const sh = (cmd: string, args: string[], cwd?: string) =>
  execFileSync(cmd, args, { cwd, stdio: 'pipe', maxBuffer: 256 * 1024 * 1024 }).toString();

interface RealCase {
  id: string;
  repo: string;
  version: string;
  /** Environment variable naming a local git mirror of the repository. */
  mirrorEnv: string;
  /** The upstream pull request's merge commit: the gold patch is its non-test diff. */
  merge: string;
  /** Test directories, left out of the gold patch (they are the test_patch's). */
  testDirs: string[];
  /** Without a mirror: the PyPI release whose tree stands in for base_commit (none: mirror only). */
  sdist?: { name: string; version: string };
  /**
   * Without a mirror, the fix as a later release has it: in `file`, `from` becomes `to` (the
   * release is checked to hold `to` and not `from`). The gold run then uses this patch.
   */
  releaseFix?: { version: string; file: string; from: string; to: string };
  /** Image set-up on top of the base image, run in /testbed. */
  install: string[];
}

// pytest from its own src/ as `pytest` (the harness's images pip-install it; offline, pip cannot).
const PYTEST_INSTALL = [
  // The repository's own pytest, from src/, as `pytest` (the harness's images pip-install it).
  "printf '/testbed/src\\n' > /usr/lib/python3/dist-packages/testbed-src.pth",
  // A git checkout lacks the version file setuptools_scm writes (it is in .gitignore).
  '[ -f src/_pytest/_version.py ] || printf "version = \'4.5.0\'\\n" > src/_pytest/_version.py',
  'printf \'#!/bin/sh\\nexec python -m pytest "$@"\\n\' > /usr/local/bin/pytest && chmod +x /usr/local/bin/pytest',
];

const CASES: RealCase[] = [
  {
    id: 'pytest-dev__pytest-5103',
    repo: 'pytest-dev/pytest',
    version: '4.5',
    mirrorEnv: 'AGENTSCALE_MIRROR_PYTEST',
    merge: '2b9ca342809a4e05b4451a074d644c14acda844c',
    testDirs: ['testing'],
    sdist: { name: 'pytest', version: '4.5.0' },
    install: PYTEST_INSTALL,
  },
  {
    // Django cannot be mirrored here (over 500 MB): its 2.2.1 release has base_commit's
    // tests/expressions/tests.py (the test_patch applies) and not yet the fix.
    id: 'django__django-11001',
    repo: 'django/django',
    version: '3.0',
    mirrorEnv: 'AGENTSCALE_MIRROR_DJANGO',
    merge: '',
    testDirs: ['tests'],
    sdist: { name: 'django', version: '2.2.1' },
    install: ["printf '/testbed\\n' > /usr/lib/python3/dist-packages/testbed.pth"],
  },
  {
    // The 2.2.1 release lacks the fix (3.0 has it) and takes the test_patch; the gold run uses
    // the one changed line as Django 3.0 released it.
    id: 'django__django-11049',
    repo: 'django/django',
    version: '3.0',
    mirrorEnv: 'AGENTSCALE_MIRROR_DJANGO',
    merge: '',
    testDirs: ['tests'],
    sdist: { name: 'django', version: '2.2.1' },
    releaseFix: {
      version: '3.0',
      file: 'django/db/models/fields/__init__.py',
      from: '[DD] [HH:[MM:]]ss[.uuuuuu] format.',
      to: '[DD] [[HH:]MM:]ss[.uuuuuu] format.',
    },
    install: ["printf '/testbed\\n' > /usr/lib/python3/dist-packages/testbed.pth"],
  },
  {
    // A PASS_TO_PASS list with ids cut at their first whitespace, as the datasets have them.
    id: 'pytest-dev__pytest-5221',
    repo: 'pytest-dev/pytest',
    version: '4.5',
    mirrorEnv: 'AGENTSCALE_MIRROR_PYTEST',
    merge: '2051e30b9b596e944524ccb787ed20f9f5be93e3',
    testDirs: ['testing'],
    install: PYTEST_INSTALL,
  },
];

/** The instance as the dataset has it, from the official harness's eval.sh and report.json for it. */
function officialInstance(c: RealCase) {
  const script = readFileSync(path.join(OFFICIAL, c.id, 'eval.sh'), 'utf8');
  const report = JSON.parse(readFileSync(path.join(OFFICIAL, c.id, 'report.json'), 'utf8'))[c.id];
  const all = (k: string) => [...report.tests_status[k].success, ...report.tests_status[k].failure] as string[];
  return {
    instance_id: c.id,
    repo: c.repo,
    version: c.version,
    base_commit: /git checkout ([0-9a-f]{40}) /.exec(script)![1]!,
    test_patch: /<<'EOF_114329324912'\n([\s\S]*?)\nEOF_114329324912/.exec(script)![1]! + '\n',
    FAIL_TO_PASS: JSON.stringify(all('FAIL_TO_PASS')),
    PASS_TO_PASS: JSON.stringify(all('PASS_TO_PASS')),
    problem_statement: '(not needed for grading)',
  };
}

/** A release sdist from PyPI committed to a fresh git repository; returns its folder and commit. */
/** A release's source tree from its PyPI sdist (downloaded once per test file). */
function sdistTree(sdist: { name: string; version: string }): string {
  const dl = path.join(work, `${sdist.name}-${sdist.version}-sdist`);
  const extracted = () => readdirSync(dl).find((f) => !f.endsWith('.tar.gz'));
  if (!existsSync(dl) || !extracted()) {
    mkdirSync(dl, { recursive: true });
    const spec = `${sdist.name}==${sdist.version}`;
    sh('python3', ['-m', 'pip', 'download', '--quiet', '--no-deps', '--no-binary', ':all:', '-d', dl, spec]);
    const archive = readdirSync(dl).find((f) => f.endsWith('.tar.gz'))!;
    sh('tar', ['xzf', path.join(dl, archive), '--no-same-owner', '-C', dl]);
  }
  return path.join(dl, extracted()!);
}

function standIn(c: RealCase, sdist: { name: string; version: string }): { dir: string; commit: string } {
  const tree = sdistTree(sdist);
  const dir = path.join(work, `${c.id}-standin`);
  sh('cp', ['-a', tree, dir]);
  sh('git', ['init', '-q'], dir);
  sh('git', ['add', '-A'], dir);
  sh(
    'git',
    [
      '-c',
      'user.name=agentscale',
      '-c',
      'user.email=tests@agentscale',
      'commit',
      '-qm',
      `${sdist.name} ${sdist.version} sdist`,
    ],
    dir,
  );
  // An empty commit on top stands for base_commit, so the eval script's `git show` prints a
  // commit header, not the whole tree (the official images' HEAD is a similar small commit).
  sh(
    'git',
    [
      '-c',
      'user.name=agentscale',
      '-c',
      'user.email=tests@agentscale',
      'commit',
      '-q',
      '--allow-empty',
      '-m',
      'stand-in for base_commit',
    ],
    dir,
  );
  return { dir, commit: sh('git', ['rev-parse', 'HEAD'], dir).trim() };
}

let baseImage = '';
let harnessPython = '';
beforeAll(() => {
  baseImage = sh('bash', [path.join(PROJECT_ROOT, 'scripts/swebench-base-image.sh')])
    .trim()
    .split('\n')
    .at(-1)!;
  harnessPython = sh('bash', [path.join(PROJECT_ROOT, 'scripts/swebench-harness.sh')])
    .trim()
    .split('\n')
    .at(-1)!;
}, 900_000);
afterAll(async () => {
  await removeSandboxes({ [LABEL.run]: RUN });
  rmSync(work, { recursive: true, force: true });
});

/** The pinned official harness's report for the same output (tests/harness/bridge.py). */
function officialReport(task: Task, patch: string, testOutput: string, logParser: string) {
  const v = task.verifier as Extract<Task['verifier'], { kind: 'swebench' }>;
  const out = execFileSync(harnessPython, [path.join(PROJECT_ROOT, 'tests/harness/bridge.py'), '--v5'], {
    input: JSON.stringify({
      op: 'report',
      cases: [
        {
          instance_id: task.id,
          model_patch: patch,
          FAIL_TO_PASS: v.failToPass,
          PASS_TO_PASS: v.passToPass,
          log_parser: logParser,
          eval_type: 'pass_and_fail',
          test_output: testOutput,
        },
      ],
    }),
    maxBuffer: 256 * 1024 * 1024,
  });
  return (JSON.parse(out.toString()) as { report_json: string }[])[0]!.report_json;
}

async function evaluate(task: Task, config: Config, patch: string, attempt: string) {
  const { image } = await prepareTaskImage(task, config);
  const logDir = mkdtempSync(path.join(work, `${attempt}-`));
  const spec = sandboxSpec(task, config, image, containerName(RUN, task.id, attempt, 1), {
    [LABEL.run]: RUN,
    [LABEL.task]: task.id,
    [LABEL.attempt]: attempt,
  });
  const outcome: Outcome = await evaluatePatch(task, patch, spec, config, logDir);
  const read = (f: string) => readFileSync(path.join(logDir, f), 'utf8');
  return { outcome, logDir, read };
}

for (const c of CASES) {
  const mirror = process.env[c.mirrorEnv];
  const mode = mirror && existsSync(mirror) ? 'mirror' : c.sdist ? 'sdist' : 'none';
  if (mode === 'none') {
    describe.skip(`${c.id} (needs ${c.mirrorEnv}: a git mirror of ${c.repo}; no release tree matches its base_commit)`, () => {
      it('gold and empty patch', () => {});
    });
    continue;
  }
  const sdist = c.sdist!;
  describe(`${c.id} (${mode === 'mirror' ? `real base_commit from ${c.mirrorEnv}` : `base_commit stood in by the ${sdist.name} ${sdist.version} sdist`})`, () => {
    let task: Task;
    let config: Config;
    let gold: string | undefined;
    beforeAll(async () => {
      if (mode === 'sdist')
        console.log(
          `${c.id}: ${c.mirrorEnv} is not set: the ${sdist.name} ${sdist.version} sdist stands in for base_commit; ` +
            (c.releaseFix
              ? `the gold run applies the fix as Django ${c.releaseFix.version} released it`
              : 'the gold patch (from the upstream pull request in a mirror) is not run'),
        );
      const inst: Record<string, unknown> = officialInstance(c);
      let source: string;
      if (mode === 'mirror') {
        source = mirror!;
        const files = sh('git', ['--git-dir', mirror!, 'diff', '--name-only', `${c.merge}^1`, c.merge])
          .split('\n')
          .filter((f) => f && !c.testDirs.some((d) => f.startsWith(`${d}/`)));
        gold = sh('git', ['--git-dir', mirror!, 'diff', `${c.merge}^1`, c.merge, '--', ...files]);
        inst.patch = gold;
      } else {
        const s = standIn(c, sdist);
        source = s.dir;
        inst.base_commit = s.commit;
        const fix = c.releaseFix;
        if (fix) {
          const released = readFileSync(
            path.join(sdistTree({ name: sdist.name, version: fix.version }), fix.file),
            'utf8',
          );
          expect(released.includes(fix.to) && !released.includes(fix.from)).toBe(true);
          const file = path.join(s.dir, fix.file);
          const before = readFileSync(file, 'utf8');
          expect(before.includes(fix.from)).toBe(true);
          writeFileSync(file, before.replace(fix.from, fix.to));
          gold = sh('git', ['diff'], s.dir);
          writeFileSync(file, before);
          inst.patch = gold;
        }
      }
      const file = path.join(work, `${c.id}.jsonl`);
      writeFileSync(file, `${JSON.stringify(inst)}\n`);
      const loaded = await loadSwebenchFile(file);
      expect(loaded.issues).toEqual([]);
      task = loaded.tasks[0]!;
      config = ConfigSchema.parse({
        dataDir: work,
        swebench: {
          recipes: { [c.repo]: { source, baseImage, install: c.install, evalInstall: null } },
        },
      });
    }, 900_000);

    it('empty patch: unresolved, its FAIL_TO_PASS failing, PASS_TO_PASS passing; report equals the official harness grading the same output', async () => {
      const { outcome, read } = await evaluate(task, config, '', 'empty');
      const v = task.verifier as Extract<Task['verifier'], { kind: 'swebench' }>;
      expect(outcome.report).toMatchObject({ patch_exists: false, resolved: false, patch_successfully_applied: true });
      expect(outcome.report?.tests_status?.FAIL_TO_PASS.failure).toEqual(v.failToPass);
      const p2pFailing = outcome.report?.tests_status?.PASS_TO_PASS.failure ?? [];
      if (mode === 'mirror') expect(p2pFailing).toEqual([]);
      else if (p2pFailing.length)
        // A release tree is not base_commit: tests it names differently (Django 2.2 prints a
        // test's docstring in place of its name) are absent from its output.
        console.log(
          `${c.id}: ${p2pFailing.length} PASS_TO_PASS tests not passing on the stand-in tree: ${p2pFailing.slice(0, 3).join('; ')}`,
        );
      expect(outcome.harness).toMatch(/swebench==5\.0\.2/);
      // Graded as a non-empty prediction, the pinned harness gives the same tests_status.
      const theirs = JSON.parse(
        officialReport(task, 'x', read('test_output.txt'), swebenchPlan(task, config).logParser),
      )[task.id];
      expect(theirs.tests_status).toEqual(outcome.report!.tests_status);
      expect(theirs.resolved).toBe(false);
    }, 900_000);

    it.runIf(mode === 'mirror' || !!c.releaseFix)(
      'gold patch: resolved; report.json equals the official harness, and is byte-identical when graded again',
      async () => {
        const first = await evaluate(task, config, gold!, 'gold');
        expect(first.outcome.report).toMatchObject({ patch_exists: true, resolved: true });
        expect(first.read('report.json')).toBe(
          officialReport(task, gold!, first.read('test_output.txt'), swebenchPlan(task, config).logParser),
        );
        // The same prediction graded twice (a fresh container each time): the same bytes.
        const second = await evaluate(task, config, gold!, 'gold-again');
        expect(second.read('report.json')).toBe(first.read('report.json'));
        const v = task.verifier as Extract<Task['verifier'], { kind: 'swebench' }>;
        const regraded = getEvalReport({
          instanceId: task.id,
          modelPatch: gold!,
          failToPass: v.failToPass,
          passToPass: v.passToPass,
          logParser: swebenchPlan(task, config).logParser,
          evalType: 'pass_and_fail',
          testOutput: first.read('test_output.txt'),
        });
        expect(pythonJsonDumps(regraded.report)).toBe(first.read('report.json'));
      },
      900_000,
    );
  });
}
