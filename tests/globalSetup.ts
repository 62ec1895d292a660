// One real Temporal dev server for the whole test run, on free ports with a throwaway database,
// so tests never touch a user's server or data, and concurrent test runs never share one. Docker
// must already answer (scripts/test.sh runs scripts/setup.sh first).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { ConfigSchema } from '../core/config';
import { PROJECT_ROOT } from '../runtime/config';
import { startDevServer } from '../runtime/temporal';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
  }
}

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agentscale-test-temporal-'));
  const config = ConfigSchema.parse({ dataDir: path.join(PROJECT_ROOT, '.agentscale') });
  const server = await startDevServer(config, {
    dbFile: path.join(dir, 'temporal.db'),
    logFile: path.join(dir, 'server.log'),
  });
  project.provide('temporalAddress', server.address);
  return async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
