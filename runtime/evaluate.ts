// Running a task's reference solution and its hidden tests, for all three formats. Tests reach
// the container only here, after the attempt has ended (formats.md), and nothing here is ever
// shown to an agent or a judge.
import path from 'node:path';
import type { Config } from '../core/config';
import {
  diffFiles,
  gradePytestRun,
  gradeSwebench,
  parsePytestLog,
  parseReward,
  PATCH_COMMANDS,
  type SwebenchInstanceReport,
} from '../core/grading';
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

/** Test command for a SWE-bench instance: the recipe's, else pytest; official images use their conda env. */
function swebenchTestCommand(task: Task, config: Config, testFiles: string[]): string {
  const env = task.environment.kind === 'swebench' ? task.environment : undefined;
  const recipe = env ? config.swebench.recipes[env.repo] : undefined;
  const cmd = (recipe?.testCmd ?? 'python3 -m pytest -rA -p no:cacheprovider {tests}').replace(
    '{tests}',
    testFiles.map((f) => `'${f}'`).join(' '),
  );
  return `if [ -f /opt/miniconda3/bin/activate ]; then . /opt/miniconda3/bin/activate testbed; fi; ${cmd}`;
}

/**
 * SWE-bench: a fresh container from the instance image, the candidate patch applied with the
 * harness's fallback chain, the test_patch on top, the tests run and graded. An empty patch is
 * reported as such (patch_exists false, never resolved) but its tests still run, which is what
 * tells a maintainer whether FAIL_TO_PASS really fails without a fix.
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
  const repo = task.workdir ?? '/testbed';
  const { containerId } = await createSandbox(spec);
  try {
    const sh = (command: string, timeoutSec = 120) =>
      execInSandbox({ containerId, command, cwd: repo, timeoutSec, outputCapBytes: LOG_CAP_BYTES });
    const report: SwebenchInstanceReport = {
      patch_is_None: false,
      patch_exists: patch.trim() !== '',
      patch_successfully_applied: false,
      resolved: false,
    };
    const applyLog: string[] = [];
    if (report.patch_exists) {
      await writeFileToSandbox(containerId, '/tmp/agentscale/model.patch', patch.endsWith('\n') ? patch : `${patch}\n`);
      for (const cmd of PATCH_COMMANDS) {
        const r = await sh(`${cmd} /tmp/agentscale/model.patch`);
        applyLog.push(`$ ${cmd}\n${r.output}`);
        if (r.exitCode === 0) {
          report.patch_successfully_applied = true;
          break;
        }
        await sh('git checkout -q -- . && git clean -fdq'); // a failed --reject/3way may leave debris
      }
      writeFileAtomic(path.join(logDir, 'apply.log'), applyLog.join('\n'));
      if (!report.patch_successfully_applied) {
        writeJson(path.join(logDir, 'report.json'), { [task.id]: report });
        return { passed: false, reason: 'patch does not apply', report, durationMs: Date.now() - started };
      }
    }
    await writeFileToSandbox(
      containerId,
      '/tmp/agentscale/test.patch',
      v.testPatch.endsWith('\n') ? v.testPatch : `${v.testPatch}\n`,
    );
    const tp = await sh('git apply -v /tmp/agentscale/test.patch');
    if (tp.exitCode !== 0) {
      writeFileAtomic(
        path.join(logDir, 'apply.log'),
        `${applyLog.join('\n')}\n$ git apply -v test.patch\n${tp.output}`,
      );
      throw new Error(`${task.id}: test_patch does not apply on top of the patch:\n${tp.output.slice(-2000)}`);
    }
    const r = await sh(swebenchTestCommand(task, config, diffFiles(v.testPatch)), task.verifierTimeoutSec);
    writeFileAtomic(path.join(logDir, 'test_output.txt'), r.output);
    const graded = gradeSwebench(parsePytestLog(r.output), v.failToPass, v.passToPass);
    report.tests_status = graded.tests_status;
    // An empty patch is never "resolved" (the harness's rule); the test outcome is kept beside it.
    report.resolved = report.patch_exists && graded.resolved;
    writeJson(path.join(logDir, 'report.json'), { [task.id]: report });
    const f2p = graded.tests_status.FAIL_TO_PASS;
    const p2p = graded.tests_status.PASS_TO_PASS;
    return {
      // For the verdict, what counts is whether the tests pass with this patch (even an empty one).
      passed: graded.resolved,
      reason: `FAIL_TO_PASS ${f2p.success.length}/${v.failToPass.length}, PASS_TO_PASS ${p2p.success.length}/${v.passToPass.length}${r.timedOut ? ' (tests timed out)' : ''}`,
      report,
      verifierExitCode: r.exitCode,
      timedOut: r.timedOut,
      durationMs: Date.now() - started,
    };
  } finally {
    await removeSandbox(spec.name);
  }
}
