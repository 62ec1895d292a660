// Loads one Harbor task folder (Terminal-Bench 2.0 and later):
//   instruction.md, task.toml, environment/Dockerfile (or docker-compose.yaml), solution/solve.sh, tests/test.sh
import path from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { TASK_DEFAULTS, zodIssues, type DatasetIssue, type Environment, type Solution } from '../core/task';
import {
  dockerEnvironment,
  finalizeTask,
  isDir,
  isFile,
  parseSizeMb,
  readText,
  toPlain,
  type LoadResult,
} from './util';

/** Harbor's own defaults (harbor/models/task/config.py) where task.toml says nothing. */
export const HARBOR_DEFAULTS = {
  /** Harbor's VerifierConfig.timeout_sec. */
  verifierTimeoutSec: 600,
  /** Harbor's EnvironmentConfig.build_timeout_sec. */
  buildTimeoutSec: 600,
  /** Harbor leaves the agent timeout to the job; we use the project default. */
  agentTimeoutSec: TASK_DEFAULTS.agentTimeoutSec,
  /** Harbor defaults to true; our policy is no network unless the task asks for it. */
  allowInternet: false,
} as const;

const positive = z.number().positive();
const userName = z.union([z.string().min(1), z.number().int().nonnegative()]).transform(String);
const envMap = z.record(z.string(), z.string());
const sizeString = z.string().transform((s, ctx) => {
  const mb = parseSizeMb(s);
  if (mb === undefined) {
    ctx.issues.push({ code: 'custom', input: s, message: `expected a size like "2G" or "512M", got "${s}"` });
    return z.NEVER;
  }
  return mb;
});

/** task.toml. Unknown keys are allowed (Harbor adds fields over time); known ones must have the right type. */
export const HarborTaskTomlSchema = z.looseObject({
  version: z.string().optional(),
  schema_version: z.string().optional(),
  task: z.record(z.string(), z.unknown()).optional(),
  source: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).default({}),
  agent: z.looseObject({ timeout_sec: positive.optional(), user: userName.optional() }).prefault({}),
  verifier: z
    .looseObject({ timeout_sec: positive.optional(), env: envMap.default({}), user: userName.optional() })
    .prefault({}),
  environment: z
    .looseObject({
      build_timeout_sec: positive.optional(),
      docker_image: z.string().min(1).optional(),
      cpus: positive.optional(),
      memory_mb: z.number().int().positive().optional(),
      storage_mb: z.number().int().positive().optional(),
      /** Deprecated in Harbor: "2G"-style strings. */
      memory: sizeString.optional(),
      storage: sizeString.optional(),
      gpus: z.number().int().nonnegative().optional(),
      allow_internet: z.boolean().optional(),
      env: envMap.default({}),
    })
    .prefault({}),
  solution: z.looseObject({ env: envMap.default({}) }).prefault({}),
});
export type HarborTaskToml = z.infer<typeof HarborTaskTomlSchema>;

/** Loads the Harbor task in `dir` (any path; stored absolute). Never throws for task problems. */
export async function loadHarborTask(dir: string): Promise<LoadResult> {
  const root = path.resolve(dir);
  const issues: DatasetIssue[] = [];
  const notes: string[] = [];

  const tomlFile = path.join(root, 'task.toml');
  const config = await readTaskToml(tomlFile, issues);

  const instruction = await readText(path.join(root, 'instruction.md'), issues, 'instruction.md');

  const testsDir = path.join(root, 'tests');
  const testSh = path.join(testsDir, 'test.sh');
  if (!(await isFile(testSh))) issues.push({ file: testSh, message: 'missing tests/test.sh (the Harbor verifier)' });

  const solvePath = path.join(root, 'solution', 'solve.sh');
  const solution: Solution = (await isFile(solvePath)) ? { kind: 'script', path: solvePath } : { kind: 'none' };
  if (solution.kind === 'none') notes.push('no solution/solve.sh: the oracle cannot run');

  let environment: Environment | undefined;
  const envDir = path.join(root, 'environment');
  if (config?.environment.docker_image) {
    environment = { kind: 'image', image: config.environment.docker_image };
    if (await isDir(envDir)) notes.push('environment.docker_image set: environment/ is not built');
  } else if (await isDir(envDir)) {
    environment = await dockerEnvironment(envDir, issues, notes);
  } else if (config) {
    // (When task.toml did not load we cannot tell whether it names a docker_image.)
    issues.push({
      file: envDir,
      message: 'missing environment/ folder (and no environment.docker_image in task.toml)',
    });
  }

  if (!config || instruction === undefined || !environment || issues.length > 0) return { tasks: [], issues };

  const env = config.environment;
  const allowInternetDefaulted = env.allow_internet === undefined;
  const loader: Record<string, unknown> = {
    allowInternet: allowInternetDefaulted ? 'defaulted to false (no network unless the task allows it)' : 'task.toml',
  };
  if (env.gpus !== undefined) loader.gpus = env.gpus;
  if (config.task) loader.package = config.task;
  if (config.schema_version ?? config.version) loader.schemaVersion = config.schema_version ?? config.version;
  if (Object.keys(config.solution.env).length > 0) loader.solutionEnv = config.solution.env;
  if (env.memory !== undefined && env.memory_mb !== undefined)
    notes.push('both memory and memory_mb given: memory wins (as in Harbor)');
  if (env.storage !== undefined && env.storage_mb !== undefined)
    notes.push('both storage and storage_mb given: storage wins (as in Harbor)');
  if (notes.length > 0) loader.notes = notes;

  const memoryMb = env.memory ?? env.memory_mb;
  const storageMb = env.storage ?? env.storage_mb;
  const task = finalizeTask(
    {
      id: path.basename(root),
      format: 'harbor',
      source: root,
      instruction,
      environment,
      limits: {
        ...(env.cpus !== undefined && { cpus: env.cpus }),
        ...(memoryMb !== undefined && { memoryMb }),
        ...(storageMb !== undefined && { storageMb }),
      },
      allowInternet: env.allow_internet ?? HARBOR_DEFAULTS.allowInternet,
      agent: {
        timeoutSec: config.agent.timeout_sec ?? HARBOR_DEFAULTS.agentTimeoutSec,
        ...(config.agent.user !== undefined && { user: config.agent.user }),
      },
      verifier: { kind: 'harbor', testsDir },
      verifierTimeoutSec: config.verifier.timeout_sec ?? HARBOR_DEFAULTS.verifierTimeoutSec,
      ...(config.verifier.user !== undefined && { verifierUser: config.verifier.user }),
      verifierEnv: config.verifier.env,
      env: env.env,
      buildTimeoutSec: env.build_timeout_sec ?? HARBOR_DEFAULTS.buildTimeoutSec,
      solution,
      metadata: toPlain({ ...config.metadata, allowInternetDefaulted, loader }),
    },
    root,
    issues,
  );
  return { tasks: task ? [task] : [], issues };
}

async function readTaskToml(file: string, issues: DatasetIssue[]): Promise<HarborTaskToml | undefined> {
  const text = await readText(file, issues, 'task.toml');
  if (text === undefined) return undefined;
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (e) {
    const where = e instanceof TomlError ? ` (line ${e.line}, column ${e.column})` : '';
    const first = (e as Error).message.split('\n')[0];
    issues.push({ file, message: `invalid TOML${where}: ${first}` });
    return undefined;
  }
  const parsed = HarborTaskTomlSchema.safeParse(raw);
  if (!parsed.success) {
    issues.push(...zodIssues(file, parsed.error));
    return undefined;
  }
  return parsed.data;
}
