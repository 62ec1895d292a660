// Dataset loaders: the shipped examples and fixtures load, and malformed inputs are reported with
// the file and field (all of them at once). Pure file reads; no Docker.
import { promises as fs, constants as fsc } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { keystrokes } from '../core/terminalCommands';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError, TaskSchema, type DatasetIssue, type Task } from '../core/task';
import { loadDataset, loadDatasets } from '../datasets/index';
import { loadHarborTask } from '../datasets/harbor';
import { loadSwebenchFile, officialImageName } from '../datasets/swebench';
import { loadTerminalBenchTask } from '../datasets/terminalBench';
import { parseSizeMb } from '../datasets/util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const EX = path.join(ROOT, 'examples');
const FX = path.join(ROOT, 'tests', 'fixtures');

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'agentscale-datasets-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** Writes files (path → content) under a fresh folder in the temp dir and returns it. */
let counter = 0;
async function makeTree(files: Record<string, string>, name = `t${++counter}`): Promise<string> {
  const dir = path.join(tmp, name);
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(dir, rel);
    await fs.mkdir(path.dirname(p), { recursive: true });
    await fs.writeFile(p, content);
  }
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

/** The issues a load throws (fails the test if it does not throw a DatasetError). */
async function issuesOf(p: Promise<unknown>): Promise<DatasetIssue[]> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DatasetError);
    return (e as DatasetError).issues;
  }
  throw new Error('expected a DatasetError');
}

const byId = (tasks: Task[]) => Object.fromEntries(tasks.map((t) => [t.id, t]));

/** A minimal valid Harbor task; `over` replaces or (with undefined) removes files. */
function harborFiles(over: Record<string, string | undefined> = {}): Record<string, string> {
  const base: Record<string, string | undefined> = {
    'instruction.md': 'Do the thing.\n',
    'task.toml': '[verifier]\ntimeout_sec = 30\n',
    'environment/Dockerfile': 'FROM ubuntu:24.04\n',
    'tests/test.sh': '#!/usr/bin/env bash\necho 1 > /logs/verifier/reward.txt\n',
    'solution/solve.sh': '#!/usr/bin/env bash\ntrue\n',
    ...over,
  };
  return Object.fromEntries(Object.entries(base).filter((e): e is [string, string] => e[1] !== undefined));
}

function tbFiles(over: Record<string, string | undefined> = {}): Record<string, string> {
  const base: Record<string, string | undefined> = {
    'task.yaml': 'instruction: Do the thing.\ndifficulty: easy\n',
    Dockerfile: 'FROM python:3.12-slim\n',
    'run-tests.sh': '#!/usr/bin/env bash\npytest $TEST_DIR/test_outputs.py -rA\n',
    'solution.sh': '#!/usr/bin/env bash\ntrue\n',
    'tests/test_outputs.py': 'def test_x():\n    pass\n',
    ...over,
  };
  return Object.fromEntries(Object.entries(base).filter((e): e is [string, string] => e[1] !== undefined));
}

function instance(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    instance_id: 'owner__proj-1',
    repo: 'owner/proj',
    base_commit: 'abc123',
    problem_statement: 'It is broken.',
    hints_text: 'Try harder.',
    created_at: '2024-01-01T00:00:00Z',
    version: '1.0',
    patch: 'diff --git a/x b/x\n',
    test_patch: 'diff --git a/t b/t\n',
    FAIL_TO_PASS: '["tests/test_x.py::test_a"]',
    PASS_TO_PASS: '[]',
    environment_setup_commit: 'def456',
    ...over,
  };
}

describe('shipped examples', () => {
  it('loads the Harbor examples', async () => {
    const tasks = await loadDataset(path.join(EX, 'harbor'));
    expect(tasks.map((t) => t.id).sort()).toEqual(['csv-sum', 'hello-file']);
    const { 'hello-file': hello, 'csv-sum': csv } = byId(tasks);
    const dir = path.join(EX, 'harbor', 'hello-file');
    expect(hello).toMatchObject({
      format: 'harbor',
      source: dir,
      environment: { kind: 'dockerfile', contextDir: path.join(dir, 'environment'), dockerfile: 'Dockerfile' },
      verifier: { kind: 'harbor', testsDir: path.join(dir, 'tests') },
      solution: { kind: 'script', path: path.join(dir, 'solution', 'solve.sh') },
      agent: { timeoutSec: 300 },
      verifierTimeoutSec: 60,
      buildTimeoutSec: 300,
      limits: { cpus: 1, memoryMb: 1024, storageMb: 2048 },
      allowInternet: false,
      metadata: { difficulty: 'easy', allowInternetDefaulted: false },
    });
    expect(hello!.instruction).toContain('/app/hello.txt');
    // csv-sum gives memory as the older "1G" string and says nothing about the network: Harbor's
    // default is a public network.
    expect(csv!.limits).toEqual({ cpus: 1, memoryMb: 1024 });
    expect(csv!.allowInternet).toBe(true);
    expect(csv!.metadata.allowInternetDefaulted).toBe(true);
  });

  it('loads the Terminal-Bench 1 examples (instruction and descriptions forms)', async () => {
    const tasks = byId(await loadDataset(path.join(EX, 'terminal-bench')));
    expect(Object.keys(tasks).sort()).toEqual(['count-lines', 'json-names', 'quiz']);
    const dir = path.join(EX, 'terminal-bench', 'count-lines');
    expect(tasks['count-lines']).toMatchObject({
      format: 'terminal-bench',
      environment: { kind: 'dockerfile', contextDir: dir, dockerfile: 'Dockerfile' },
      verifier: {
        kind: 'terminal-bench',
        testsDir: path.join(dir, 'tests'),
        runTestsPath: path.join(dir, 'run-tests.sh'),
        parser: 'pytest',
      },
      agent: { timeoutSec: 300 },
      verifierTimeoutSec: 60,
      solution: { kind: 'script', path: path.join(dir, 'solution.sh') },
      allowInternet: false,
      metadata: { author_name: 'agentscale', difficulty: 'easy', tags: ['example', 'text'] },
    });
    // json-names uses `descriptions` and relies on TB1's defaults.
    const json = tasks['json-names']!;
    expect(json.instruction).toContain('/app/users.json');
    expect(json.agent.timeoutSec).toBe(360);
    expect(json.verifierTimeoutSec).toBe(60);
    expect(json.verifier).toMatchObject({ parser: 'pytest' });
    expect(json.metadata).toMatchObject({ run_tests_in_same_shell: false });
  });

  it('loads the SWE-bench example instances', async () => {
    const file = path.join(EX, 'swebench', 'instances.jsonl');
    const tasks = await loadDataset(file);
    expect(tasks.map((t) => t.id)).toEqual(['example__calc-1', 'example__calc-2']);
    const t = tasks[0]!;
    expect(t).toMatchObject({
      format: 'swebench',
      source: file,
      workdir: '/testbed',
      allowInternet: false,
      environment: {
        kind: 'swebench',
        repo: 'example/calc',
        version: '0.1',
        officialImage: 'sweb.eval.x86_64.example_1776_calc-1',
      },
      verifier: {
        kind: 'swebench',
        failToPass: ['tests/test_calc.py::test_subtract'],
        passToPass: [
          'tests/test_calc.py::test_add',
          'tests/test_calc.py::test_divide_exact',
          'tests/test_calc.py::test_mean',
        ],
      },
      metadata: { instance_id: 'example__calc-1', hints_text: 'Look at calc/ops.py.' },
    });
    expect(t.solution.kind).toBe('patch');
    expect(t.instruction).not.toContain('Look at calc/ops.py.');
    expect(t.environment.kind === 'swebench' && t.environment.baseCommit).toMatch(/^[0-9a-f]{40}$/);
    // The two instances sit on different commits of the bundle.
    const [a, b] = tasks.map((x) => (x.environment.kind === 'swebench' ? x.environment.baseCommit : ''));
    expect(a).not.toBe(b);
    await expect(fs.stat(path.join(EX, 'swebench', 'repos', 'calc.bundle'))).resolves.toBeTruthy();
  });

  it('loads the evaluation fixtures', async () => {
    const harbor = byId(await loadDataset(path.join(FX, 'harbor')));
    expect(Object.keys(harbor).sort()).toEqual(['broken-oracle', 'disk-hog-oracle', 'reward-json', 'slow-oracle']);
    expect(harbor['reward-json']!.verifierEnv).toEqual({ STYLE_SCORE: '0.5' });
    const tb = await loadDataset(path.join(FX, 'terminal-bench', 'null-passes'));
    expect(tb.map((t) => t.id)).toEqual(['null-passes']);
    const bad = await loadDataset(path.join(FX, 'swebench', 'bad-gold.jsonl'));
    expect(bad.map((t) => t.id)).toEqual(['example__calc-bad-gold']);
  });

  it('loads all examples together with unique ids, every task valid and with absolute paths', async () => {
    const tasks = await loadDatasets([
      path.join(EX, 'harbor'),
      path.join(EX, 'terminal-bench'),
      path.join(EX, 'swebench', 'instances.jsonl'),
      path.join(FX, 'harbor'),
      path.join(FX, 'terminal-bench'),
      path.join(FX, 'swebench', 'bad-gold.jsonl'),
    ]);
    expect(tasks).toHaveLength(15);
    expect(new Set(tasks.map((t) => t.id)).size).toBe(15);
    for (const t of tasks) {
      expect(TaskSchema.parse(t)).toEqual(t);
      expect(JSON.parse(JSON.stringify(t))).toEqual(t); // plain serialisable data
      expect(path.isAbsolute(t.source)).toBe(true);
      if (t.environment.kind === 'dockerfile') expect(path.isAbsolute(t.environment.contextDir)).toBe(true);
      if (t.solution.kind === 'script') expect(path.isAbsolute(t.solution.path)).toBe(true);
      if (t.verifier.kind === 'harbor') expect(path.isAbsolute(t.verifier.testsDir)).toBe(true);
      if (t.verifier.kind === 'terminal-bench') expect(path.isAbsolute(t.verifier.runTestsPath)).toBe(true);
    }
  });

  it('ships every shell script executable', async () => {
    const scripts: string[] = [];
    // Real tasks copied unchanged keep their modes (Harbor runs chmod +x before running them).
    const asFound = path.join(FX, 'harbor-real');
    async function walk(dir: string): Promise<void> {
      for (const e of await fs.readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (p === asFound) continue;
        if (e.isDirectory()) await walk(p);
        else if (e.name.endsWith('.sh')) scripts.push(p);
      }
    }
    await walk(EX);
    await walk(FX);
    expect(scripts.length).toBeGreaterThanOrEqual(14);
    for (const s of scripts) await expect(fs.access(s, fsc.X_OK), s).resolves.toBeUndefined();
  });
});

describe('Harbor loader', () => {
  it('uses relative paths as absolute ones, folder name as id', async () => {
    const dir = await makeTree(harborFiles(), 'my-task');
    const rel = path.relative(process.cwd(), dir);
    const [t] = await loadDataset(rel);
    expect(t!.id).toBe('my-task');
    expect(t!.source).toBe(dir);
    expect(t!.verifierTimeoutSec).toBe(30);
    // Harbor's defaults where task.toml is silent: a public network.
    expect(t!.buildTimeoutSec).toBe(600);
    expect(t!.allowInternet).toBe(true);
    expect(t!.limits).toEqual({});
  });

  it('reads the full task.toml', async () => {
    const dir = await makeTree(
      harborFiles({
        'task.toml': `
version = "1.0"
some_future_key = "ignored"
[metadata]
difficulty = "hard"
created = 2024-05-01T10:00:00Z
[agent]
timeout_sec = 120
user = "agent"
[verifier]
timeout_sec = 45.5
user = 1000
env = { API = "x" }
[environment]
build_timeout_sec = 99
cpus = 2
memory = "512M"
storage = "2G"
gpus = 0
allow_internet = true
env = { FOO = "bar" }
future_setting = [1, 2]
`,
      }),
    );
    const { tasks, issues } = await loadHarborTask(dir);
    expect(issues).toEqual([]);
    expect(tasks[0]).toMatchObject({
      agent: { timeoutSec: 120, user: 'agent' },
      verifierTimeoutSec: 45.5,
      verifierUser: '1000',
      verifierEnv: { API: 'x' },
      env: { FOO: 'bar' },
      buildTimeoutSec: 99,
      limits: { cpus: 2, memoryMb: 512, storageMb: 2048 },
      allowInternet: true,
      metadata: { difficulty: 'hard', allowInternetDefaulted: false },
    });
    // TOML dates become strings: a Task is plain JSON data.
    expect(tasks[0]!.metadata.created).toBe('2024-05-01T10:00:00.000Z');
  });

  it('uses docker_image when given, and no solution when solve.sh is missing', async () => {
    const dir = await makeTree(
      harborFiles({
        'task.toml': '[environment]\ndocker_image = "ghcr.io/x/y:1"\n',
        'environment/Dockerfile': undefined,
        'solution/solve.sh': undefined,
      }),
    );
    const [t] = await loadDataset(dir);
    expect(t!.environment).toEqual({ kind: 'image', image: 'ghcr.io/x/y:1' });
    expect(t!.solution).toEqual({ kind: 'none' });
  });

  it('accepts a compose file with one service built from a Dockerfile, rejects other compose files', async () => {
    const ok = await makeTree(
      harborFiles({
        'environment/Dockerfile': undefined,
        'environment/docker/Dockerfile.main': 'FROM ubuntu:24.04\n',
        'environment/docker-compose.yaml':
          'services:\n  main:\n    build:\n      context: docker\n      dockerfile: Dockerfile.main\n',
      }),
    );
    const [t] = await loadDataset(ok);
    expect(t!.environment).toEqual({
      kind: 'dockerfile',
      contextDir: path.join(ok, 'environment', 'docker'),
      dockerfile: 'Dockerfile.main',
    });

    const multi = await makeTree(
      harborFiles({
        'environment/Dockerfile': undefined,
        'environment/docker-compose.yaml': 'services:\n  main:\n    build: .\n  db:\n    image: postgres\n',
      }),
    );
    const noBuild = await makeTree(
      harborFiles({
        'environment/Dockerfile': undefined,
        'environment/docker-compose.yaml': 'services:\n  main:\n    image: ubuntu\n',
      }),
    );
    const issues = await issuesOf(loadDataset(noBuild));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.file).toBe(path.join(noBuild, 'environment', 'docker-compose.yaml'));
    expect(issues[0]!.message).toMatch(/compose.*not supported yet/);
    // Several services: `main` is the task container, built from environment/ (tests/compose.test.ts).
    const multiIssues = await issuesOf(loadDataset(multi));
    expect(multiIssues).toEqual([
      expect.objectContaining({
        file: path.join(multi, 'environment', 'Dockerfile'),
        message: expect.stringMatching(/missing Dockerfile for the task container/),
      }),
    ]);
  });

  it('reports bad TOML syntax with its line', async () => {
    const dir = await makeTree(harborFiles({ 'task.toml': '[verifier]\ntimeout_sec = = 3\n' }));
    const issues = await issuesOf(loadDataset(dir));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.file).toBe(path.join(dir, 'task.toml'));
    expect(issues[0]!.message).toMatch(/invalid TOML \(line 2/);
  });

  it('names the field of a wrong type', async () => {
    const dir = await makeTree(
      harborFiles({
        'task.toml':
          '[verifier]\ntimeout_sec = "soon"\n[environment]\nmemory = "lots"\ncpus = -1\nallow_internet = "yes"\n',
      }),
    );
    const issues = await issuesOf(loadDataset(dir));
    expect(issues.map((i) => i.field).sort()).toEqual([
      'environment.allow_internet',
      'environment.cpus',
      'environment.memory',
      'verifier.timeout_sec',
    ]);
    expect(issues.every((i) => i.file === path.join(dir, 'task.toml'))).toBe(true);
    const err = await loadDataset(dir).catch((e: Error) => e.message);
    expect(err).toContain('[verifier.timeout_sec]');
  });

  it('reports a missing instruction.md, tests/test.sh and environment together', async () => {
    const dir = await makeTree(
      harborFiles({ 'instruction.md': undefined, 'tests/test.sh': undefined, 'environment/Dockerfile': undefined }),
    );
    const issues = await issuesOf(loadDataset(dir));
    const files = issues.map((i) => path.relative(dir, i.file)).sort();
    expect(files).toEqual(['environment', 'instruction.md', 'tests/test.sh']);
    expect(issues.find((i) => i.file.endsWith('instruction.md'))!.message).toMatch(/missing instruction\.md/);
  });

  it('parses size strings like Harbor', () => {
    expect(parseSizeMb('2G')).toBe(2048);
    expect(parseSizeMb('512M')).toBe(512);
    expect(parseSizeMb('1.5g')).toBe(1536);
    expect(parseSizeMb('2Gi')).toBe(2048);
    expect(parseSizeMb('2048K')).toBe(2);
    expect(parseSizeMb('lots')).toBeUndefined();
    expect(parseSizeMb('0M')).toBeUndefined();
  });
});

describe('Terminal-Bench 1 loader', () => {
  it("reads solution.yaml with TerminalCommand's defaults, types tmux key names, refuses keys it cannot type", async () => {
    const dir = await makeTree(
      tbFiles({
        'solution.sh': undefined,
        'solution.yaml': '- command: vim x\n- command: Escape\n  append_enter: false\n',
      }),
    );
    expect((await issuesOf(loadDataset(dir)))[0]).toMatchObject({
      kind: 'unsupported',
      message: expect.stringMatching(/sends Escape, a key a bash executor cannot type/),
    });
    const ok = await makeTree(
      tbFiles({
        'solution.sh': undefined,
        'solution.yaml':
          '- command: echo a\n- command: "echo "\n  append_enter: false\n- command: b\n  block: true\n- command: Enter\n  append_enter: false\n',
      }),
    );
    const [t] = await loadDataset(ok);
    if (t!.solution.kind !== 'commands') throw new Error('expected a command list');
    expect(t!.solution.commands[0]).toEqual({
      command: 'echo a',
      min_timeout_sec: 0,
      max_timeout_sec: 180,
      block: false,
      append_enter: true,
    });
    expect(keystrokes(t!.solution.commands)).toBe('echo a\necho b\n\n');
  });

  it('prefers solution.sh over solution.yaml, as terminal_bench does', async () => {
    const dir = await makeTree(tbFiles({ 'solution.yaml': '- command: echo hi\n' }));
    const { tasks, issues } = await loadTerminalBenchTask(dir);
    expect(issues).toEqual([]);
    expect(tasks[0]!.solution).toEqual({ kind: 'script', path: path.join(dir, 'solution.sh') });
  });

  it('reports a missing instruction, wrong types and a missing run-tests.sh', async () => {
    const dir = await makeTree(
      tbFiles({
        'task.yaml': 'author_name: x\nmax_agent_timeout_sec: "long"\ntags: nope\n',
        'run-tests.sh': undefined,
      }),
    );
    const issues = await issuesOf(loadDataset(dir));
    expect(issues.map((i) => i.field).sort()).toEqual(['max_agent_timeout_sec', 'tags', undefined]);
    expect(issues.some((i) => i.file === path.join(dir, 'run-tests.sh'))).toBe(true);

    const noInstr = await makeTree(tbFiles({ 'task.yaml': 'difficulty: easy\n' }));
    const issues2 = await issuesOf(loadDataset(noInstr));
    expect(issues2).toEqual([expect.objectContaining({ field: 'instruction', file: path.join(noInstr, 'task.yaml') })]);
  });

  it('reports bad YAML', async () => {
    const dir = await makeTree(tbFiles({ 'task.yaml': 'instruction: "unterminated\n  : : :\n' }));
    const issues = await issuesOf(loadDataset(dir));
    expect(issues[0]!.message).toMatch(/invalid YAML/);
  });

  it('rejects a multi-service docker-compose', async () => {
    const dir = await makeTree(
      tbFiles({
        'docker-compose.yaml':
          'services:\n  client:\n    build:\n      dockerfile: Dockerfile\n  server:\n    image: nginx\n',
      }),
    );
    const issues = await issuesOf(loadDataset(dir));
    expect(issues).toEqual([
      expect.objectContaining({ field: 'services', message: expect.stringMatching(/not supported yet/) }),
    ]);
  });
});

describe('SWE-bench loader', () => {
  it('reads a JSON list, a single object, and real lists for FAIL_TO_PASS/PASS_TO_PASS', async () => {
    const dir = await makeTree({
      'list.json': JSON.stringify([
        instance(),
        instance({ instance_id: 'owner__proj-2', FAIL_TO_PASS: ['a', 'b'], PASS_TO_PASS: ['c'] }),
      ]),
      'one.json': JSON.stringify(instance({ patch: undefined, environment_setup_commit: null })),
    });
    const list = await loadDataset(path.join(dir, 'list.json'));
    expect(list.map((t) => t.verifier.kind === 'swebench' && t.verifier.failToPass)).toEqual([
      ['tests/test_x.py::test_a'],
      ['a', 'b'],
    ]);
    const [one] = await loadDataset(path.join(dir, 'one.json'));
    expect(one!.solution).toEqual({ kind: 'none' });
    expect(one!.environment).toEqual({
      kind: 'swebench',
      repo: 'owner/proj',
      baseCommit: 'abc123',
      version: '1.0',
      officialImage: 'sweb.eval.x86_64.owner_1776_proj-1',
      officialImageAliases: [
        'swebench/sweb.eval.x86_64.owner_1776_proj-1:latest',
        'sweb.eval.x86_64.owner__proj-1:latest',
      ],
    });
    // Every instance field is kept, in its original encoding.
    expect(one!.metadata).toMatchObject({
      FAIL_TO_PASS: '["tests/test_x.py::test_a"]',
      created_at: '2024-01-01T00:00:00Z',
    });
  });

  it('names official images like the SWE-bench harness', () => {
    expect(officialImageName('django__django-11099')).toBe('sweb.eval.x86_64.django_1776_django-11099');
    expect(officialImageName('Owner__Repo-1')).toBe('sweb.eval.x86_64.owner_1776_repo-1');
  });

  it('rejects an object keyed by instance_id clearly', async () => {
    const dir = await makeTree({ 'keyed.json': JSON.stringify({ 'owner__proj-1': instance() }) });
    const issues = await issuesOf(loadDataset(path.join(dir, 'keyed.json')));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toMatch(/keyed by instance_id/);
  });

  it('reports the JSONL line of a bad line and keeps checking the others', async () => {
    const lines = [
      JSON.stringify(instance()),
      '',
      '{"instance_id": "broken", ',
      JSON.stringify(instance({ instance_id: 'x__y-2', repo: 42 })),
    ];
    const dir = await makeTree({ 'instances.jsonl': lines.join('\n') + '\n' });
    const file = path.join(dir, 'instances.jsonl');
    const issues = await issuesOf(loadDataset(file));
    expect(issues).toEqual([
      expect.objectContaining({ file: `${file}:3`, message: expect.stringMatching(/invalid JSON on line 3/) }),
      expect.objectContaining({ file: `${file}:4`, field: 'repo' }),
    ]);
  });

  it('treats a .json file holding JSONL as JSONL', async () => {
    const dir = await makeTree({
      'i.json': [instance(), instance({ instance_id: 'b__c-1' })].map((i) => JSON.stringify(i)).join('\n'),
    });
    expect(await loadDataset(path.join(dir, 'i.json'))).toHaveLength(2);
  });

  it('rejects FAIL_TO_PASS that is not a list, naming the field', async () => {
    const dir = await makeTree({
      'a.json': JSON.stringify([
        instance({ FAIL_TO_PASS: 'tests/test_x.py::test_a' }),
        instance({ instance_id: 'o__p-2', FAIL_TO_PASS: '{"a": 1}', PASS_TO_PASS: 7 }),
        instance({ instance_id: 'o__p-3', FAIL_TO_PASS: undefined }),
      ]),
    });
    const file = path.join(dir, 'a.json');
    const issues = await issuesOf(loadDataset(file));
    expect(issues.map((i) => [path.relative(dir, i.file), i.field])).toEqual([
      ['a.json[0]', 'FAIL_TO_PASS'],
      ['a.json[1]', 'FAIL_TO_PASS'],
      ['a.json[1]', 'PASS_TO_PASS'],
      ['a.json[2]', 'FAIL_TO_PASS'],
    ]);
  });

  it('reports duplicate instance ids in a file', async () => {
    const dir = await makeTree({ 'd.jsonl': [instance(), instance()].map((i) => JSON.stringify(i)).join('\n') });
    const { tasks, issues } = await loadSwebenchFile(path.join(dir, 'd.jsonl'));
    expect(tasks).toHaveLength(1);
    expect(issues).toEqual([expect.objectContaining({ file: `${path.join(dir, 'd.jsonl')}:2`, field: 'instance_id' })]);
  });

  it('reports invalid JSON and empty files', async () => {
    const dir = await makeTree({ 'bad.json': '[{"instance_id": ', 'empty.jsonl': '\n' });
    expect((await issuesOf(loadDataset(path.join(dir, 'bad.json'))))[0]!.message).toMatch(/invalid JSON/);
    expect((await issuesOf(loadDataset(path.join(dir, 'empty.jsonl'))))[0]!.message).toMatch(/no instances/);
  });
});

describe('loadDataset / loadDatasets', () => {
  it('reports every bad task in a folder, skips hidden folders and loose files, flags non-task folders', async () => {
    const good = harborFiles();
    const files: Record<string, string> = { 'README.md': 'a dataset\n' };
    for (const [k, v] of Object.entries(good)) files[`good/${k}`] = v;
    for (const [k, v] of Object.entries(harborFiles({ 'task.toml': '[agent]\ntimeout_sec = "x"\n' })))
      files[`bad-toml/${k}`] = v;
    for (const [k, v] of Object.entries(harborFiles({ 'instruction.md': undefined }))) files[`no-instr/${k}`] = v;
    for (const [k, v] of Object.entries(tbFiles({ 'task.yaml': 'difficulty: easy\n' }))) files[`tb-bad/${k}`] = v;
    files['.hidden/whatever.txt'] = 'x';
    files['not-a-task/notes.txt'] = 'x';
    const dir = await makeTree(files);

    const issues = await issuesOf(loadDataset(dir));
    const summary = issues.map((i) => `${path.relative(dir, i.file)}|${i.field ?? ''}`).sort();
    expect(summary).toEqual([
      'bad-toml/task.toml|agent.timeout_sec',
      'no-instr/instruction.md|',
      'not-a-task|',
      'tb-bad/task.yaml|instruction',
    ]);
  });

  it('reports a missing path and an empty folder', async () => {
    const missing = path.join(tmp, 'nope');
    expect(await issuesOf(loadDataset(missing))).toEqual([{ file: missing, message: 'no such file or folder' }]);
    const empty = await makeTree({});
    expect((await issuesOf(loadDataset(empty)))[0]!.message).toMatch(/no tasks found/);
  });

  it('rejects duplicate ids across datasets and still reports other problems', async () => {
    const a = await makeTree({ 'inst.jsonl': JSON.stringify(instance()) + '\n' });
    const b = await makeTree({
      'inst.json': JSON.stringify([instance(), instance({ instance_id: 'z__z-1', FAIL_TO_PASS: 3 })]),
    });
    const issues = await issuesOf(loadDatasets([path.join(a, 'inst.jsonl'), path.join(b, 'inst.json')]));
    expect(issues).toHaveLength(2);
    expect(issues).toContainEqual(
      expect.objectContaining({ field: 'FAIL_TO_PASS', file: `${path.join(b, 'inst.json')}[1]` }),
    );
    expect(issues).toContainEqual(
      expect.objectContaining({ field: 'id', message: expect.stringMatching(/duplicate task id "owner__proj-1"/) }),
    );

    const t1 = await makeTree(harborFiles(), 'dupe-a/same-id');
    const t2 = await makeTree(tbFiles(), 'dupe-b/same-id');
    const dup = await issuesOf(loadDatasets([t1, t2]));
    expect(dup).toEqual([expect.objectContaining({ file: t2, field: 'id' })]);
  });

  it('the thrown error lists every issue in its message', async () => {
    const dir = await makeTree(harborFiles({ 'instruction.md': undefined, 'tests/test.sh': undefined }));
    const err = await loadDataset(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as Error).message).toMatch(/^dataset has 2 problems:/);
  });
});
