// Running a task's reference solution and its hidden tests, for all three formats. Tests reach
// the container only here, after the attempt has ended (formats.md), and nothing here is ever
// shown to an agent or a judge.
import path from 'node:path';
import { interpolate, interpolateEnvironment, interpolateService } from '../core/compose';
import type { Config } from '../core/config';
import { keystrokes } from '../core/terminalCommands';
import {
  getEvalReport,
  gradePytestRun,
  HARNESS_LABEL,
  parseTestExitCode,
  PATCH_COMMANDS,
  PATCH_RESET,
  PATCH_REVERSE_CHECK,
  pythonJsonDumps,
  type SwebenchInstanceReport,
} from '../core/grading';
import { evalPlan, type EvalPlan } from '../core/swebenchSpecs';
import {
  effectiveNetwork,
  HARBOR_PATHS,
  headlineReward,
  ORACLE_ENV,
  parseHarborRewards,
  resolveEnvTemplates,
  rewardsPass,
  scriptCommand,
  type NetworkMode,
} from '../core/harbor';
import type { Task } from '../core/task';
import { execDirect } from './directExec';
import { composeSpec } from './services';
import { writeFileAtomic, writeJson } from './artifacts';
import {
  assertSandboxRunning,
  copyIntoSandbox,
  createSandbox,
  diskGuard,
  execInSandbox,
  readFileFromSandbox,
  removeSandbox,
  writeFileToSandbox,
  type ExecResult,
  type SandboxSpec,
} from './sandbox';

/** Output kept from solution and verifier runs in the run folder (the agent's own cap is smaller). */
const LOG_CAP_BYTES = 1_000_000;

export interface Outcome {
  passed: boolean;
  /** One line: why it passed or failed. */
  reason: string;
  reward?: number;
  rewards?: Record<string, number>;
  /**
   * The verifier could not give a reward (Harbor: no reward file, an unreadable one, a verifier
   * timeout): the attempt errs; it is not a reward of 0.
   */
  error?: string;
  /** SWE-bench: the official per-instance report. */
  report?: SwebenchInstanceReport;
  /** SWE-bench: the harness version whose grading produced the report. */
  harness?: string;
  verifierExitCode?: number;
  timedOut?: boolean;
  durationMs: number;
}

/** Host variables never passed into a container, whatever a task's env templates ask for. */
function withheldVariables(config: Config): Set<string> {
  return new Set(['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', ...(config.model.apiKeyEnv ? [config.model.apiKeyEnv] : [])]);
}

/** A task's env with Harbor's `${VAR}` templates filled from the worker's environment. */
export function resolvedEnv(task: Task, config: Config, env: Record<string, string>): Record<string, string> {
  if (task.format !== 'harbor') return env;
  const r = resolveEnvTemplates(env, process.env, withheldVariables(config));
  if ('error' in r) throw new Error(`${task.id}: ${r.error}`);
  return r.env;
}

/** The network a task's sandboxes get on this host (core/harbor.ts effectiveNetwork). */
export function taskNetwork(task: Task, config: Config): { requested: NetworkMode; effective: NetworkMode } {
  return effectiveNetwork(task.allowInternet, config.sandbox.network);
}

/**
 * What Compose interpolates a task's compose file from, as Harbor starts it
 * (harbor/environments/docker/docker.py _compose_env_vars): the worker's environment (model keys
 * withheld), the task's resolved env over it, Harbor's infrastructure variables over both.
 */
export function composeVars(task: Task, config: Config, mainImage: string): Record<string, string | undefined> {
  const host = { ...process.env };
  for (const k of withheldVariables(config)) delete host[k];
  return {
    ...host,
    ...resolvedEnv(task, config, task.env),
    MAIN_IMAGE_NAME: mainImage,
    ...(task.environment.kind === 'dockerfile' && { CONTEXT_DIR: task.environment.contextDir }),
    ...(task.limits.cpus !== undefined && { CPUS: String(task.limits.cpus) }),
    ...(task.limits.memoryMb !== undefined && { MEMORY: `${task.limits.memoryMb}M` }),
  };
}

/**
 * The sandbox a task's attempts run in: its limits, falling back to the config's defaults; with
 * compose services, their images (`serviceImages`, from prepareServiceImages) and interpolated
 * definitions, and `main`'s compose environment under the task's own env (Harbor's env override
 * file comes after the task's compose file).
 */
export function sandboxSpec(
  task: Task,
  config: Config,
  image: string,
  name: string,
  labels: Record<string, string>,
  serviceImages?: Record<string, string>,
): SandboxSpec {
  let compose: SandboxSpec['compose'];
  let mainEnv: Record<string, string> = {};
  if (task.compose && task.compose.services.length > 0) {
    const vars = composeVars(task, config, image);
    const services = task.compose.services.map((s) => {
      const img = serviceImages?.[s.name];
      if (!img) throw new Error(`${task.id}: no image prepared for docker-compose service ${s.name}`);
      return { ...interpolateService(s, vars), image: img };
    });
    compose = composeSpec(task.compose, services);
    mainEnv = interpolateEnvironment(task.compose.main.environment, vars, (v) => {
      const r = interpolate(v, vars);
      if ('error' in r) throw new Error(`${task.id}: docker-compose service main: ${r.error}`);
      return r.value;
    });
  }
  return {
    name,
    image,
    labels,
    workdir: task.workdir,
    env: { ...mainEnv, ...resolvedEnv(task, config, task.env) },
    ...(compose && { compose }),
    cpus: task.limits.cpus ?? config.sandbox.cpus,
    memoryMb: task.limits.memoryMb ?? config.sandbox.memoryMb,
    pids: task.limits.pids ?? config.sandbox.pids,
    storageMb: task.limits.storageMb ?? config.sandbox.storageMb,
    allowInternet: taskNetwork(task, config).effective === 'public',
    backgroundServices: task.backgroundServices ?? config.sandbox.backgroundServices,
    minHostFreeMb: config.sandbox.minHostFreeMb,
  };
}

function saveLog(dir: string, name: string, r: ExecResult) {
  writeFileAtomic(
    path.join(dir, name),
    `${r.output}\n[exit ${r.exitCode}${r.timedOut ? ', timed out' : ''}, ${r.durationMs} ms]\n`,
  );
}

/**
 * What a new container needs before anything runs in it: a prebuilt Harbor image gets the task's
 * environment/ files in its workdir (harbor/environments/base.py _upload_environment_dir_after_start:
 * [environment].workdir, else the container's own working directory), root-owned as Harbor's copy.
 */
export async function prepareSandbox(task: Task, containerId: string, config: Config): Promise<void> {
  const env = task.environment;
  if (env.kind === 'image' && env.uploadDir) {
    let workdir = task.workdir;
    if (!workdir) {
      const r = await execDirect({ containerId, command: 'pwd', timeoutSec: 30, outputCapBytes: 4096 });
      workdir = r.output.trim() || '/';
    }
    await copyIntoSandbox(containerId, env.uploadDir, workdir);
  }
  if (task.healthcheck) await runHealthcheck(task, task.healthcheck, containerId, config);
}

/** harbor/environments/base.py run_healthcheck, as the container's default user in the workdir. */
async function runHealthcheck(
  task: Task,
  hc: NonNullable<Task['healthcheck']>,
  containerId: string,
  config: Config,
): Promise<void> {
  const startPeriodEnd = Date.now() + hc.startPeriodSec * 1000;
  let failures = 0;
  for (;;) {
    const inStartPeriod = Date.now() < startPeriodEnd;
    const r = await execDirect({
      containerId,
      command: hc.command,
      timeoutSec: Math.max(1, Math.floor(hc.timeoutSec)),
      outputCapBytes: 8000,
      cwd: task.workdir,
      env: resolvedEnv(task, config, task.env),
    });
    if (r.exitCode === 0) return;
    if (!inStartPeriod && ++failures >= hc.retries)
      throw new Error(
        `healthcheck failed after ${hc.retries} consecutive retries: ${hc.command} (last exit ${r.exitCode}: ${r.output.trim().slice(-300)})`,
      );
    await new Promise((res) => setTimeout(res, (inStartPeriod ? hc.startIntervalSec : hc.intervalSec) * 1000));
  }
}

/** Reads a file from the sandbox into the attempt's log folder, if it is there. */
async function fetchLog(containerId: string, from: string, to: string): Promise<string | undefined> {
  const data = await readFileFromSandbox(containerId, from).catch(() => undefined);
  if (data === undefined) return undefined;
  writeFileAtomic(to, data);
  return data.toString('utf8');
}

/** Runs as root whatever the task's users: set-up steps Harbor also runs as root. */
async function asRoot(containerId: string, command: string): Promise<void> {
  const r = await execDirect({ containerId, command, timeoutSec: 60, outputCapBytes: 8000, user: 'root' });
  if (r.exitCode !== 0) throw new Error(`${command}: exit ${r.exitCode}: ${r.output.trim()}`);
}

/**
 * The oracle: copies the reference solution into the container (only now) and runs it. Harbor
 * tasks run as Harbor's oracle agent runs them (harbor/agents/oracle.py): solution/ to /solution,
 * `chmod +x` as root, `(/solution/solve.sh) > /logs/agent/oracle.txt 2>&1` under `bash -c` as the
 * agent's user, with DEBIAN_FRONTEND=noninteractive and [solution].env over the task's env.
 */
export async function runSolutionScript(
  task: Task,
  containerId: string,
  logDir: string,
  config: Config,
): Promise<ExecResult> {
  if (task.solution.kind === 'commands') {
    // Terminal-Bench 1's solution.yaml: its keystrokes, in order, on one shell's standard input
    // (core/terminalCommands.ts); bash leaves the input just after each command it runs, so a
    // program a command starts reads the keystrokes that follow, as from the terminal.
    await writeFileToSandbox(containerId, '/oracle/solution.keys', keystrokes(task.solution.commands));
    const r = await execInSandbox({
      containerId,
      command: 'bash < /oracle/solution.keys',
      timeoutSec: task.agent.timeoutSec,
      outputCapBytes: LOG_CAP_BYTES,
      cwd: task.workdir,
      env: task.env,
      user: task.agent.user,
    });
    saveLog(logDir, 'solution.log', r);
    return r;
  }
  if (task.solution.kind !== 'script') throw new Error(`${task.id}: no solution script to run`);
  const dir = path.dirname(task.solution.path);
  if (task.format === 'harbor') {
    const solve = path.posix.join(HARBOR_PATHS.solution, path.basename(task.solution.path));
    await copyIntoSandbox(containerId, dir, HARBOR_PATHS.solution);
    await asRoot(containerId, `chmod +x ${solve}`);
    const env = resolvedEnv(task, config, { ...task.env, ...ORACLE_ENV, ...task.solutionEnv });
    // The command server's disk watchdog does not see this exec: cap files, then measure after.
    const disk = await diskGuard(containerId);
    const cap = disk.fileSizeLimitKb ? `ulimit -f ${disk.fileSizeLimitKb} 2>/dev/null; ` : '';
    const r = await execDirect({
      containerId,
      command: cap + scriptCommand(solve, HARBOR_PATHS.oracleLog),
      timeoutSec: task.agent.timeoutSec,
      outputCapBytes: LOG_CAP_BYTES,
      user: task.agent.user,
      cwd: task.workdir,
      env,
    });
    const log = await fetchLog(containerId, HARBOR_PATHS.oracleLog, path.join(logDir, 'oracle.txt'));
    saveLog(logDir, 'solution.log', { ...r, output: `${log ?? ''}${r.output}` });
    if (r.exitCode !== 0) writeFileAtomic(path.join(logDir, 'exit-code.txt'), String(r.exitCode));
    await disk.check();
    return r;
  }
  await copyIntoSandbox(containerId, dir, '/solution');
  const r = await execInSandbox({
    containerId,
    command: `bash /solution/${path.basename(task.solution.path)}`,
    timeoutSec: task.agent.timeoutSec,
    outputCapBytes: LOG_CAP_BYTES,
    cwd: task.workdir,
    env: task.env,
    user: task.agent.user,
  });
  saveLog(logDir, 'solution.log', r);
  return r;
}

/**
 * Harbor's verifier (harbor/verifier/verifier.py): old reward files removed as root, tests/ to
 * /tests, `chmod +x` as root, `(/tests/test.sh) > /logs/verifier/test-stdout.txt 2>&1` under
 * `bash -c` as the verifier's user with [verifier].env over the task's env; the script's exit
 * code is ignored; reward.json is read before reward.txt; no reward is an error.
 */
async function evaluateHarbor(
  task: Task,
  containerId: string,
  logDir: string,
  testsDir: string,
  config: Config,
): Promise<Outcome> {
  const started = Date.now();
  await asRoot(
    containerId,
    `mkdir -p ${HARBOR_PATHS.verifierDir} && chmod 777 ${HARBOR_PATHS.verifierDir} && rm -f -- ${HARBOR_PATHS.rewardTxt} ${HARBOR_PATHS.rewardJson}`,
  );
  await copyIntoSandbox(containerId, testsDir, HARBOR_PATHS.tests);
  const testSh = path.posix.join(HARBOR_PATHS.tests, 'test.sh');
  await asRoot(containerId, `chmod +x ${testSh}`);
  const env = resolvedEnv(task, config, { ...task.env, ...task.verifierEnv });
  const r = await execDirect({
    containerId,
    command: scriptCommand(testSh, HARBOR_PATHS.testStdout),
    timeoutSec: task.verifierTimeoutSec,
    outputCapBytes: LOG_CAP_BYTES,
    user: task.verifierUser,
    cwd: task.workdir,
    env,
  });
  const out = await fetchLog(containerId, HARBOR_PATHS.testStdout, path.join(logDir, 'test-stdout.txt'));
  saveLog(logDir, 'verifier.log', { ...r, output: `${out ?? ''}${r.output}` });
  const base = { verifierExitCode: r.exitCode, timedOut: r.timedOut, durationMs: Date.now() - started };
  if (r.timedOut) {
    const error = `verifier timed out after ${task.verifierTimeoutSec} s`;
    return { ...base, passed: false, reason: error, error };
  }
  const [txt, json] = await Promise.all([
    readFileFromSandbox(containerId, HARBOR_PATHS.rewardTxt),
    readFileFromSandbox(containerId, HARBOR_PATHS.rewardJson),
  ]);
  if (json) writeFileAtomic(path.join(logDir, 'reward.json'), json);
  if (txt) writeFileAtomic(path.join(logDir, 'reward.txt'), txt);
  const parsed = parseHarborRewards(txt?.toString('utf8'), json?.toString('utf8'));
  if ('error' in parsed)
    return { ...base, passed: false, reason: `verifier error: ${parsed.error}`, error: parsed.error };
  const reward = headlineReward(parsed.rewards);
  const shown =
    Object.keys(parsed.rewards).length > 1 || parsed.rewards.reward === undefined
      ? Object.entries(parsed.rewards)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')
      : `reward ${reward}`;
  return { ...base, passed: rewardsPass(parsed.rewards), reward, rewards: parsed.rewards, reason: shown };
}

/** Harbor and Terminal-Bench 1: the tests run in the attempt's own container, on its final state. */
export async function evaluateContainer(
  task: Task,
  containerId: string,
  logDir: string,
  config: Config,
): Promise<Outcome> {
  const started = Date.now();
  const v = task.verifier;
  const run = (command: string, env: Record<string, string>) =>
    execInSandbox({
      containerId,
      command,
      env: { ...task.env, ...env },
      user: task.verifierUser,
      cwd: task.workdir,
      timeoutSec: task.verifierTimeoutSec,
      outputCapBytes: LOG_CAP_BYTES,
    });

  if (v.kind === 'harbor') {
    const outcome = await evaluateHarbor(task, containerId, logDir, v.testsDir, config);
    // A container that went away under the verifier (a daemon restart, `docker rm`) leaves no
    // reward file: that is a lost sandbox, to be restored and evaluated again, not a verdict.
    await assertSandboxRunning(containerId);
    return outcome;
  }

  if (v.kind === 'terminal-bench') {
    await execInSandbox({ containerId, command: 'mkdir -p /tests', timeoutSec: 30, outputCapBytes: 4096 });
    if (v.testsDir) await copyIntoSandbox(containerId, v.testsDir, '/tests');
    const runTests = `/tests/${path.basename(v.runTestsPath)}`;
    await copyIntoSandbox(containerId, v.runTestsPath, runTests);
    const r = await run(`bash ${runTests}`, { TEST_DIR: '/tests', ...task.verifierEnv });
    saveLog(logDir, 'verifier.log', r);
    await assertSandboxRunning(containerId);
    const graded = gradePytestRun(r.output);
    return {
      passed: graded.passed && !r.timedOut,
      reason: r.timedOut ? `tests timed out after ${task.verifierTimeoutSec} s` : graded.reason,
      verifierExitCode: r.exitCode,
      timedOut: r.timedOut,
      durationMs: Date.now() - started,
    };
  }
  throw new Error(`${task.id}: ${v.kind} tasks are evaluated from a patch, not a container`);
}

/** A test run's whole output is kept for grading: a cut in the middle would lose test statuses. */
const TEST_OUTPUT_CAP_BYTES = 256_000_000;

/** The eval plan of a SWE-bench task: its own script, or the spec table's with the recipe's overrides. */
export function swebenchPlan(task: Task, config: Config): EvalPlan {
  const env = task.environment;
  const v = task.verifier;
  if (env.kind !== 'swebench' || v.kind !== 'swebench') throw new Error(`${task.id}: not a SWE-bench task`);
  return evalPlan(
    {
      repo: env.repo,
      version: env.version,
      baseCommit: env.baseCommit,
      testPatch: v.testPatch,
      evalScript: v.evalScript,
      logParser: v.logParser,
      evalType: v.evalType,
    },
    config.swebench.recipes[env.repo],
  );
}

/**
 * SWE-bench, as the harness's run_instance does it: a fresh container from the instance image,
 * the candidate patch applied with the harness's fallback chain, then the eval script (test files
 * reset to base_commit, test_patch, tests between markers, reset), graded from its output with
 * the instance's log parser. report.json is the harness's, byte for byte; grading.json says which
 * harness version and plan produced it. An empty patch (which the harness does not evaluate: it
 * counts it as an empty-patch instance) still has its tests run, so a maintainer learns whether
 * FAIL_TO_PASS really fails without a fix; its report says patch_exists false and never resolved.
 */
export async function evaluatePatch(
  task: Task,
  patch: string,
  spec: SandboxSpec,
  config: Config,
  logDir: string,
): Promise<Outcome> {
  const v = task.verifier;
  if (v.kind !== 'swebench') throw new Error(`${task.id}: not a SWE-bench task`);
  const started = Date.now();
  const plan = swebenchPlan(task, config);
  const repo = task.workdir ?? '/testbed';
  const patchExists = patch.trim() !== '';
  writeFileAtomic(path.join(logDir, 'eval.sh'), plan.script);
  const writeReports = (report: Record<string, SwebenchInstanceReport>, extra: Record<string, unknown>) => {
    writeFileAtomic(path.join(logDir, 'report.json'), pythonJsonDumps(report));
    writeJson(path.join(logDir, 'grading.json'), {
      harness: HARNESS_LABEL,
      instance_id: task.id,
      plan: { source: plan.source, log_parser: plan.logParser, eval_type: plan.evalType, test_cmd: plan.testCmd },
      ...extra,
    });
  };
  const { containerId } = await createSandbox(spec);
  try {
    const sh = (command: string, timeoutSec = 120, outputCapBytes = LOG_CAP_BYTES) =>
      execInSandbox({ containerId, command, cwd: repo, timeoutSec, outputCapBytes, user: 'root' });
    if (patchExists) {
      writeFileAtomic(path.join(logDir, 'patch.diff'), patch);
      await writeFileToSandbox(containerId, '/tmp/patch.diff', patch);
      const applyLog: string[] = [];
      let applied = false;
      for (const [i, cmd] of PATCH_COMMANDS.entries()) {
        if (i > 0) await sh(PATCH_RESET);
        const r = await sh(`${cmd} /tmp/patch.diff`);
        applyLog.push(`$ ${cmd} /tmp/patch.diff\n${r.output}[exit ${r.exitCode}]`);
        if (r.exitCode === 0) {
          applied = true;
          break;
        }
      }
      if (!applied) {
        // The chain can leave the patch applied while every command exited non-zero.
        const r = await sh(`${PATCH_REVERSE_CHECK} /tmp/patch.diff`);
        applyLog.push(`$ ${PATCH_REVERSE_CHECK} /tmp/patch.diff\n${r.output}[exit ${r.exitCode}]`);
        applied = r.exitCode === 0;
      }
      writeFileAtomic(path.join(logDir, 'apply.log'), `${applyLog.join('\n')}\n`);
      if (!applied) {
        // The harness stops here with an error and writes no report.json; ours says what happened.
        const report: SwebenchInstanceReport = {
          patch_is_None: false,
          patch_exists: true,
          patch_successfully_applied: false,
          resolved: false,
          infra_failure: false,
        };
        writeReports({ [task.id]: report }, { error: 'patch does not apply' });
        return {
          passed: false,
          reason: 'patch does not apply',
          report,
          harness: HARNESS_LABEL,
          durationMs: Date.now() - started,
        };
      }
    }
    await writeFileToSandbox(containerId, '/eval.sh', plan.script);
    const r = await sh('/bin/bash /eval.sh', task.verifierTimeoutSec, TEST_OUTPUT_CAP_BYTES);
    let testOutput = r.output;
    if (r.timedOut) testOutput += `\n\nTimeout error: ${task.verifierTimeoutSec} seconds exceeded.`;
    writeFileAtomic(path.join(logDir, 'test_output.txt'), testOutput);
    const graded = getEvalReport({
      instanceId: task.id,
      modelPatch: patch,
      failToPass: v.failToPass,
      passToPass: v.passToPass,
      logParser: plan.logParser,
      evalType: plan.evalType,
      testOutput,
    });
    const report = graded.report[task.id]!;
    if (!patchExists) {
      report.patch_exists = false;
      report.resolved = false;
    }
    writeReports(graded.report, {
      resolution: graded.resolution ?? null,
      test_exit_code: parseTestExitCode(testOutput) ?? null,
      ...(r.timedOut && { error: `tests timed out after ${task.verifierTimeoutSec} s` }),
      status_map: Object.fromEntries(graded.statusMap),
    });
    const f2p = report.tests_status?.FAIL_TO_PASS;
    const p2p = report.tests_status?.PASS_TO_PASS;
    const why = !report.patch_successfully_applied
      ? `no test results in the output (${report.infra_failure_reason ?? 'see test_output.txt'})`
      : `FAIL_TO_PASS ${f2p?.success.length ?? 0}/${v.failToPass.length}, PASS_TO_PASS ${p2p?.success.length ?? 0}/${v.passToPass.length}`;
    return {
      // For the verdict, what counts is whether the tests pass with this patch (even an empty one).
      passed: graded.resolution === 'RESOLVED_FULL',
      reason: `${why}${r.timedOut ? ' (tests timed out)' : ''}`,
      report,
      harness: HARNESS_LABEL,
      verifierExitCode: r.exitCode,
      timedOut: r.timedOut,
      durationMs: Date.now() - started,
    };
  } finally {
    await removeSandbox(spec.name);
  }
}
