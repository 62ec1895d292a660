// Loads one Terminal-Bench 1 task folder:
//   task.yaml, Dockerfile (context = the task folder) [+ docker-compose.yaml], run-tests.sh,
//   solution.sh (or solution.yaml), tests/
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { TASK_DEFAULTS, zodIssues, type DatasetIssue, type Solution } from '../core/task';
import { TerminalCommandsSchema, untypableKey } from '../core/terminalCommands';
import { dockerEnvironment, finalizeTask, isDir, isFile, readText, toPlain, type LoadResult } from './util';

/**
 * Terminal-Bench 1's own defaults (terminal_bench/handlers/trial_handler.py, Task model):
 * max_agent_timeout_sec 360, max_test_timeout_sec 60, parser pytest, run_tests_in_same_shell false.
 */
export const TB1_DEFAULTS = {
  agentTimeoutSec: 360,
  testTimeoutSec: 60,
  parser: 'pytest',
  /** TB1 gives containers network; our policy is none unless the task asks (TB1 has no such field). */
  allowInternet: false,
  buildTimeoutSec: TASK_DEFAULTS.buildTimeoutSec,
  /** Where the harness copies tests/ (TB1's $TEST_DIR). */
  testDir: '/tests',
} as const;

const optionalText = z.string().nullish();

export const TerminalBenchTaskYamlSchema = z.looseObject({
  instruction: z.string().optional(),
  /** Older tasks: `descriptions: [{key: base, description: ...}]`. */
  descriptions: z.array(z.looseObject({ key: z.string().optional(), description: z.string() })).optional(),
  author_name: optionalText,
  author_email: optionalText,
  difficulty: optionalText,
  category: optionalText,
  tags: z.array(z.string()).nullish(),
  parser_name: z.string().min(1).default(TB1_DEFAULTS.parser),
  max_agent_timeout_sec: z.number().positive().default(TB1_DEFAULTS.agentTimeoutSec),
  max_test_timeout_sec: z.number().positive().default(TB1_DEFAULTS.testTimeoutSec),
  run_tests_in_same_shell: z.boolean().default(false),
});
export type TerminalBenchTaskYaml = z.infer<typeof TerminalBenchTaskYamlSchema>;

/** Loads the Terminal-Bench 1 task in `dir` (any path; stored absolute). Never throws for task problems. */
export async function loadTerminalBenchTask(dir: string): Promise<LoadResult> {
  const root = path.resolve(dir);
  const issues: DatasetIssue[] = [];
  const notes: string[] = [];

  const yamlFile = path.join(root, 'task.yaml');
  const config = await readTaskYaml(yamlFile, issues);
  const instruction = config ? pickInstruction(config, yamlFile, issues, notes) : undefined;

  const environment = await dockerEnvironment(root, issues, notes);

  const runTestsPath = path.join(root, 'run-tests.sh');
  if (!(await isFile(runTestsPath))) issues.push({ file: runTestsPath, message: 'missing run-tests.sh' });
  const testsDir = path.join(root, 'tests');
  const hasTests = await isDir(testsDir);
  if (!hasTests) notes.push('no tests/ folder');

  let solution: Solution = { kind: 'none' };
  if (await isFile(path.join(root, 'solution.sh'))) {
    solution = { kind: 'script', path: path.join(root, 'solution.sh') };
  } else if (await isFile(path.join(root, 'solution.yaml'))) {
    // terminal_bench's TrialHandler.solution_path prefers solution.sh; the yaml is a command list.
    const file = path.join(root, 'solution.yaml');
    const text = await readText(file, issues, 'solution.yaml');
    if (text !== undefined) {
      let raw: unknown;
      try {
        raw = parseYaml(text);
      } catch (e) {
        issues.push({ file, message: `invalid YAML: ${(e as Error).message}` });
      }
      const parsed = TerminalCommandsSchema.safeParse(raw);
      const keys = parsed.success ? parsed.data.map(untypableKey).filter((k) => k !== undefined) : [];
      if (keys.length)
        issues.push({
          file,
          message: `unsupported: solution.yaml sends ${keys.join(', ')}, a key a bash executor cannot type (it replays the commands as input to one shell)`,
          kind: 'unsupported',
        });
      else if (parsed.success) solution = { kind: 'commands', path: file, commands: parsed.data };
      else if (raw !== undefined) issues.push(...zodIssues(file, parsed.error));
    }
  } else {
    notes.push('no solution.sh: the oracle cannot run');
  }

  if (!config || instruction === undefined || !environment || issues.length > 0) return { tasks: [], issues };

  // Everything task.yaml says except the instruction itself, kept for reports.
  const { instruction: _i, descriptions: _d, ...fields } = config;
  const loader: Record<string, unknown> = {
    allowInternet: 'defaulted to false (Terminal-Bench 1 has no setting; no network unless the task allows it)',
  };
  if (notes.length > 0) loader.notes = notes;

  const task = finalizeTask(
    {
      id: path.basename(root),
      format: 'terminal-bench',
      source: root,
      instruction,
      environment,
      limits: {},
      allowInternet: TB1_DEFAULTS.allowInternet,
      agent: { timeoutSec: config.max_agent_timeout_sec },
      verifier: {
        kind: 'terminal-bench',
        ...(hasTests && { testsDir }),
        runTestsPath,
        parser: config.parser_name,
      },
      verifierTimeoutSec: config.max_test_timeout_sec,
      verifierEnv: { TEST_DIR: TB1_DEFAULTS.testDir },
      env: {},
      buildTimeoutSec: TB1_DEFAULTS.buildTimeoutSec,
      solution,
      metadata: toPlain({ ...fields, allowInternetDefaulted: true, loader }),
    },
    root,
    issues,
  );
  return { tasks: task ? [task] : [], issues };
}

async function readTaskYaml(file: string, issues: DatasetIssue[]): Promise<TerminalBenchTaskYaml | undefined> {
  const text = await readText(file, issues, 'task.yaml');
  if (text === undefined) return undefined;
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    issues.push({ file, message: `invalid YAML: ${(e as Error).message.split('\n')[0]}` });
    return undefined;
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    issues.push({ file, message: 'task.yaml must be a mapping' });
    return undefined;
  }
  const parsed = TerminalBenchTaskYamlSchema.safeParse(raw);
  if (!parsed.success) {
    issues.push(...zodIssues(file, parsed.error));
    return undefined;
  }
  return parsed.data;
}

function pickInstruction(
  config: TerminalBenchTaskYaml,
  file: string,
  issues: DatasetIssue[],
  notes: string[],
): string | undefined {
  if (config.instruction !== undefined) return config.instruction;
  const descriptions = config.descriptions ?? [];
  const base = descriptions.find((d) => d.key === 'base') ?? descriptions[0];
  if (!base) {
    issues.push({ file, field: 'instruction', message: 'missing instruction (or descriptions[key=base])' });
    return undefined;
  }
  if (base.key !== 'base') notes.push(`no description with key "base"; used "${base.key ?? '(unnamed)'}"`);
  return base.description;
}
