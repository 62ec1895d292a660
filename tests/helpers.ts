// Shared by tests that run workflows: a config pointing at the test run's Temporal server, with
// its own data folder and task queue, written to a YAML file so subprocesses (CLI, worker) see
// the same settings.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { stringify } from 'yaml';
import type { Config } from '../core/config';
import { loadConfig, PROJECT_ROOT } from '../runtime/config';

export const FIXTURES = path.join(PROJECT_ROOT, 'tests', 'fixtures');
export const EXAMPLES = path.join(PROJECT_ROOT, 'examples');

export function testConfig(
  name: string,
  overrides: Partial<Config> = {},
): { config: Config; file: string; dataDir: string } {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `agentscale-${name}-`));
  const project = loadConfig(path.join(PROJECT_ROOT, 'agentscale.yaml'));
  const raw = {
    ...project,
    configFile: undefined,
    dataDir,
    temporal: {
      ...project.temporal,
      address: inject('temporalAddress'),
      taskQueue: `test-${name}-${process.pid}-${Date.now()}`,
    },
    worker: { ...project.worker, shutdownGraceTimeSec: 2 },
    ...overrides,
  };
  const file = path.join(dataDir, 'agentscale.yaml');
  writeFileSync(file, stringify(raw));
  return { config: loadConfig(file), file, dataDir };
}

/** Resolves with a child process's exit code once it has exited (-1 when a signal ended it). */
export const exited = (p: ChildProcess) =>
  new Promise<number>((resolve) =>
    p.exitCode !== null || p.signalCode !== null ? resolve(p.exitCode ?? -1) : p.once('exit', (c) => resolve(c ?? -1)),
  );

/** The exit code of a process that must end within `ms`; otherwise fails with its log. */
export const exitedWithin = (p: ChildProcess, ms: number, logFile: string) =>
  Promise.race([
    exited(p),
    new Promise<number>((_, reject) =>
      setTimeout(() => reject(new Error(`did not finish:\n${readFileSync(logFile, 'utf8')}`)), ms),
    ),
  ]);

/**
 * Polls `check` until it gives something other than undefined, null or false, and returns that;
 * fails naming what it waited for after `ms`.
 */
export async function until<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  ms = 120_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
