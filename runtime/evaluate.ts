// Running a task's reference solution and its hidden tests, for all three formats. Tests reach
// the container only here, after the attempt has ended (formats.md), and nothing here is ever
// shown to an agent or a judge.
import path from 'node:path';
import type { Config } from '../core/config';
import {
  getEvalReport,
  gradePytestRun,
  HARNESS_LABEL,
  parseReward,
  parseTestExitCode,
  PATCH_COMMANDS,
  PATCH_RESET,
  PATCH_REVERSE_CHECK,
  pythonJsonDumps,
  type SwebenchInstanceReport,
} from '../core/grading';
import { evalPlan, type EvalPlan } from '../core/swebenchSpecs';
import type { Task } from '../core/task';
import { writeFileAtomic, writeJson } from './artifacts';
import {
  copyIntoSandbox,
  createSandbox,
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
  /** SWE-bench: the official per-instance report. */
  report?: SwebenchInstanceReport;
  /** SWE-bench: the harness version whose grading produced the report. */
  harness?: string;
  verifierExitCode?: number;
  timedOut?: boolean;
  durationMs: number;
}

/** The sandbox a task's attempts run in: its limits, falling back to the config's defaults. */
export function sandboxSpec(
  task: Task,
  config: Config,
  image: string,
  name: string,
  labels: Record<string, string>,
): SandboxSpec {
  return {
    name,
    image,
    labels,
    workdir: task.workdir,
    env: task.env,
    cpus: task.limits.cpus ?? config.sandbox.cpus,
    memoryMb: task.limits.memoryMb ?? config.sandbox.memoryMb,
    pids: task.limits.pids ?? config.sandbox.pids,
    storageMb: task.limits.storageMb ?? config.sandbox.storageMb,
    allowInternet: task.allowInternet,
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

/** The oracle: copies the reference solution to /solution (only now) and runs it. */
export async function runSolutionScript(task: Task, containerId: string, logDir: string): Promise<ExecResult> {
  if (task.solution.kind !== 'script') throw new Error(`${task.id}: no solution script to run`);
  const dir = path.dirname(task.solution.path);
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

/** Harbor and Terminal-Bench 1: the tests run in the attempt's own container, on its final state. */
export async function evaluateContainer(task: Task, containerId: string, logDir: string): Promise<Outcome> {
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
    await execInSandbox({
      containerId,
      command: 'mkdir -p /logs/verifier /tests && rm -f /logs/verifier/reward.txt /logs/verifier/reward.json',
      timeoutSec: 30,
      outputCapBytes: 4096,
    });
    await copyIntoSandbox(containerId, v.testsDir, '/tests');
    const r = await run('bash /tests/test.sh', task.verifierEnv);
    saveLog(logDir, 'verifier.log', r);
    const [txt, json] = await Promise.all([
      readFileFromSandbox(containerId, '/logs/verifier/reward.txt'),
      readFileFromSandbox(containerId, '/logs/verifier/reward.json'),
    ]);
    const parsed = parseReward(txt?.toString('utf8'), json?.toString('utf8'));
    const base = { verifierExitCode: r.exitCode, timedOut: r.timedOut, durationMs: Date.now() - started };
    if ('error' in parsed)
      return {
        ...base,
        passed: false,
        reason: r.timedOut ? `verifier timed out after ${task.verifierTimeoutSec} s` : parsed.error,
      };
    return {
      ...base,
      passed: parsed.reward >= 1,
      reward: parsed.reward,
      rewards: parsed.rewards,
      reason: `reward ${parsed.reward}`,
    };
  }

  if (v.kind === 'terminal-bench') {
    await execInSandbox({ containerId, command: 'mkdir -p /tests', timeoutSec: 30, outputCapBytes: 4096 });
    if (v.testsDir) await copyIntoSandbox(containerId, v.testsDir, '/tests');
    const runTests = `/tests/${path.basename(v.runTestsPath)}`;
    await copyIntoSandbox(containerId, v.runTestsPath, runTests);
    const r = await run(`bash ${runTests}`, { TEST_DIR: '/tests', ...task.verifierEnv });
    saveLog(logDir, 'verifier.log', r);
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
