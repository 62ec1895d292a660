// SWE-bench instances as the datasets ship them: the published parquet files (written here with
// hyparquet-writer in the datasets' column layout: strings, FAIL_TO_PASS JSON-encoded) load to
// the same tasks as the JSONL; newer revisions' eval_script / log_parser / eval_type / image are
// kept; --instances and --filter select.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from '../core/task';
import { loadDatasets, selectTasks } from '../datasets/index';
import { loadSwebenchFile } from '../datasets/swebench';
import { swebenchPlan } from '../runtime/evaluate';
import { ConfigSchema } from '../core/config';
import { EXAMPLES } from './helpers';

const JSONL = path.join(EXAMPLES, 'swebench', 'instances.jsonl');
let tmp: string;
let rows: Record<string, unknown>[];
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'agentscale-swebds-'));
  rows = (await fs.readFile(JSONL, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
});
afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

const COLUMNS = [
  'repo',
  'instance_id',
  'base_commit',
  'patch',
  'test_patch',
  'problem_statement',
  'hints_text',
  'created_at',
  'version',
  'FAIL_TO_PASS',
  'PASS_TO_PASS',
  'environment_setup_commit',
];

async function writeParquet(name: string, records: Record<string, unknown>[], extra: string[] = []) {
  const buf = parquetWriteBuffer({
    columnData: [...COLUMNS, ...extra].map((c) => ({
      name: c,
      data: records.map((r) => (r[c] === undefined || r[c] === null ? null : String(r[c]))),
      type: 'STRING' as const,
    })),
  });
  const file = path.join(tmp, name);
  await fs.writeFile(file, Buffer.from(buf));
  return file;
}

describe('parquet instance files', () => {
  it('load to the same tasks as the same instances in JSONL', async () => {
    const file = await writeParquet('test-00000-of-00001.parquet', rows);
    const fromParquet = await loadSwebenchFile(file);
    const fromJsonl = await loadSwebenchFile(JSONL);
    expect(fromParquet.issues).toEqual([]);
    const strip = (t: (typeof fromJsonl.tasks)[number]) => ({ ...t, source: '', metadata: {} });
    expect(fromParquet.tasks.map(strip)).toEqual(fromJsonl.tasks.map(strip));
    expect(fromParquet.tasks[0]!.verifier).toMatchObject({ failToPass: ['tests/test_calc.py::test_subtract'] });
  });

  it("keep a newer revision's own eval_script, log_parser, eval_type and image, and run them as given", async () => {
    const script =
      "#!/bin/bash\nset -uxo pipefail\ncd /testbed\n: '>>>>> Start Test Output'\nmake check\n: '>>>>> End Test Output'\n";
    const newer = rows.map((r) => ({
      ...r,
      eval_script: script,
      log_parser: 'parse_log_pytest_v2',
      eval_type: 'fail_only',
      image: 'registry.example/sweb:1',
    }));
    const file = await writeParquet('newer.parquet', newer, ['eval_script', 'log_parser', 'eval_type', 'image']);
    const { tasks, issues } = await loadSwebenchFile(file);
    expect(issues).toEqual([]);
    const t = tasks[0]!;
    expect(t.environment).toMatchObject({ officialImage: 'registry.example/sweb:1' });
    const plan = swebenchPlan(t, ConfigSchema.parse({}));
    expect(plan).toMatchObject({ source: 'instance', logParser: 'parse_log_pytest_v2', evalType: 'fail_only' });
    expect(plan.script).toContain('make check\nSWEBENCH_TEST_EXIT_CODE=$?');
  });

  it('an instance naming a log parser we do not have is a dataset issue; a recipe may say `pytest`', async () => {
    const file = await writeParquet('jest.parquet', [{ ...rows[0], log_parser: 'parse_log_jest' }], ['log_parser']);
    const r = await loadSwebenchFile(file);
    expect(r.tasks).toEqual([]);
    expect(r.issues[0]).toMatchObject({ field: 'log_parser' });
    const cfg = ConfigSchema.parse({ swebench: { recipes: { 'a/b': { source: '.', logParser: 'pytest' } } } });
    expect(cfg.swebench.recipes['a/b']!.logParser).toBe('parse_log_pytest');
    expect(() => ConfigSchema.parse({ swebench: { recipes: { 'a/b': { source: '.', logParser: 'nope' } } } })).toThrow(
      /not a log parser/,
    );
  });

  it('a file that is not parquet is reported, not thrown', async () => {
    const file = path.join(tmp, 'broken.parquet');
    await fs.writeFile(file, 'not parquet');
    const r = await loadSwebenchFile(file);
    expect(r.tasks).toEqual([]);
    expect(r.issues[0]!.message).toMatch(/cannot read parquet/);
  });
});

describe('--instances and --filter', () => {
  it('select by id list and by regular expression, in dataset order', async () => {
    const all = await loadDatasets([JSONL]);
    expect(all.length).toBeGreaterThan(1);
    const ids = all.map((t) => t.id);
    expect(selectTasks(all, { instances: `${ids[1]},${ids[0]}` }).map((t) => t.id)).toEqual([ids[0], ids[1]]);
    expect(selectTasks(all, { filter: '-2$' }).map((t) => t.id)).toEqual(ids.filter((i) => i.endsWith('-2')));
    expect((await loadDatasets([JSONL], { instances: ids[0] })).map((t) => t.id)).toEqual([ids[0]]);
  });

  it('an unknown id, a bad expression or an empty selection is a dataset error', async () => {
    const all = await loadDatasets([JSONL]);
    expect(() => selectTasks(all, { instances: 'nope__x-1' })).toThrow(DatasetError);
    expect(() => selectTasks(all, { instances: 'nope__x-1' })).toThrow(/nope__x-1/);
    expect(() => selectTasks(all, { filter: '(' })).toThrow(DatasetError);
    expect(() => selectTasks(all, { filter: '^zzz' })).toThrow(/no task id matches/);
  });
});

describe('the recipes in docs/swebench.md', () => {
  it('are valid config, and drop the offline-impossible install step from the eval script', async () => {
    const { parse } = await import('yaml');
    const doc = await fs.readFile(path.join(EXAMPLES, '..', 'docs', 'swebench.md'), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
    const config = ConfigSchema.parse(parse(yaml));
    expect(Object.keys(config.swebench.recipes).sort()).toEqual([
      'django/django',
      'psf/requests',
      'pytest-dev/pytest',
      'sphinx-doc/sphinx',
      'sympy/sympy',
    ]);
    const { evalPlan } = await import('../core/swebenchSpecs');
    const plan = evalPlan(
      {
        repo: 'django/django',
        version: '3.0',
        baseCommit: 'abc',
        testPatch: 'diff --git a/tests/x/tests.py b/tests/x/tests.py\n',
      },
      config.swebench.recipes['django/django'],
    );
    expect(plan.script).not.toContain('pip install');
    expect(plan.testCmd).toBe('./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1 x.tests');
    expect(plan.logParser).toBe('parse_log_django');
  });
});
