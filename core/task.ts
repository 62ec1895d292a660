// The one task type every format is loaded into. Workflows, activities and tests share it, and a
// run folder stores it as JSON, so everything here must be plain serialisable data.
import { z } from 'zod';
import { ComposeEnvironmentSchema } from './compose';
import { issueText } from './input';
import { TerminalCommandsSchema } from './terminalCommands';

export const TASK_FORMATS = ['harbor', 'terminal-bench', 'swebench'] as const;
export type TaskFormat = (typeof TASK_FORMATS)[number];

/** Resource limits for a sandbox. Missing values fall back to the config's sandbox defaults. */
export const LimitsSchema = z.object({
  cpus: z.number().positive().optional(),
  memoryMb: z.number().int().positive().optional(),
  storageMb: z.number().int().positive().optional(),
  pids: z.number().int().positive().optional(),
});
export type Limits = z.infer<typeof LimitsSchema>;

/** How the task's image comes to be. */
export const EnvironmentSchema = z.discriminatedUnion('kind', [
  // Built from a Dockerfile; the context folder is hashed for the image cache.
  z.object({ kind: z.literal('dockerfile'), contextDir: z.string(), dockerfile: z.string() }),
  // A prebuilt image named by the task (Harbor's docker_image); Harbor copies the files of an
  // environment/ folder without a build spec into the workdir of each new container.
  z.object({ kind: z.literal('image'), image: z.string(), uploadDir: z.string().optional() }),
  // A SWE-bench instance: the official image if present locally, else a recipe from config.
  z.object({
    kind: z.literal('swebench'),
    repo: z.string(),
    baseCommit: z.string(),
    environmentSetupCommit: z.string().optional(),
    version: z.string().optional(),
    officialImage: z.string(),
    /** Other names of the same image (pulled from Docker Hub, or built locally by the harness). */
    officialImageAliases: z.array(z.string()).default([]),
  }),
]);
export type Environment = z.infer<typeof EnvironmentSchema>;

/** The reference solution the "oracle" runs. */
export const SolutionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('script'), path: z.string() }), // a shell script on the host
  z.object({ kind: z.literal('patch'), patch: z.string() }), // a diff applied to the repository
  // Terminal-Bench 1's solution.yaml: terminal commands typed in order (core/terminalCommands.ts).
  z.object({ kind: z.literal('commands'), path: z.string(), commands: TerminalCommandsSchema }),
  z.object({ kind: z.literal('none') }),
]);
export type Solution = z.infer<typeof SolutionSchema>;

/** The hidden tests. Never shown to an agent or a judge. */
export const VerifierSchema = z.discriminatedUnion('kind', [
  // Harbor: tests/ copied to /tests, tests/test.sh writes /logs/verifier/reward.{txt,json}.
  z.object({ kind: z.literal('harbor'), testsDir: z.string() }),
  // Terminal-Bench 1: run-tests.sh with tests/ at $TEST_DIR; pytest's outcome decides.
  z.object({
    kind: z.literal('terminal-bench'),
    testsDir: z.string().optional(),
    runTestsPath: z.string(),
    parser: z.string(),
  }),
  // SWE-bench: test_patch on top of the candidate patch; FAIL_TO_PASS and PASS_TO_PASS decide.
  z.object({
    kind: z.literal('swebench'),
    testPatch: z.string(),
    failToPass: z.array(z.string()),
    passToPass: z.array(z.string()),
    /** Newer dataset revisions carry these; the harness then runs them as given. */
    evalScript: z.string().optional(),
    logParser: z.string().optional(),
    evalType: z.enum(['pass_and_fail', 'fail_only']).optional(),
  }),
]);
export type Verifier = z.infer<typeof VerifierSchema>;

export const TaskSchema = z.object({
  /** Unique within a dataset; used in container names, run folders and workflow ids. */
  id: z.string().min(1),
  format: z.enum(TASK_FORMATS),
  /** Where the task was read from: a task folder or an instance file. */
  source: z.string(),
  /** The task as the agent sees it. */
  instruction: z.string(),
  environment: EnvironmentSchema,
  /**
   * Other services the task's container runs beside (Harbor's environment/docker-compose.yaml with
   * several services): started on a network of their own with it, removed with it.
   */
  compose: ComposeEnvironmentSchema.optional(),
  /** Working directory of agent commands (the repository for SWE-bench: /testbed). */
  workdir: z.string().optional(),
  limits: LimitsSchema,
  allowInternet: z.boolean(),
  /**
   * Processes a command leaves running stay for later commands (a server the task starts);
   * otherwise they are killed after each command. Absent: the config's sandbox.backgroundServices.
   */
  backgroundServices: z.boolean().optional(),
  agent: z.object({
    timeoutSec: z.number().positive(),
    user: z.string().optional(),
  }),
  verifier: VerifierSchema,
  verifierTimeoutSec: z.number().positive(),
  verifierUser: z.string().optional(),
  verifierEnv: z.record(z.string(), z.string()),
  /**
   * Environment variables for every process in the sandbox (Harbor's [environment].env). Harbor
   * values may be `${VAR}` / `${VAR:-default}` templates, resolved from the worker's environment
   * when a sandbox starts (core/harbor.ts resolveEnvTemplates).
   */
  env: z.record(z.string(), z.string()),
  /**
   * Harbor's [environment.healthcheck]: run after a container starts, before anything else, with
   * Docker HEALTHCHECK semantics (failures in the start period do not count; `retries`
   * consecutive failures after it fail the attempt).
   */
  healthcheck: z
    .object({
      command: z.string(),
      intervalSec: z.number().nonnegative(),
      timeoutSec: z.number().positive(),
      startPeriodSec: z.number().nonnegative(),
      startIntervalSec: z.number().nonnegative(),
      retries: z.number().int().positive(),
    })
    .optional(),
  /** Extra variables for the reference solution only (Harbor's [solution].env). */
  solutionEnv: z.record(z.string(), z.string()).default({}),
  buildTimeoutSec: z.number().positive(),
  solution: SolutionSchema,
  /** Format-specific fields kept for reports (SWE-bench instance fields, Harbor metadata). */
  metadata: z.record(z.string(), z.unknown()),
});
export type Task = z.infer<typeof TaskSchema>;

/** Defaults where a format says nothing, chosen to match the formats' own harnesses. */
export const TASK_DEFAULTS = {
  agentTimeoutSec: 1800,
  verifierTimeoutSec: 900,
  buildTimeoutSec: 1800,
} as const;

/** A problem in a dataset, with the file and field it concerns. */
export interface DatasetIssue {
  file: string;
  field?: string;
  message: string;
  /**
   * 'unsupported': well-formed, but uses something this project does not run (named in the
   * message); absent: the input is malformed. A partial dataset skips both kinds of task.
   */
  kind?: 'unsupported';
}

/** A task a partial dataset skips, with why: it uses something not supported here, or is malformed. */
export interface RejectedTask {
  id: string;
  source: string;
  format: string;
  kind: 'unsupported' | 'malformed';
  /** One line per problem, naming the file (relative to the task folder) and field. */
  reasons: string[];
  issues: DatasetIssue[];
}

/** Thrown when a dataset does not load; lists every problem found, not just the first. */
export class DatasetError extends Error {
  constructor(readonly issues: DatasetIssue[]) {
    super(
      `dataset has ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n` +
        issues.map((i) => `  ${i.file}${i.field ? ` [${i.field}]` : ''}: ${i.message}`).join('\n'),
    );
    this.name = 'DatasetError';
  }
}

/** Turns zod's issues into DatasetIssues naming the field by its dotted path. */
export function zodIssues(file: string, error: z.ZodError, prefix = ''): DatasetIssue[] {
  return error.issues.map((i) => ({
    file,
    field: [prefix, ...i.path.map(String)].filter(Boolean).join('.') || undefined,
    message: issueText(i),
  }));
}

/** A name safe for Docker containers/images and file paths, still readable. */
export function slug(id: string, max = 48): string {
  const s = id
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '');
  return (s || 'task').slice(0, max);
}

/** FNV-1a: a short, stable hash usable in workflow code (no node:crypto there). */
export function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * A container's name: readable (run, task, attempt, try) and unique even when two long task
 * ids share a prefix, thanks to the hash of the full ids.
 */
export function containerName(runId: string, taskId: string, attempt: string, tryNo: number): string {
  return `as-${slug(runId, 20)}-${slug(taskId, 32)}-${slug(attempt, 16)}-${tryNo}-${shortHash(`${runId}\0${taskId}`)}`;
}

/** The little a workflow needs to know about a task; the task itself stays in the run folder. */
export interface TaskRef {
  id: string;
  format: TaskFormat;
  /** 'patch': graded from a diff in a fresh container (SWE-bench); 'container': graded in place. */
  grading: 'container' | 'patch';
  hasSolution: boolean;
  agentTimeoutSec: number;
  verifierTimeoutSec: number;
  buildTimeoutSec: number;
}

export function taskRef(task: Task): TaskRef {
  return {
    id: task.id,
    format: task.format,
    grading: task.verifier.kind === 'swebench' ? 'patch' : 'container',
    hasSolution: task.solution.kind !== 'none',
    agentTimeoutSec: task.agent.timeoutSec,
    verifierTimeoutSec: task.verifierTimeoutSec,
    buildTimeoutSec: task.buildTimeoutSec,
  };
}
