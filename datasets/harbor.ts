// Loads one Harbor task folder (Terminal-Bench 2.0 and later):
//   instruction.md, task.toml, environment/Dockerfile (or docker-compose.yaml), solution/solve.sh, tests/test.sh
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { MAIN_SERVICE, type ComposeEnvironment } from '../core/compose';
import { TASK_DEFAULTS, zodIssues, type DatasetIssue, type Environment, type Solution } from '../core/task';
import {
  dockerEnvironment,
  finalizeTask,
  isDir,
  isFile,
  parseSizeMb,
  readComposeDoc,
  readText,
  toPlain,
  type LoadResult,
} from './util';
import { readComposeServices, type ComposeRead } from './compose';

const EMPTY_COMPOSE: ComposeEnvironment = {
  services: [],
  main: { dependsOn: {}, environment: {}, mounts: [] },
  volumes: [],
};

/** Harbor's own defaults (harbor/models/task/config.py) where task.toml says nothing. */
export const HARBOR_DEFAULTS = {
  /** Harbor's VerifierConfig.timeout_sec. */
  verifierTimeoutSec: 600,
  /** Harbor's EnvironmentConfig.build_timeout_sec. */
  buildTimeoutSec: 600,
  /** Harbor runs the agent without a time limit when task.toml sets none; we keep the project default. */
  agentTimeoutSec: TASK_DEFAULTS.agentTimeoutSec,
  /** Harbor's NetworkPolicy default: a public network unless the task forbids it. */
  allowInternet: true,
} as const;

const positive = z.number().positive();
const networkMode = z.enum(['public', 'no-network', 'allowlist']);
const phaseNetwork = { network_mode: networkMode.optional(), allowed_hosts: z.array(z.string()).optional() };
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
  agent: z.looseObject({ timeout_sec: positive.optional(), user: userName.optional(), ...phaseNetwork }).prefault({}),
  verifier: z
    .looseObject({
      timeout_sec: positive.optional(),
      env: envMap.default({}),
      user: userName.optional(),
      environment_mode: z.enum(['shared', 'separate']).optional(),
      environment: z.record(z.string(), z.unknown()).optional(),
      ...phaseNetwork,
    })
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
      ...phaseNetwork,
      env: envMap.default({}),
      workdir: z.string().min(1).optional(),
      os: z.string().optional(),
      mcp_servers: z.array(z.looseObject({ name: z.string() })).optional(),
      /** harbor/models/task/config.py HealthcheckConfig, with its defaults. */
      healthcheck: z
        .looseObject({
          command: z.string().min(1),
          interval_sec: z.number().nonnegative().default(5),
          timeout_sec: positive.default(30),
          start_period_sec: z.number().nonnegative().default(0),
          start_interval_sec: z.number().nonnegative().default(5),
          retries: z.number().int().positive().default(3),
        })
        .optional(),
      skills_dir: z.string().optional(),
      tpu: z.unknown().optional(),
    })
    .prefault({}),
  solution: z.looseObject({ env: envMap.default({}) }).prefault({}),
  steps: z.array(z.looseObject({ name: z.string() })).optional(),
  multi_step_reward_strategy: z.string().optional(),
  artifacts: z.array(z.unknown()).optional(),
});
export type HarborTaskToml = z.infer<typeof HarborTaskTomlSchema>;

/** Loads the Harbor task in `dir` (any path; stored absolute). Never throws for task problems. */
export async function loadHarborTask(dir: string): Promise<LoadResult> {
  const root = path.resolve(dir);
  const issues: DatasetIssue[] = [];
  const notes: string[] = [];

  const tomlFile = path.join(root, 'task.toml');
  const config = await readTaskToml(tomlFile, issues);

  // Parts of the format we do not run are refused by name, never misread (a partial dataset
  // skips the task and lists the reason).
  const unsupported = (file: string, message: string, field?: string) =>
    issues.push({ file, ...(field && { field }), message: `unsupported: ${message}`, kind: 'unsupported' });
  if (config) {
    const env = config.environment;
    if (config.steps?.length || (await isDir(path.join(root, 'steps'))))
      unsupported(
        config.steps?.length ? tomlFile : path.join(root, 'steps'),
        'multi-step task (steps/, [[steps]]): each step has its own instruction, solution and tests, run in sequence in one environment',
        config.steps?.length ? 'steps' : undefined,
      );
    if (
      config.verifier.environment_mode === 'separate' ||
      config.verifier.environment !== undefined ||
      (await isFile(path.join(root, 'tests', 'Dockerfile')))
    )
      unsupported(
        (await isFile(path.join(root, 'tests', 'Dockerfile'))) ? path.join(root, 'tests', 'Dockerfile') : tomlFile,
        'separate verifier container (tests/Dockerfile, [verifier].environment_mode = "separate" or [verifier.environment]): the tests would run in their own container, not the agent\'s',
      );
    if (env.mcp_servers?.length)
      unsupported(
        tomlFile,
        `MCP servers for the agent ([[environment.mcp_servers]]: ${env.mcp_servers.map((m) => m.name).join(', ')})`,
        'environment.mcp_servers',
      );
    if (env.os !== undefined && env.os.toLowerCase() !== 'linux')
      unsupported(tomlFile, `[environment].os = "${env.os}" (Linux containers only)`, 'environment.os');
    if (env.tpu !== undefined) unsupported(tomlFile, '[environment.tpu]', 'environment.tpu');
    const modes = {
      environment: env.network_mode,
      agent: config.agent.network_mode,
      verifier: config.verifier.network_mode,
    };
    for (const [section, mode] of Object.entries(modes))
      if (mode === 'allowlist')
        unsupported(
          tomlFile,
          `[${section}].network_mode = "allowlist" (a host allowlist cannot be enforced here)`,
          `${section}.network_mode`,
        );
  }

  const instruction = await readText(path.join(root, 'instruction.md'), issues, 'instruction.md');

  const testsDir = path.join(root, 'tests');
  const testSh = path.join(testsDir, 'test.sh');
  if (!(await isFile(testSh))) {
    if (await isFile(path.join(testsDir, 'test.bat')))
      unsupported(path.join(testsDir, 'test.bat'), 'Windows test script (tests/test.bat)');
    else if (!issues.some((i) => i.kind === 'unsupported'))
      issues.push({ file: testSh, message: 'missing tests/test.sh (the Harbor verifier)' });
  }

  const solvePath = path.join(root, 'solution', 'solve.sh');
  const solution: Solution = (await isFile(solvePath)) ? { kind: 'script', path: solvePath } : { kind: 'none' };
  if (solution.kind === 'none') notes.push('no solution/solve.sh: the oracle cannot run');

  let environment: Environment | undefined;
  const envDir = path.join(root, 'environment');
  // Harbor merges environment/docker-compose.yaml over its base, where `main` is the task's
  // container; other services start beside it (datasets/compose.ts).
  const composeFile = path.join(envDir, 'docker-compose.yaml');
  let compose: ComposeRead | undefined;
  if (await isFile(composeFile)) {
    const doc = await readComposeDoc(composeFile, issues);
    if (doc && Object.keys(doc.services as object).some((n) => n !== MAIN_SERVICE))
      compose = readComposeServices(doc, composeFile, issues, notes) ?? { compose: EMPTY_COMPOSE };
  }
  if (compose && !config?.environment.docker_image) {
    const build = compose.mainBuild ?? { contextDir: envDir, dockerfile: 'Dockerfile' };
    if (await isFile(path.resolve(build.contextDir, build.dockerfile))) environment = { kind: 'dockerfile', ...build };
    else
      issues.push({
        file: path.resolve(build.contextDir, build.dockerfile),
        message: 'missing Dockerfile for the task container (service main)',
      });
  } else if (config?.environment.docker_image) {
    // Harbor uploads environment/ into the workdir of a prebuilt image when it holds no build
    // spec (harbor/environments/definition.py should_upload_environment_dir).
    const extra = (await isDir(envDir)) ? await fs.readdir(envDir) : [];
    const upload = extra.length > 0 && !extra.includes('Dockerfile') && !extra.includes('docker-compose.yaml');
    environment = { kind: 'image', image: config.environment.docker_image, ...(upload && { uploadDir: envDir }) };
    if (extra.length > 0 && !upload) notes.push('environment.docker_image set: environment/ is not built');
  } else if (await isDir(envDir)) {
    const before = issues.length;
    environment = await dockerEnvironment(envDir, issues, notes);
    // Several compose services are issue 10's; here such a task is unsupported, not malformed.
    for (const i of issues.slice(before))
      if (/services .*not supported yet|compose environments are not supported yet/.test(i.message)) {
        i.message = `unsupported: ${i.message}`;
        i.kind = 'unsupported';
      }
  } else if (config) {
    // (When task.toml did not load we cannot tell whether it names a docker_image.)
    issues.push({
      file: envDir,
      message: 'missing environment/ folder (and no environment.docker_image in task.toml)',
    });
  }

  // A task laid out for a feature we do not run (steps/ holds the instructions, say) is that
  // feature's task: the files it lacks for a plain task are no further problem.
  const refused = issues.filter((i) => i.kind === 'unsupported');
  if (refused.length > 0) return { tasks: [], issues: refused };
  if (!config || instruction === undefined || !environment || issues.length > 0) return { tasks: [], issues };

  const env = config.environment;
  // harbor/models/task/config.py: network_mode wins; the deprecated allow_internet maps to
  // public / no-network; the default is public. A phase may narrow it, which needs a network
  // that changes under a running container.
  const baseline = env.network_mode ?? (env.allow_internet === false ? 'no-network' : 'public');
  for (const [section, mode] of [
    ['agent', config.agent.network_mode],
    ['verifier', config.verifier.network_mode],
  ] as const)
    if (mode !== undefined && mode !== baseline)
      unsupported(
        tomlFile,
        `[${section}].network_mode = "${mode}" differs from the environment's "${baseline}" (a network that changes between phases)`,
        `${section}.network_mode`,
      );
  if (issues.length > 0) return { tasks: [], issues };

  const networkSource =
    env.network_mode !== undefined
      ? 'task.toml network_mode'
      : env.allow_internet !== undefined
        ? 'task.toml allow_internet'
        : "defaulted to public (Harbor's default)";
  const loader: Record<string, unknown> = { network: `${baseline}: ${networkSource}` };
  if (env.gpus !== undefined) loader.gpus = env.gpus;
  if (config.task) loader.package = config.task;
  if (config.schema_version ?? config.version) loader.schemaVersion = config.schema_version ?? config.version;
  if (config.agent.timeout_sec === undefined)
    notes.push(
      `no [agent].timeout_sec: Harbor would run the agent without a limit; ${HARBOR_DEFAULTS.agentTimeoutSec} s here`,
    );
  if (env.skills_dir !== undefined) notes.push(`skills_dir ${env.skills_dir} is not given to agents here`);
  if (config.artifacts?.length) notes.push('[artifacts] are not collected here (they do not change rewards)');
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
      ...(compose && { compose: compose.compose }),
      ...(env.workdir !== undefined && { workdir: env.workdir }),
      limits: {
        ...(env.cpus !== undefined && { cpus: env.cpus }),
        ...(memoryMb !== undefined && { memoryMb }),
        ...(storageMb !== undefined && { storageMb }),
      },
      allowInternet: baseline === 'public',
      agent: {
        timeoutSec: config.agent.timeout_sec ?? HARBOR_DEFAULTS.agentTimeoutSec,
        ...(config.agent.user !== undefined && { user: config.agent.user }),
      },
      verifier: { kind: 'harbor', testsDir },
      verifierTimeoutSec: config.verifier.timeout_sec ?? HARBOR_DEFAULTS.verifierTimeoutSec,
      ...(config.verifier.user !== undefined && { verifierUser: config.verifier.user }),
      verifierEnv: config.verifier.env,
      env: env.env,
      solutionEnv: config.solution.env,
      ...(env.healthcheck && {
        healthcheck: {
          command: env.healthcheck.command,
          intervalSec: env.healthcheck.interval_sec,
          timeoutSec: env.healthcheck.timeout_sec,
          startPeriodSec: env.healthcheck.start_period_sec,
          startIntervalSec: env.healthcheck.start_interval_sec,
          retries: env.healthcheck.retries,
        },
      }),
      buildTimeoutSec: env.build_timeout_sec ?? HARBOR_DEFAULTS.buildTimeoutSec,
      solution,
      metadata: toPlain({ ...config.metadata, allowInternetDefaulted: networkSource.startsWith('defaulted'), loader }),
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
