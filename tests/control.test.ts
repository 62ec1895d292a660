// Run control through the real CLI against the real server, with a worker in its own process:
// a detached start followed to completion, status and report, a run id reused for the wrong job
// refused with the finished run untouched, and a cancel in the middle of a run that leaves no
// container behind. Exit statuses as documented (client/exitCodes.ts).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../client/exitCodes';
import type { Task } from '../core/task';
import { loadDatasets } from '../datasets';
import { PROJECT_ROOT } from '../runtime/config';
import type { ExportLine } from '../core/export';
import type { RolloutResult } from '../core/rollout';
import { rolloutFolder, runDirOf, runFolder } from '../runtime/runFolder';
import { LABEL, listSandboxes } from '../runtime/sandbox';
import { startMessagesApiDouble, type MessagesApiDouble } from '../scripted-model/messagesApi';
import { scriptedAgent } from '../scripted-model/scriptedAgent';
import { EXAMPLES } from './helpers';
import { doubleConfig } from './runHarness';

const CLI = path.join(PROJECT_ROOT, 'bin', 'agentscale');
const TASK_DIR = path.join(EXAMPLES, 'harbor', 'hello-file');
const KEY = { ANTHROPIC_API_KEY: 'sk-ant-control-test' };

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(CLI, args, { env: { ...process.env, ...KEY } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let double: MessagesApiDouble;
let task: Task;
let worker: ChildProcess | undefined;
let config: ReturnType<typeof doubleConfig>;

beforeAll(async () => {
  double = await startMessagesApiDouble({ latencyMs: 10 });
  task = (await loadDatasets([TASK_DIR]))[0]!;
  config = doubleConfig(double, 'control');
  const log = openSync(path.join(config.dataDir, 'worker.log'), 'a');
  worker = spawn(CLI, ['--config', config.file, 'worker'], {
    stdio: ['ignore', log, log],
    env: { ...process.env, ...KEY },
  });
});
afterAll(async () => {
  worker?.kill('SIGTERM');
  await new Promise((r) => (worker?.exitCode !== null ? r(undefined) : worker.once('exit', r)));
  await double?.close();
});

describe('run control', () => {
  it('detached start, watch to the end, status and report; a run id is one job; a finished run is untouched', async () => {
    double.setReply(scriptedAgent([task], { [task.id]: ['solve', 'giveUp'] }).reply);
    const c = ['--config', config.file];
    const runId = `ctl-${Date.now()}`;
    const started = await cli([...c, 'run', '--detach', '--run-id', runId, '-n', '2', TASK_DIR]);
    expect(started.code, started.stderr).toBe(EXIT.ok);
    expect(started.stdout.trim()).toBe(runId);

    const watched = await cli([...c, 'watch', runId, '--interval', '1']);
    expect(watched.code, watched.stderr).toBe(EXIT.ok);
    expect(watched.stdout).toContain(`# Run ${runId}`);
    expect(watched.stderr).toMatch(/running, .*\d+\/2 rollouts/);

    const status = await cli([...c, 'status', runId, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({
      kind: 'run',
      status: 'COMPLETED',
      rollouts: { done: 2, passed: 1 },
    });
    const report = await cli([...c, 'report', runId, '--json']);
    expect(JSON.parse(report.stdout)).toMatchObject({ runId, rollouts: 2 });

    // Trajectories out: one line per rollout, read back field by field against the run folder.
    const exported = await cli([...c, 'export', runId]);
    expect(exported.code, exported.stderr).toBe(EXIT.ok);
    const lines = exported.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ExportLine);
    expect(lines.map((l) => l.rollout_id).sort()).toEqual(['it0-r0', 'it0-r1']);
    for (const line of lines) {
      const dir = rolloutFolder(runDirOf(config.config, runId), task.id, line.rollout_id);
      const result = JSON.parse(readFileSync(dir.result, 'utf8')) as RolloutResult;
      const traj = JSON.parse(readFileSync(dir.traj, 'utf8')) as { messages: { role: string; content: string }[] };
      expect(line).toMatchObject({
        run_id: runId,
        task_id: task.id,
        iteration: 0,
        passed: result.passed,
        outcome: result.passed ? 'passed' : 'failed',
        exit_status: result.exitStatus,
        steps: result.steps,
        cost_usd: result.costUsd,
        model: config.config.model.name,
      });
      expect(line.messages).toEqual(traj.messages.map((m) => ({ role: m.role, content: m.content })));
      expect(line.messages.map((m) => m.role).slice(0, 3)).toEqual(['system', 'user', 'assistant']);
    }
    const passedOnly = await cli([...c, 'export', runId, '--passed-only', '--iteration', '0']);
    expect(passedOnly.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(passedOnly.stdout)).toMatchObject({ passed: true, reward: 1 });
    expect((await cli([...c, 'export', runId, '--iteration', '1'])).stdout).toBe('');
    expect((await cli([...c, 'export', runId, '--task', 'nope'])).code).toBe(EXIT.usage);

    // The same id for a validation is refused, and the finished run's results stay as they were.
    const results = runFolder(runDirOf(config.config, runId)).results;
    const before = readFileSync(results, 'utf8');
    const wrong = await cli([...c, 'validate', '--run-id', runId, TASK_DIR]);
    expect(wrong.code).toBe(EXIT.usage);
    expect(wrong.stderr).toMatch(/belongs to a run job, not a validate/);
    // Run again under its id: reported as it is, nothing started.
    const again = await cli([...c, 'run', '--run-id', runId, '--json', TASK_DIR]);
    expect(again.code).toBe(EXIT.ok);
    expect(again.stderr).toMatch(/has finished/);
    expect(readFileSync(results, 'utf8')).toBe(before);
  });

  it('cancel in the middle of a run: nothing new starts, rollouts stop, no container is left', async () => {
    // Rollouts that never submit, each step a second apart: the run is still going when cancelled.
    const wander = scriptedAgent([task], { [task.id]: ['wander'] }).reply;
    double.setReply(async (req) => ({ ...(await wander(req)), delayMs: 1000 }));
    const c = ['--config', config.file];
    const runId = `ctl-cancel-${Date.now()}`;
    expect((await cli([...c, 'run', '--detach', '--run-id', runId, '-n', '2', TASK_DIR])).code).toBe(EXIT.ok);
    // Wait until its containers are up and working.
    for (let i = 0; i < 120 && (await listSandboxes({ [LABEL.run]: runId })).length < 2; i++)
      await new Promise((r) => setTimeout(r, 500));
    expect((await listSandboxes({ [LABEL.run]: runId })).length).toBeGreaterThanOrEqual(2);

    const cancelled = await cli([...c, 'cancel', runId, '--json']);
    expect(cancelled.code, cancelled.stderr).toBe(EXIT.cancelled);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ runId, status: 'CANCELLED' });
    expect(await listSandboxes({ [LABEL.run]: runId })).toEqual([]);
    const report = await cli([...c, 'report', runId]);
    expect(report.code).toBe(EXIT.usage);
    expect(report.stderr).toMatch(/no report yet/);
  });
});
