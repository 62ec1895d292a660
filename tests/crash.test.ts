// Workers stopped in the middle of a run, gracefully (SIGTERM) and not (SIGKILL). The run is
// driven by the real CLI (`validate --no-worker`) with workers in separate processes; after each
// stop a new worker takes over, and the run must finish with every verdict right and leave no
// container behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJson } from '../runtime/artifacts';
import { runFolder } from '../runtime/runFolder';
import { PROJECT_ROOT } from '../runtime/config';
import { getDocker } from '../runtime/docker';
import { LABEL, listSandboxes } from '../runtime/sandbox';
import type { TaskVerdict } from '../core/validation';
import { EXAMPLES, FIXTURES, exited, exitedWithin, testConfig, until } from './helpers';

const CLI = path.join(PROJECT_ROOT, 'bin', 'agentscale');

function cli(args: string[], logFile: string): ChildProcess {
  const out = openSync(logFile, 'a');
  return spawn(CLI, args, { stdio: ['ignore', out, out], env: { ...process.env, LOG_LEVEL: 'info' } });
}

describe('worker crash', () => {
  it('stopped and killed workers are replaced; the run finishes with every verdict and no container left', async () => {
    const { config, file, dataDir } = testConfig('crash');
    const runId = `crash-${Date.now()}`;
    const log = (name: string) => path.join(dataDir, `${name}.log`);

    const client = cli(
      [
        '--config',
        file,
        'validate',
        '--no-worker',
        '--run-id',
        runId,
        '--concurrency',
        '4',
        '--json',
        path.join(FIXTURES, 'harbor', 'slow-oracle'),
        path.join(EXAMPLES, 'terminal-bench', 'count-lines'),
        path.join(EXAMPLES, 'swebench', 'instances.jsonl'),
      ],
      log('client'),
    );
    // Waits until the slow oracle's solution runs in try `tryNo` (solve.sh sleeps 6 s): its
    // process is seen in the container (a fixed pause after the container appears is not enough
    // on a loaded machine, where the solution may start seconds later).
    const oracleRunning = async (tryNo: number) => {
      await until(`the slow oracle's solution running in try ${tryNo}`, async () => {
        const boxes = await listSandboxes({
          [LABEL.run]: runId,
          [LABEL.task]: 'slow-oracle',
          [LABEL.attempt]: 'oracle',
        });
        const box = boxes.find((b) => b.name.includes(`-oracle-${tryNo}-`));
        if (!box) return undefined;
        const top = await getDocker()
          .getContainer(box.id)
          .top({ ps_args: '-o pid,args' })
          .catch(() => undefined);
        return (top?.Processes as string[][] | undefined)?.some((p) => p.join(' ').includes('/solution/solve.sh'))
          ? box
          : undefined;
      });
    };

    // 1. A graceful stop: the worker exits on SIGTERM and takes its containers with it.
    const first = cli(['--config', file, 'worker'], log('worker1'));
    await oracleRunning(1);
    first.kill('SIGTERM');
    expect(await exited(first), readFileSync(log('worker1'), 'utf8')).toBe(0);
    expect(await listSandboxes({ [LABEL.worker]: `${os.hostname()}-${first.pid}` })).toEqual([]);

    // 2. A crash: SIGKILL while the retried oracle runs; its containers stay behind for now.
    const second = cli(['--config', file, 'worker'], log('worker2'));
    await oracleRunning(2);
    second.kill('SIGKILL');
    expect(await exited(second)).toBe(-1);
    expect((await listSandboxes({ [LABEL.worker]: `${os.hostname()}-${second.pid}` })).length).toBeGreaterThan(0);

    // 3. A new worker takes over and the run finishes.
    const third = cli(['--config', file, 'worker'], log('worker3'));
    try {
      const code = await exitedWithin(client, 170_000, log('client'));
      expect(code, readFileSync(log('client'), 'utf8')).toBe(0);
    } finally {
      third.kill('SIGTERM');
      await exited(third);
    }

    const runDir = path.join(config.dataDir, 'runs', runId);
    const { verdicts } = readJson<{ verdicts: TaskVerdict[] }>(runFolder(runDir).results);
    const byId = Object.fromEntries(verdicts.map((v) => [v.taskId, v]));
    expect(Object.keys(byId).sort()).toEqual(['count-lines', 'example__calc-1', 'example__calc-2', 'slow-oracle']);
    for (const v of verdicts) expect(v.status, `${v.taskId}: ${v.problems.join('; ')}`).toBe('valid');
    // The oracle, interrupted twice, was restarted in a fresh container each time.
    expect(byId['slow-oracle']!.oracle.tries).toBe(3);
    expect(await listSandboxes({ [LABEL.run]: runId })).toEqual([]);
  });
});
