// Real SWE-bench instances end to end on real repositories, in offline images built from Debian
// packages (scripts/swebench-base-image.sh), each report.json also graded by the pinned official
// harness. Two sources of instances:
// - tests/fixtures/swebench-instances/instances.jsonl: instances as the dataset has them (pytest,
//   SymPy, Sphinx), their test_patch and FAIL_TO_PASS / PASS_TO_PASS from official harness runs,
//   the gold patch from the upstream pull request (README there). The repository comes from a local
//   mirror an environment variable names (the real base_commit), or, for two pytest instances in
//   CI, from a shallow git bundle of their base commits committed beside it (the same commits, 1.1 MB).
// - Django, which cannot be mirrored here (over 500 MB): the release sdist on PyPI whose files the
//   patches touch are identical to base_commit's, committed to a local git repository that stands
//   in for base_commit (said in the test name); its instance from tests/fixtures/swebench-official.
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

/** Django: the instance from an official run, the repository from a release sdist. */
interface SdistCase {
  id: string;
  version: string;
  /** The PyPI release whose tree stands in for base_commit. */
  sdist: { name: string; version: string };
  /**
   * The fix as a later release has it: in each `file`, `from` becomes `to` (the release is checked
   * to hold `to` and not `from`). The gold run then uses this patch; without it, only the empty patch.
   */
  releaseFix?: { version: string; edits: { file: string; from: string; to: string }[] };
}

/** How a repository of instances.jsonl is brought in and set up. */
interface RepoSetup {
  /** Environment variable naming a local git mirror of the repository (the real base_commit). */
  mirrorEnv: string;
  /** A shallow bundle of some instances' base commits, used without a mirror (CI). */
  bundle?: string;
  /** Image set-up on top of the base image, run in /testbed. */
  install: string[];
  /** A base image other than the default: its name and the extra Debian packages it adds. */
  baseImage?: [string, string];
}

const INSTANCES = path.join(PROJECT_ROOT, 'tests/fixtures/swebench-instances');

// pytest from its own src/ as `pytest` (the harness's images pip-install it; offline, pip cannot).
const PYTEST_INSTALL = [
  "printf '/testbed/src\\n' > /usr/lib/python3/dist-packages/testbed-src.pth",
  // A git checkout lacks the version file setuptools_scm writes (it is in .gitignore); the
  // release the checkout follows, from the changelog, is what an install would report.
  'v=$(cat CHANGELOG.rst doc/en/changelog.rst 2>/dev/null | grep -m1 -oE "^pytest [0-9]+[.][0-9]+[.][0-9]+" | cut -d" " -f2); [ -f src/_pytest/_version.py ] || printf "version = \'%s\'\\n" "${v:-0.0}" > src/_pytest/_version.py',
  'printf \'#!/bin/sh\\nexec python -m pytest "$@"\\n\' > /usr/local/bin/pytest && chmod +x /usr/local/bin/pytest',
];

// Sphinx runs its tests through `tox --current-env -epy39 -v -- FILES` (tox-current-env, which
// Debian does not package): offline, a `tox` that runs [testenv]'s pytest command in this
// environment with FILES for {posargs}, as that plugin does. The harness's images run its sed on
// tox.ini (pytest -> pytest -rA) before the eval script; so does this recipe.
const TOX_SHIM = [
  '#!/bin/sh',
  '# agentscale: tox --current-env ... -- ARGS runs [testenv] pytest command here, ARGS for {posargs}',
  'while [ $# -gt 0 ]; do a=$1; shift; [ "$a" = "--" ] && break; done',
  "cmd=$(sed -n '/^\\[testenv\\]/,/^\\[testenv:/p' tox.ini | grep -m1 -E '^[[:space:]]+(python .*)?pytest ' | sed -E 's/^[[:space:]]+//; s/[{]posargs[}]//; s/^pytest /python -m pytest /')",
  'echo "tox (agentscale offline): $cmd $*"',
  'exec sh -c "$cmd \\"\\$@\\"" tox "$@"',
];
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

const REPOS: Record<string, RepoSetup> = {
  'pytest-dev/pytest': {
    mirrorEnv: 'AGENTSCALE_MIRROR_PYTEST',
    bundle: path.join(INSTANCES, 'pytest-bases.bundle'),
    install: PYTEST_INSTALL,
  },
  // Debian's Sphinx brings the dependencies; its own copy is removed so /testbed's is imported.
  'sphinx-doc/sphinx': {
    mirrorEnv: 'AGENTSCALE_MIRROR_SPHINX',
    install: [
      'rm -rf /usr/lib/python3/dist-packages/sphinx /usr/lib/python3/dist-packages/Sphinx-*',
      "printf '/testbed\\n' > /usr/lib/python3/dist-packages/testbed.pth",
      "sed -i 's/pytest/pytest -rA/' tox.ini",
      `printf '%s\\n' ${TOX_SHIM.map(shellQuote).join(' ')} > /usr/local/bin/tox && chmod +x /usr/local/bin/tox`,
    ],
    baseImage: ['agentscale/swebench-py39-sphinx:bullseye', 'python3-sphinx,python3-pytest,python3-html5lib'],
  },
  // bin/test needs `python` (python-is-python3 in the base image) and mpmath (python3-mpmath).
  'sympy/sympy': {
    mirrorEnv: 'AGENTSCALE_MIRROR_SYMPY',
    install: ["printf '/testbed\\n' > /usr/lib/python3/dist-packages/testbed.pth"],
  },
};

const DJANGO_INSTALL = ["printf '/testbed\\n' > /usr/lib/python3/dist-packages/testbed.pth"];

const DJANGO_CASES: SdistCase[] = [
  {
    // Its 2.2.1 release has base_commit's tests/expressions/tests.py (the test_patch applies) and
    // not yet the fix.
    id: 'django__django-11001',
    version: '3.0',
    sdist: { name: 'django', version: '2.2.1' },
  },
  {
    // The 2.2.1 release lacks the fix (3.0 has it) and takes the test_patch; the gold run uses
    // the one changed line as Django 3.0 released it.
    id: 'django__django-11049',
    version: '3.0',
    sdist: { name: 'django', version: '2.2.1' },
    releaseFix: {
      version: '3.0',
      edits: [
        {
          file: 'django/db/models/fields/__init__.py',
          from: '[DD] [HH:[MM:]]ss[.uuuuuu] format.',
          to: '[DD] [[HH:]MM:]ss[.uuuuuu] format.',
        },
      ],
    },
  },
  {
    // 2.2.1's tests/urlpatterns/test_resolvers.py takes the test_patch and has both PASS_TO_PASS
    // tests; the fix (get_resolver's cache keyed on the resolved urlconf) is in 3.0.
    id: 'django__django-11333',
    version: '3.0',
    sdist: { name: 'django', version: '2.2.1' },
    releaseFix: {
      version: '3.0',
      edits: [
        {
          file: 'django/urls/resolvers.py',
          from: "@functools.lru_cache(maxsize=None)\ndef get_resolver(urlconf=None):\n    if urlconf is None:\n        urlconf = settings.ROOT_URLCONF\n    return URLResolver(RegexPattern(r'^/'), urlconf)\n",
          to: "def get_resolver(urlconf=None):\n    if urlconf is None:\n        urlconf = settings.ROOT_URLCONF\n    return _get_cached_resolver(urlconf)\n\n\n@functools.lru_cache(maxsize=None)\ndef _get_cached_resolver(urlconf=None):\n    return URLResolver(RegexPattern(r'^/'), urlconf)\n",
        },
        {
          file: 'django/urls/base.py',
          from: 'from .resolvers import get_ns_resolver, get_resolver\n',
          to: 'from .resolvers import _get_cached_resolver, get_ns_resolver, get_resolver\n',
        },
        {
          file: 'django/urls/base.py',
          from: '    get_resolver.cache_clear()\n',
          to: '    _get_cached_resolver.cache_clear()\n',
        },
      ],
    },
  },
];

/**
 * The instance as the dataset has it: from the official harness's eval.sh and report.json for it
 * (tests/fixtures/swebench-official), or from tests/fixtures/swebench-instances/django.jsonl.
 */
function officialInstance(c: SdistCase): Record<string, unknown> {
  if (!existsSync(path.join(OFFICIAL, c.id))) {
    const rows = readFileSync(path.join(INSTANCES, 'django.jsonl'), 'utf8').split('\n').filter(Boolean);
    return rows.map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r.instance_id === c.id)!;
  }
  const script = readFileSync(path.join(OFFICIAL, c.id, 'eval.sh'), 'utf8');
  const report = JSON.parse(readFileSync(path.join(OFFICIAL, c.id, 'report.json'), 'utf8'))[c.id];
  const all = (k: string) => [...report.tests_status[k].success, ...report.tests_status[k].failure] as string[];
  return {
    instance_id: c.id,
    repo: 'django/django',
    version: c.version,
    base_commit: /git checkout ([0-9a-f]{40}) /.exec(script)![1]!,
    test_patch: /<<'EOF_114329324912'\n([\s\S]*?)\nEOF_114329324912/.exec(script)![1]! + '\n',
    FAIL_TO_PASS: JSON.stringify(all('FAIL_TO_PASS')),
    PASS_TO_PASS: JSON.stringify(all('PASS_TO_PASS')),
    problem_statement: '(not needed for grading)',
  };
}

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

/** A release sdist from PyPI committed to a fresh git repository; returns its folder and commit. */
// One stand-in repository per release, shared by the instances that use it (each image clones it).
const standIns = new Map<string, { dir: string; commit: string }>();
function standIn(sdist: { name: string; version: string }): { dir: string; commit: string } {
  const key = `${sdist.name}-${sdist.version}`;
  const made = standIns.get(key);
  if (made) return made;
  const tree = sdistTree(sdist);
  const dir = path.join(work, `${key}-standin`);
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
  const repo = { dir, commit: sh('git', ['rev-parse', 'HEAD'], dir).trim() };
  standIns.set(key, repo);
  return repo;
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

/** An instance's report: the evaluation's verdict and how long it took, printed for the record. */
async function timed(task: Task, config: Config, patch: string, attempt: string) {
  const t0 = Date.now();
  const r = await evaluate(task, config, patch, attempt);
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  console.log(
    `${task.id} [${attempt}]: resolved=${String(r.outcome.report?.resolved)} in ${seconds} s (report.json: ${path.join(r.logDir, 'report.json')})`,
  );
  return r;
}

function swebenchVerifier(task: Task) {
  return task.verifier as Extract<Task['verifier'], { kind: 'swebench' }>;
}

/**
 * The empty patch: unresolved (for the harness, an empty patch is never resolved), FAIL_TO_PASS
 * failing; the pinned harness, grading the same output as a non-empty prediction, gives the same
 * tests_status. Returns the PASS_TO_PASS tests that did not pass.
 */
async function checkEmpty(task: Task, config: Config) {
  const { outcome, read } = await timed(task, config, '', 'empty');
  const v = swebenchVerifier(task);
  expect(outcome.report).toMatchObject({ patch_exists: false, resolved: false, patch_successfully_applied: true });
  expect(outcome.report?.tests_status?.FAIL_TO_PASS.failure).toEqual(v.failToPass);
  expect(outcome.harness).toMatch(/swebench==5\.0\.2/);
  const theirs = JSON.parse(officialReport(task, 'x', read('test_output.txt'), swebenchPlan(task, config).logParser))[
    task.id
  ];
  expect(theirs.tests_status).toEqual(outcome.report!.tests_status);
  expect(theirs.resolved).toBe(false);
  return outcome.report?.tests_status?.PASS_TO_PASS.failure ?? [];
}

/**
 * The gold patch: resolved, as the official harness decides for it (the datasets keep only
 * instances whose gold patch resolves); report.json byte-equal to the pinned harness's for the same
 * output, and to our own grading of it again. With `again`, a second run in a fresh container gives
 * the same bytes.
 */
async function checkGold(task: Task, config: Config, gold: string, again: boolean) {
  const first = await timed(task, config, gold, 'gold');
  const status = first.outcome.report?.tests_status;
  if (!first.outcome.report?.resolved)
    console.log(
      `${task.id}: gold unresolved; FAIL_TO_PASS failing: ${JSON.stringify(status?.FAIL_TO_PASS.failure)}; PASS_TO_PASS failing: ${JSON.stringify(status?.PASS_TO_PASS.failure)}`,
    );
  expect(first.outcome.report).toMatchObject({ patch_exists: true, resolved: true });
  expect(first.read('report.json')).toBe(
    officialReport(task, gold, first.read('test_output.txt'), swebenchPlan(task, config).logParser),
  );
  const v = swebenchVerifier(task);
  const regraded = getEvalReport({
    instanceId: task.id,
    modelPatch: gold,
    failToPass: v.failToPass,
    passToPass: v.passToPass,
    logParser: swebenchPlan(task, config).logParser,
    evalType: 'pass_and_fail',
    testOutput: first.read('test_output.txt'),
  });
  expect(pythonJsonDumps(regraded.report)).toBe(first.read('report.json'));
  if (again) {
    const second = await timed(task, config, gold, 'gold-again');
    expect(second.read('report.json')).toBe(first.read('report.json'));
  }
}

async function loadTask(
  inst: Record<string, unknown>,
  repo: string,
  source: string,
  install: string[],
  image = baseImage,
) {
  const file = path.join(work, `${String(inst.instance_id)}.jsonl`);
  writeFileSync(file, `${JSON.stringify(inst)}\n`);
  const loaded = await loadSwebenchFile(file);
  expect(loaded.issues).toEqual([]);
  const config = ConfigSchema.parse({
    dataDir: work,
    swebench: { recipes: { [repo]: { source, baseImage: image, install, evalInstall: null } } },
  });
  return { task: loaded.tasks[0]!, config };
}

// ---------------------------------------------------------------------------------------------
// instances.jsonl: the real base_commit from a mirror, or from the committed shallow bundle.

const rows = readFileSync(path.join(INSTANCES, 'instances.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Record<string, unknown> & { instance_id: string; repo: string; base_commit: string });
const bundleHeads = (bundle: string) =>
  existsSync(bundle)
    ? new Set(
        sh('git', ['bundle', 'list-heads', bundle])
          .split('\n')
          .map((l) => l.split(' ')[0]),
      )
    : new Set<string>();
const firstOfRepo = new Set(rows.map((r) => rows.find((o) => o.repo === r.repo)!.instance_id));

for (const inst of rows) {
  const setup = REPOS[inst.repo]!;
  const mirror = process.env[setup.mirrorEnv];
  const source =
    mirror && existsSync(mirror)
      ? mirror
      : setup.bundle && bundleHeads(setup.bundle).has(inst.base_commit)
        ? setup.bundle
        : undefined;
  if (!source) {
    describe.skip(`${inst.instance_id} (needs ${setup.mirrorEnv}: a git mirror of ${inst.repo})`, () => {
      it('gold and empty patch', () => {});
    });
    console.log(`${inst.instance_id}: skipped: ${setup.mirrorEnv} does not name a git mirror of ${inst.repo}`);
    continue;
  }
  const from = source === mirror ? setup.mirrorEnv : path.relative(PROJECT_ROOT, source);
  describe(`${inst.instance_id} (real base_commit from ${from})`, () => {
    let task: Task;
    let config: Config;
    beforeAll(async () => {
      const image = setup.baseImage
        ? sh('bash', [path.join(PROJECT_ROOT, 'scripts/swebench-base-image.sh'), ...setup.baseImage])
            .trim()
            .split('\n')
            .at(-1)!
        : baseImage;
      ({ task, config } = await loadTask(inst, inst.repo, source, setup.install, image));
    }, 900_000);

    it('empty patch: unresolved, FAIL_TO_PASS failing and PASS_TO_PASS passing; report equals the official harness grading the same output', async () => {
      expect(await checkEmpty(task, config)).toEqual([]);
    }, 900_000);

    it('gold patch: resolved; report.json equals the official harness, and is byte-identical when graded again', async () => {
      await checkGold(task, config, inst.patch as string, firstOfRepo.has(inst.instance_id));
    }, 900_000);
  });
}

// ---------------------------------------------------------------------------------------------
// Django from release sdists standing in for base_commit.

for (const c of DJANGO_CASES) {
  const sdist = c.sdist;
  describe(`${c.id} (base_commit stood in by the ${sdist.name} ${sdist.version} sdist)`, () => {
    let task: Task;
    let config: Config;
    let gold: string | undefined;
    beforeAll(async () => {
      console.log(
        `${c.id}: Django cannot be mirrored here: the ${sdist.name} ${sdist.version} sdist stands in for base_commit; ` +
          (c.releaseFix
            ? `the gold run applies the fix as Django ${c.releaseFix.version} released it`
            : 'no release holds the fix alone, so the gold patch is not run'),
      );
      const inst = officialInstance(c);
      const s = standIn(sdist);
      inst.base_commit = s.commit;
      const fix = c.releaseFix;
      if (fix) {
        const release = sdistTree({ name: sdist.name, version: fix.version });
        for (const edit of fix.edits) {
          const released = readFileSync(path.join(release, edit.file), 'utf8');
          expect(released.includes(edit.to) && !released.includes(edit.from)).toBe(true);
          const file = path.join(s.dir, edit.file);
          const before = readFileSync(file, 'utf8');
          expect(before.includes(edit.from)).toBe(true);
          writeFileSync(file, before.replace(edit.from, edit.to));
        }
        gold = sh('git', ['diff'], s.dir);
        sh('git', ['checkout', '--', '.'], s.dir);
        inst.patch = gold;
      }
      ({ task, config } = await loadTask(inst, 'django/django', s.dir, DJANGO_INSTALL));
    }, 900_000);

    it('empty patch: unresolved, its FAIL_TO_PASS failing; report equals the official harness grading the same output', async () => {
      const p2pFailing = await checkEmpty(task, config);
      // A release tree is not base_commit: tests it names differently (Django 2.2 prints a test's
      // docstring in place of its name) are absent from its output.
      if (p2pFailing.length)
        console.log(
          `${c.id}: ${p2pFailing.length} PASS_TO_PASS tests not passing on the stand-in tree: ${p2pFailing.slice(0, 3).join('; ')}`,
        );
    }, 900_000);

    it.runIf(!!c.releaseFix)(
      'gold patch: resolved; report.json equals the official harness, and is byte-identical when graded again',
      async () => {
        // A second run in a fresh container for the first of them only (CI time).
        await checkGold(task, config, gold!, c === DJANGO_CASES.find((d) => d.releaseFix));
      },
      900_000,
    );
  });
}
