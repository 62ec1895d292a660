// How the SWE-bench harness evaluates an instance of each repository: one table of data, taken
// from swebench 4.1.0 (harness/constants/python.py MAP_REPO_VERSION_TO_SPECS, test_spec/python.py
// get_test_directives and make_eval_script_list_py), the last version that derives eval scripts
// itself, plus 5.0.2's recording of the test command's exit status. A version the table lacks is
// one row to add; a config recipe (swebench.recipes["owner/repo"]) overrides any field.
// Instances that carry their own eval_script / log_parser / eval_type (newer dataset revisions)
// are run as given, as 5.0.2 does.
import { z } from 'zod';
import { MARKERS, type EvalType } from './grading';
import { LOG_PARSERS, REPO_PARSER } from './swebenchParsers';

/** How test directives come from the test_patch's files (get_test_directives). */
export type DirectiveRule = 'paths' | 'django-modules';

export interface EvalSpec {
  /** specs.test_cmd; the directives are appended, space-separated. */
  testCmd: string;
  /** A registry name in core/swebenchParsers.ts (LOG_PARSERS). */
  logParser: string;
  directives: DirectiveRule;
  /** specs.eval_commands: run first in the eval script (locale exports for old Django). */
  evalCommands: string[];
  /** specs.install: the harness runs it again in the eval script, before the tests. */
  install?: string;
  /** The Python the official image uses (the datasets' test ids depend on it, e.g. Django's). */
  python?: string;
}

// Test commands (constants/python.py; TEST_PYTEST is defined twice there, the second one wins).
const PYTEST = 'pytest -rA';
const ASTROPY_PYTEST = 'pytest -rA -vv -o console_output_style=classic --tb=no';
const DJANGO = './tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1';
const DJANGO_NO_PARALLEL = './tests/runtests.py --verbosity 2';
const SEABORN = 'pytest --no-header -rA';
const SPHINX = 'tox --current-env -epy39 -v --';
const SYMPY = "PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C --verbose";

const DJANGO_OLD_LOCALE = [
  'export LANG=en_US.UTF-8',
  'export LC_ALL=en_US.UTF-8',
  'export PYTHONIOENCODING=utf8',
  'export LANGUAGE=en_US:en',
];
const DJANGO_3_LOCALE = [
  "sed -i '/en_US.UTF-8/s/^# //g' /etc/locale.gen && locale-gen",
  'export LANG=en_US.UTF-8',
  'export LANGUAGE=en_US:en',
  'export LC_ALL=en_US.UTF-8',
];

interface Row {
  repo: string;
  versions: string[];
  spec: Omit<EvalSpec, 'logParser' | 'directives' | 'evalCommands'> & Partial<EvalSpec>;
}

const PIP_E = 'python -m pip install -e .';
const v = (s: string) => s.split(' ');

/** The table: (repository, versions) → what the harness runs. Parser and directive rule per repository. */
export const EVAL_SPEC_ROWS: Row[] = [
  // astropy/astropy
  {
    repo: 'astropy/astropy',
    versions: v('3.0 3.1 3.2 4.1 4.2 4.3 5.0 5.1 5.2'),
    spec: { testCmd: PYTEST, install: 'python -m pip install -e .[test] --verbose', python: '3.9' },
  },
  {
    repo: 'astropy/astropy',
    versions: ['v5.3'],
    spec: { testCmd: PYTEST, install: 'python -m pip install -e .[test] --verbose', python: '3.10' },
  },
  {
    repo: 'astropy/astropy',
    versions: v('0.1 0.2 0.3 0.4 1.1 1.2 1.3'),
    spec: { testCmd: ASTROPY_PYTEST, install: 'python -m pip install -e .[test] --verbose', python: '3.6' },
  },
  // django/django
  {
    repo: 'django/django',
    versions: v('1.7 1.8 1.10 1.11 2.0 2.1 2.2'),
    spec: { testCmd: DJANGO, install: 'python setup.py install', evalCommands: DJANGO_OLD_LOCALE, python: '3.5' },
  },
  {
    repo: 'django/django',
    versions: ['1.9'],
    spec: {
      testCmd: DJANGO_NO_PARALLEL,
      install: 'python setup.py install',
      evalCommands: DJANGO_OLD_LOCALE,
      python: '3.5',
    },
  },
  {
    repo: 'django/django',
    versions: v('1.4 1.5 1.6'),
    spec: { testCmd: DJANGO, install: 'python setup.py install', python: '3.5' },
  },
  {
    repo: 'django/django',
    versions: v('3.0 3.1 3.2'),
    spec: { testCmd: DJANGO, install: PIP_E, evalCommands: DJANGO_3_LOCALE, python: '3.6' },
  },
  { repo: 'django/django', versions: ['4.0'], spec: { testCmd: DJANGO, install: PIP_E, python: '3.8' } },
  { repo: 'django/django', versions: v('4.1 4.2'), spec: { testCmd: DJANGO, install: PIP_E, python: '3.9' } },
  { repo: 'django/django', versions: v('5.0 5.1 5.2'), spec: { testCmd: DJANGO, install: PIP_E, python: '3.11' } },
  // pallets/flask
  { repo: 'pallets/flask', versions: ['2.0'], spec: { testCmd: PYTEST, install: PIP_E, python: '3.9' } },
  { repo: 'pallets/flask', versions: ['2.1'], spec: { testCmd: PYTEST, install: PIP_E, python: '3.10' } },
  { repo: 'pallets/flask', versions: v('2.2 2.3 3.0 3.1'), spec: { testCmd: PYTEST, install: PIP_E, python: '3.11' } },
  // matplotlib/matplotlib
  {
    repo: 'matplotlib/matplotlib',
    versions: v('3.5 3.6 3.7'),
    spec: { testCmd: PYTEST, install: PIP_E, python: '3.11' },
  },
  {
    repo: 'matplotlib/matplotlib',
    versions: v('3.8 3.9'),
    spec: { testCmd: PYTEST, install: 'python -m pip install --no-build-isolation -e ".[dev]"', python: '3.11' },
  },
  {
    repo: 'matplotlib/matplotlib',
    versions: v('3.1 3.2 3.3 3.4'),
    spec: { testCmd: PYTEST, install: PIP_E, python: '3.8' },
  },
  { repo: 'matplotlib/matplotlib', versions: ['3.0'], spec: { testCmd: PYTEST, install: PIP_E, python: '3.7' } },
  {
    repo: 'matplotlib/matplotlib',
    versions: v('2.0 2.1 2.2 1.0 1.1 1.2 1.3 1.4 1.5'),
    spec: { testCmd: PYTEST, install: 'python setup.py build; python setup.py install', python: '3.5' },
  },
  // pylint-dev/pylint
  {
    repo: 'pylint-dev/pylint',
    versions: v('2.10 2.11 2.13 2.14 2.15 2.16 2.17 2.8 2.9 3.0 3.1 3.2 3.3 4.0'),
    spec: { testCmd: PYTEST, install: PIP_E, python: '3.9' },
  },
  // pytest-dev/pytest
  {
    repo: 'pytest-dev/pytest',
    versions: v('4.4 4.5 4.6 5.0 5.1 5.2 5.3 5.4 6.0 6.2 6.3 7.0 7.1 7.2 7.4 8.0 8.1 8.2 8.3 8.4'),
    spec: { testCmd: PYTEST, install: PIP_E, python: '3.9' },
  },
  // psf/requests
  {
    repo: 'psf/requests',
    versions: v(
      '0.7 0.8 0.9 0.11 0.13 0.14 1.1 1.2 2.0 2.2 2.3 2.4 2.5 2.7 2.8 2.9 2.10 2.11 2.12 2.17 2.18 2.19 2.22 2.26 2.25 2.27 2.31 3.0',
    ),
    spec: { testCmd: PYTEST, install: 'python -m pip install .', python: '3.9' },
  },
  // scikit-learn/scikit-learn
  {
    repo: 'scikit-learn/scikit-learn',
    versions: v('0.20 0.21 0.22'),
    spec: {
      testCmd: PYTEST,
      install: 'python -m pip install -v --no-use-pep517 --no-build-isolation -e .',
      python: '3.6',
    },
  },
  {
    repo: 'scikit-learn/scikit-learn',
    versions: v('1.3 1.4 1.5 1.6'),
    spec: {
      testCmd: PYTEST,
      install: 'python -m pip install -v --no-use-pep517 --no-build-isolation -e .',
      python: '3.9',
    },
  },
  // mwaskom/seaborn
  { repo: 'mwaskom/seaborn', versions: ['0.11'], spec: { testCmd: SEABORN, install: PIP_E, python: '3.9' } },
  {
    repo: 'mwaskom/seaborn',
    versions: v('0.12 0.13 0.14'),
    spec: { testCmd: SEABORN, install: 'python -m pip install -e .[dev]', python: '3.9' },
  },
  // sphinx-doc/sphinx
  {
    repo: 'sphinx-doc/sphinx',
    versions: v(
      '1.5 1.6 1.7 1.8 2.0 2.1 2.2 2.3 2.4 3.0 3.1 3.2 3.3 3.4 3.5 4.0 4.1 4.2 4.3 4.4 4.5 5.0 5.1 5.2 5.3 6.0 6.2 7.0 7.1 7.2 7.3 7.4',
    ),
    spec: { testCmd: SPHINX, install: 'python -m pip install -e .[test]', python: '3.9' },
  },
  {
    repo: 'sphinx-doc/sphinx',
    versions: v('8.0 8.1'),
    spec: { testCmd: SPHINX, install: 'python -m pip install -e .[test]', python: '3.10' },
  },
  // sympy/sympy
  {
    repo: 'sympy/sympy',
    versions: v('0.7 1.0 1.1 1.10 1.11 1.12 1.2 1.4 1.5 1.6 1.7 1.8 1.9 1.13 1.14'),
    spec: { testCmd: SYMPY, install: PIP_E, python: '3.9' },
  },
  // pydata/xarray
  {
    repo: 'pydata/xarray',
    versions: v('0.12 0.18 0.19 0.20 2022.03 2022.06 2022.09 2023.07 2024.05'),
    spec: { testCmd: PYTEST, install: PIP_E, python: '3.10' },
  },
];

/** The twelve repositories of SWE-bench Lite and Verified. */
export const SWEBENCH_REPOS = [...new Set(EVAL_SPEC_ROWS.map((r) => r.repo))];

/** A repository the table does not know (a user's own instances): the harness's plain pytest spec. */
export const DEFAULT_EVAL_SPEC: EvalSpec = {
  testCmd: PYTEST,
  logParser: 'parse_log_pytest',
  directives: 'paths',
  evalCommands: [],
};

/**
 * A config recipe: how to build an instance image offline (source, baseImage, install) and, when
 * set, any evaluation field to use instead of the table's.
 */
export const SwebenchRecipeSchema = z.object({
  /** A local git repository (folder or bundle file) holding the project's history. */
  source: z.string(),
  /** Image the repository is installed into. */
  baseImage: z.string().default('agentscale/base:bookworm'),
  /** Shell commands run in /testbed at base_commit while building the image. */
  install: z.array(z.string()).default([]),
  /** Test command; the directives are appended (or replace `{tests}` where it appears). */
  testCmd: z.string().optional(),
  /** A harness log parser name (parse_log_pytest, parse_log_django, ...; `pytest` means parse_log_pytest). */
  logParser: z
    .string()
    .transform((n) => (n.startsWith('parse_log_') ? n : `parse_log_${n}`))
    .refine((n) => n in LOG_PARSERS, {
      message: `not a log parser agentscale has (${Object.keys(LOG_PARSERS).join(', ')})`,
    })
    .optional(),
  directives: z.enum(['paths', 'django-modules']).optional(),
  evalCommands: z.array(z.string()).optional(),
  /** The install step the eval script repeats before the tests; null drops it (offline images). */
  evalInstall: z.string().nullable().optional(),
  evalType: z.enum(['pass_and_fail', 'fail_only']).optional(),
});
export type SwebenchRecipe = z.infer<typeof SwebenchRecipeSchema>;

/** The table's spec for (repo, version); undefined for a known repository's unknown version. */
export function tableSpec(repo: string, version: string | undefined): EvalSpec | undefined {
  const rows = EVAL_SPEC_ROWS.filter((r) => r.repo === repo);
  if (rows.length === 0) return DEFAULT_EVAL_SPEC;
  const row = rows.find((r) => version !== undefined && r.versions.includes(version));
  if (!row) return undefined;
  return {
    logParser: REPO_PARSER[repo] ?? 'parse_log_pytest',
    directives: repo === 'django/django' ? 'django-modules' : 'paths',
    evalCommands: [],
    ...row.spec,
  };
}

// constants NON_TEST_EXTS: "csv" has no dot in the harness, so any name ending in csv is dropped.
const NON_TEST_EXTS = ['.json', '.png', 'csv', '.txt', '.md', '.jpg', '.jpeg', '.pkl', '.yml', '.yaml', '.toml'];

/** get_test_directives: the test_patch's files, non-test files dropped, Django's as module names. */
export function testDirectives(testPatch: string, rule: DirectiveRule): string[] {
  const files = [...testPatch.matchAll(/diff --git a\/[^\n]* b\/([^\n]*)/g)].map((m) => m[1]!);
  const tests = files.filter((f) => !NON_TEST_EXTS.some((e) => f.endsWith(e)));
  if (rule === 'paths') return tests;
  return tests.map((d) => {
    let s = d.endsWith('.py') ? d.slice(0, -3) : d;
    if (s.startsWith('tests/')) s = s.slice('tests/'.length);
    return s.replaceAll('/', '.');
  });
}

/**
 * get_modified_files: the files a patch changes that existed before it (unidiff's source files
 * other than /dev/null, without their `a/`). Hunk lengths are followed so that a removed line
 * reading `-- x` is never taken for a file header.
 */
export function modifiedFiles(patch: string): string[] {
  const lines = patch.split('\n');
  const out: string[] = [];
  let oldLeft = 0;
  let newLeft = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (oldLeft > 0 || newLeft > 0) {
      if (line.startsWith('\\')) continue; // "\ No newline at end of file"
      const c = line[0] ?? ' ';
      if (c === '-') oldLeft--;
      else if (c === '+') newLeft--;
      else {
        oldLeft--;
        newLeft--;
      }
      continue;
    }
    const hunk = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(line);
    if (hunk) {
      oldLeft = hunk[1] === undefined ? 1 : Number(hunk[1]);
      newLeft = hunk[2] === undefined ? 1 : Number(hunk[2]);
      continue;
    }
    if (line.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ')) {
      const source = line.slice(4).split('\t')[0]!;
      if (source !== '/dev/null' && source.startsWith('a/')) out.push(source.slice(2));
      i++;
    }
  }
  return out;
}

/** The eval script's header (TestSpec.eval_script). */
function withHeader(lines: string[]): string {
  return `${['#!/bin/bash', 'set -uxo pipefail', ...lines].join('\n')}\n`;
}

/** 5.0.2 record_test_exit_code: the test command's status, echoed after the end marker. */
export function recordTestExitCode(lines: string[]): string[] {
  const i = lines.findIndex((l) => l.includes(MARKERS.endTestOutput));
  if (i < 0) return lines;
  return [
    ...lines.slice(0, i),
    `${MARKERS.testExitCodeVar}=$?`,
    lines[i]!,
    `echo "${MARKERS.testExitCode}: $${MARKERS.testExitCodeVar}"`,
    ...lines.slice(i + 1),
  ];
}

/** 5.0.2 parse_eval_script: a dataset's eval_script without its shebang and `set` line. */
export function parseEvalScript(script: string): string[] {
  return script
    .trim()
    .split('\n')
    .filter((l) => l !== '#!/bin/bash' && l !== 'set -uxo pipefail');
}

export interface InstanceForEval {
  repo: string;
  version?: string;
  baseCommit: string;
  testPatch: string;
  /** Newer dataset revisions: the instance's own script, parser and grading mode. */
  evalScript?: string;
  logParser?: string;
  evalType?: EvalType;
}

export interface EvalPlan {
  script: string;
  logParser: string;
  evalType: EvalType;
  /** Where the plan came from, for the grading record. */
  source: 'instance' | 'table' | 'default' | 'recipe';
  testCmd?: string;
  directives?: string[];
}

/** The harness's FAIL_ONLY_REPOS are JavaScript repositories; every Python one is pass_and_fail. */
const DEFAULT_EVAL_TYPE: EvalType = 'pass_and_fail';

/**
 * The eval script and grading settings for an instance: its own when it carries them, else the
 * table's spec (with the recipe's overrides) turned into make_eval_script_list_py's script.
 */
export function evalPlan(inst: InstanceForEval, recipe?: SwebenchRecipe): EvalPlan {
  if (inst.evalScript) {
    return {
      script: withHeader(recordTestExitCode(parseEvalScript(inst.evalScript))),
      logParser: recipe?.logParser ?? inst.logParser ?? REPO_PARSER[inst.repo] ?? 'parse_log_pytest',
      evalType: recipe?.evalType ?? inst.evalType ?? DEFAULT_EVAL_TYPE,
      source: 'instance',
    };
  }
  const base = tableSpec(inst.repo, inst.version);
  if (!base && !recipe?.testCmd)
    throw new Error(
      `no evaluation spec for ${inst.repo} version ${JSON.stringify(inst.version ?? null)}: add a row to ` +
        `core/swebenchSpecs.ts, or set swebench.recipes["${inst.repo}"].testCmd in the config`,
    );
  const spec: EvalSpec = {
    ...(base ?? DEFAULT_EVAL_SPEC),
    ...(recipe?.testCmd !== undefined && { testCmd: recipe.testCmd }),
    ...(recipe?.logParser !== undefined && { logParser: recipe.logParser }),
    ...(recipe?.directives !== undefined && { directives: recipe.directives }),
    ...(recipe?.evalCommands !== undefined && { evalCommands: recipe.evalCommands }),
  };
  if (recipe?.evalInstall !== undefined) spec.install = recipe.evalInstall ?? undefined;
  const overridden =
    recipe &&
    [recipe.testCmd, recipe.logParser, recipe.directives, recipe.evalCommands, recipe.evalInstall].some(
      (x) => x !== undefined,
    );
  const directives = testDirectives(inst.testPatch, spec.directives);
  const testCommand = spec.testCmd.includes('{tests}')
    ? spec.testCmd.replace('{tests}', directives.join(' '))
    : [spec.testCmd, ...directives].join(' ');
  const reset = `git checkout ${inst.baseCommit} ${modifiedFiles(inst.testPatch).join(' ')}`;
  const HEREDOC = 'EOF_114329324912';
  const repoDir = '/testbed';
  const lines = [
    'source /opt/miniconda3/bin/activate',
    'conda activate testbed',
    `cd ${repoDir}`,
    ...spec.evalCommands,
    `git config --global --add safe.directory ${repoDir}`,
    `cd ${repoDir}`,
    'git status',
    'git show',
    `git -c core.fileMode=false diff ${inst.baseCommit}`,
    'source /opt/miniconda3/bin/activate',
    'conda activate testbed',
    ...(spec.install ? [spec.install] : []),
    reset,
    `git apply -v - <<'${HEREDOC}'\n${inst.testPatch}\n${HEREDOC}`,
    `: '${MARKERS.startTestOutput}'`,
    testCommand,
    `: '${MARKERS.endTestOutput}'`,
    reset,
  ];
  return {
    script: withHeader(recordTestExitCode(lines)),
    logParser: spec.logParser,
    evalType: recipe?.evalType ?? DEFAULT_EVAL_TYPE,
    source: overridden ? 'recipe' : base === DEFAULT_EVAL_SPEC || !base ? 'default' : 'table',
    testCmd: testCommand,
    directives,
  };
}
