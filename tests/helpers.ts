// Shared by tests that run workflows: a config pointing at the test run's Temporal server, with
// its own data folder and task queue, written to a YAML file so subprocesses (CLI, worker) see
// the same settings.
import { mkdtempSync, writeFileSync } from 'node:fs';
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
