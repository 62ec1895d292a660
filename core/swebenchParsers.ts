// The SWE-bench harness's log parsers for its Python repositories, ported from swebench 5.0.2
// (swebench/harness/log_parsers/python.py). They read a test run's output into a map from test id
// to status. The quirks are the harness's and are kept on purpose: the datasets' FAIL_TO_PASS and
// PASS_TO_PASS lists were made with these parsers, so a "better" parser would disagree with them
// (a pytest id keeps only its text up to the first whitespace; a status word is taken as printed).
// Python string semantics that matter are reproduced: str.split() and str.strip() whitespace, \d
// matching any Unicode digit.

/** The harness's TestStatus values, in its enum order (startswith checks run in this order). */
export const TEST_STATUSES = ['FAILED', 'PASSED', 'SKIPPED', 'ERROR', 'XFAIL'] as const;
export type HarnessTestStatus = (typeof TEST_STATUSES)[number];

/**
 * What a parser returns: test id to status. A status is usually one of TEST_STATUSES, but the
 * pytest parsers record whatever word starts the line (e.g. `ERROR:`), as the harness does.
 * Insertion order is kept, as in a Python dict.
 */
export type StatusMap = Map<string, string>;

// Python's str.split()/str.strip() whitespace (str.isspace): wider than \s in places (\x1c-\x1f,
// \x85) and narrower in one (\ufeff is not whitespace to Python).
const PY_WS_CLASS =
  '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_WS_RUN = new RegExp(`[${PY_WS_CLASS}]+`, 'g');
const PY_WS_EDGES = new RegExp(`^[${PY_WS_CLASS}]+|[${PY_WS_CLASS}]+$`, 'g');

/** Python's `s.split()` (no argument). */
export function pySplit(s: string): string[] {
  return s.split(PY_WS_RUN).filter((p) => p !== '');
}

/** Python's `s.strip()` (no argument). */
export function pyStrip(s: string): string {
  return s.replace(PY_WS_EDGES, '');
}

const startsWithStatus = (line: string) => TEST_STATUSES.some((s) => line.startsWith(s));
const endsWithStatus = (line: string) => TEST_STATUSES.some((s) => line.endsWith(s));

/** pytest's `SKIPPED [N] path:line: reason` summary line, where `[N]` is not a test (5.x rule). */
const isSkipSummary = (status: string, name: string) => status === 'SKIPPED' && /^\[\d+\]$/u.test(name);

/** pytest's `STATUS id` result lines as [status, id], the id cut at the first whitespace. */
function* pytestResults(log: string): Generator<[status: string, id: string]> {
  for (let line of log.split('\n')) {
    if (!startsWithStatus(line)) continue;
    if (line.startsWith('FAILED')) line = line.replaceAll(' - ', ' ');
    const parts = pySplit(line);
    if (parts.length <= 1) continue;
    if (isSkipSummary(parts[0]!, parts[1]!)) continue;
    yield [parts[0]!, parts[1]!];
  }
}

/** parse_log_pytest: `STATUS id` lines; the id ends at the first whitespace. */
export function parseLogPytest(log: string): StatusMap {
  const map: StatusMap = new Map();
  for (const [status, id] of pytestResults(log)) map.set(id, status);
  return map;
}

/** parse_log_pytest_options: as pytest, with a parametrization that is a path cut to its last part. */
export function parseLogPytestOptions(log: string): StatusMap {
  const option = /([^\n]*?)\[([^\n]*)\]/u; // Python's `.`: anything but \n
  const map: StatusMap = new Map();
  for (const [status, id] of pytestResults(log)) {
    const m = option.exec(id);
    let name = id;
    if (m) {
      let opt = m[2]!;
      if (opt.startsWith('/') && !opt.startsWith('//') && !opt.includes('*')) opt = `/${opt.split('/').at(-1)!}`;
      name = `${m[1]!}[${opt}]`;
    }
    map.set(name, status);
  }
  return map;
}

/** parse_log_pytest_v2 (astropy, scikit-learn, sphinx): colour codes and control characters dropped. */
export function parseLogPytestV2(log: string): StatusMap {
  const map: StatusMap = new Map();
  for (const raw of log.split('\n')) {
    // eslint-disable-next-line no-control-regex -- the harness deletes every character from \x01 to \x1f.
    const line = raw.replace(/\[(\p{Nd}+)m/gu, '').replace(/[\x01-\x1f]/g, '');
    if (startsWithStatus(line)) {
      const cut = line.startsWith('FAILED') ? line.split(' - ')[0]! : line;
      const parts = pySplit(cut);
      if (parts.length >= 2 && !isSkipSummary(parts[0]!, parts[1]!)) map.set(parts.slice(1).join(' '), parts[0]!);
    } else if (endsWithStatus(line)) {
      // Older pytest prints `id STATUS`.
      const parts = pySplit(line);
      if (parts.length >= 2) map.set(parts.slice(0, -1).join(' '), parts.at(-1)!);
    }
  }
  return map;
}

/** parse_log_matplotlib: pytest's, with MouseButton enum names written as their numbers. */
export const parseLogMatplotlib = (log: string): StatusMap =>
  parseLogPytest(log.replaceAll('MouseButton.LEFT', '1').replaceAll('MouseButton.RIGHT', '3'));

/** parse_log_seaborn: FAILED and PASSED only, in either word order. */
export function parseLogSeaborn(log: string): StatusMap {
  const map: StatusMap = new Map();
  for (const line of log.split('\n')) {
    const parts = pySplit(line);
    if (parts.length < 2) continue;
    if (line.startsWith('FAILED')) map.set(parts[1]!, 'FAILED');
    else if (line.includes(' PASSED ')) {
      if (parts[1] === 'PASSED') map.set(parts[0]!, 'PASSED');
    } else if (line.startsWith('PASSED')) map.set(parts[1]!, 'PASSED');
  }
  return map;
}

/** parse_log_sympy: bin/test's `test_x ok|F|E` lines, and `___ path.py:test_x ___` failure headers. */
export function parseLogSympy(log: string): StatusMap {
  const map: StatusMap = new Map();
  for (const m of log.matchAll(/(_*) ([^\n]*)\.py:([^\n]*) (_*)/g)) map.set(`${m[2]!}.py:${m[3]!}`, 'FAILED');
  for (const raw of log.split('\n')) {
    const line = pyStrip(raw);
    if (!line.startsWith('test_')) continue;
    if (line.endsWith(' E')) map.set(pySplit(line)[0]!, 'ERROR');
    if (line.endsWith(' F')) map.set(pySplit(line)[0]!, 'FAILED');
    if (line.endsWith(' ok')) map.set(pySplit(line)[0]!, 'PASSED');
  }
  return map;
}

/** parse_log_django: unittest's verbose `name ... ok|skipped|FAIL|ERROR` lines and its failure headers. */
export function parseLogDjango(log: string): StatusMap {
  const map: StatusMap = new Map();
  let prevTest: string | undefined;
  for (const raw of log.split('\n')) {
    let line = pyStrip(raw);
    if (line.includes('--version is equivalent to version')) map.set('--version is equivalent to version', 'PASSED');
    if (line.includes(' ... ')) prevTest = line.split(' ... ')[0]!;
    for (const suffix of [' ... ok', ' ... OK', ' ...  OK']) {
      if (!line.endsWith(suffix)) continue;
      // The harness's own fix for django__django-7188, where a migration message shares the line.
      if (pyStrip(line).startsWith('Applying sites.0002_alter_domain_unique...test_no_migrations')) {
        const i = line.indexOf('...');
        line = pyStrip(line.slice(i + 3));
      }
      const at = line.lastIndexOf(suffix); // rsplit(suffix, 1)[0]
      map.set(at < 0 ? line : line.slice(0, at), 'PASSED');
      break;
    }
    if (line.includes(' ... skipped')) map.set(line.split(' ... skipped')[0]!, 'SKIPPED');
    if (line.endsWith(' ... FAIL')) map.set(line.split(' ... FAIL')[0]!, 'FAILED');
    if (line.startsWith('FAIL:')) {
      const name = pySplit(line)[1];
      if (name !== undefined) map.set(pyStrip(name), 'FAILED');
    }
    if (line.endsWith(' ... ERROR')) map.set(line.split(' ... ERROR')[0]!, 'ERROR');
    if (line.startsWith('ERROR:')) {
      const name = pySplit(line)[1];
      if (name !== undefined) map.set(pyStrip(name), 'ERROR');
    }
    if (line.startsWith('ok') && prevTest !== undefined) map.set(prevTest, 'PASSED');
  }
  // Output that Django's logger prints between a test's name and its `ok` (the harness's patterns).
  const patterns = [
    /^([^\n]*?)\s\.\.\.\sTesting against Django installed in ([\s\S]*?) silenced\)\.\nok$/gm,
    /^([^\n]*?)\s\.\.\.\sInternal Server Error: \/([^\n]*)\/\nok$/gm,
    /^([^\n]*?)\s\.\.\.\sSystem check identified no issues \(0 silenced\)\nok$/gm,
  ];
  for (const p of patterns) for (const m of log.matchAll(p)) map.set(m[1]!, 'PASSED');
  return map;
}

/** The harness's parser registry for these repositories, by the names datasets use (`log_parser`). */
export const LOG_PARSERS: Record<string, (log: string) => StatusMap> = {
  parse_log_pytest: parseLogPytest,
  parse_log_pytest_options: parseLogPytestOptions,
  parse_log_django: parseLogDjango,
  parse_log_pytest_v2: parseLogPytestV2,
  parse_log_seaborn: parseLogSeaborn,
  parse_log_sympy: parseLogSympy,
  parse_log_matplotlib: parseLogMatplotlib,
  parse_log_astroid: parseLogPytest,
  parse_log_flask: parseLogPytest,
  parse_log_marshmallow: parseLogPytest,
  parse_log_pvlib: parseLogPytest,
  parse_log_pyvista: parseLogPytest,
  parse_log_sqlfluff: parseLogPytest,
  parse_log_xarray: parseLogPytest,
  parse_log_pydicom: parseLogPytestOptions,
  parse_log_requests: parseLogPytestOptions,
  parse_log_pylint: parseLogPytestOptions,
  parse_log_astropy: parseLogPytestV2,
  parse_log_scikit: parseLogPytestV2,
  parse_log_sphinx: parseLogPytestV2,
};

/** The harness's repository-to-parser map (MAP_REPO_TO_PARSER_PY), as registry names. */
export const REPO_PARSER: Record<string, string> = {
  'astropy/astropy': 'parse_log_astropy',
  'django/django': 'parse_log_django',
  'marshmallow-code/marshmallow': 'parse_log_marshmallow',
  'matplotlib/matplotlib': 'parse_log_matplotlib',
  'mwaskom/seaborn': 'parse_log_seaborn',
  'pallets/flask': 'parse_log_flask',
  'psf/requests': 'parse_log_requests',
  'pvlib/pvlib-python': 'parse_log_pvlib',
  'pydata/xarray': 'parse_log_xarray',
  'pydicom/pydicom': 'parse_log_pydicom',
  'pylint-dev/astroid': 'parse_log_astroid',
  'pylint-dev/pylint': 'parse_log_pylint',
  'pytest-dev/pytest': 'parse_log_pytest',
  'pyvista/pyvista': 'parse_log_pyvista',
  'scikit-learn/scikit-learn': 'parse_log_scikit',
  'sqlfluff/sqlfluff': 'parse_log_sqlfluff',
  'sphinx-doc/sphinx': 'parse_log_sphinx',
  'sympy/sympy': 'parse_log_sympy',
};
