// The worker: bundled workflows plus every activity, on the configured task queue. Run it on its
// own (`agentscale worker`) or let CLI commands start one in-process. On SIGINT/SIGTERM it stops
// taking work, lets activities finish within the grace time, then removes every container it
// created, so a stopped worker leaves nothing running; the workflows restart those attempts in
// fresh containers on the next worker.
import { fileURLToPath } from 'node:url';
import {
  bundleWorkflowCode,
  PromiseCompletionTimeoutError,
  Runtime,
  Worker,
  type WorkerOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { createActivities, WORKER_ID } from './activities';
import type { Config } from './core/config';
import { loadConfig } from './runtime/config';
import { announceDiskLimits } from './runtime/disk';
import { log } from './runtime/log';
import { closeAllShells, LABEL, removeSandboxes } from './runtime/sandbox';
import { ensureServer, serverKey, workerConnection, type ServerHandle } from './runtime/temporal';

const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundles workflow code once per process (a few seconds), shared by every worker started here. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath,
    logger: {
      log: () => {},
      trace: () => {},
      debug: () => {},
      info: () => {},
      warn: (m) => log.warn(m),
      error: (m) => log.error(m),
    },
  });
  return bundle;
}

let runtimeInstalled = false;
function installRuntime() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // The SDK's own logs are noisy at info; its warnings and errors still reach our logger.
  Runtime.install({
    logger: {
      log: () => {},
      trace: () => {},
      debug: () => {},
      info: () => {},
      warn: (m, meta) => log.warn(meta ?? {}, m),
      error: (m, meta) => log.error(meta ?? {}, m),
    },
    shutdownSignals: [],
  });
}

/** @param extra Worker.create options on top of the config's (benchmarks try tunings with it). */
export async function createWorker(
  config: Config,
  server: ServerHandle,
  extra: Partial<WorkerOptions> = {},
): Promise<Worker> {
  installRuntime();
  await announceDiskLimits();
  const connection = await workerConnection(config, server);
  return Worker.create({
    connection,
    namespace: server.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities(config, serverKey(server)),
    identity: WORKER_ID,
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivityTaskExecutions,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTaskExecutions,
    shutdownGraceTime: `${config.worker.shutdownGraceTimeSec} seconds`,
    ...extra,
  });
}

/** What every stop of a worker ends with: none of its containers left. */
export async function cleanupWorkerContainers(): Promise<number> {
  closeAllShells();
  return removeSandboxes({ [LABEL.worker]: WORKER_ID });
}

/**
 * Runs a worker until `until` settles (in-process use) or a signal arrives (standalone use),
 * then shuts it down and removes its containers.
 */
export async function runWorker<T>(worker: Worker, until?: Promise<T>): Promise<T | undefined> {
  const stop = (signal: string) => {
    log.info(
      { signal },
      'stopping: steps in flight get the shutdown grace time, then this worker removes its containers',
    );
    worker.shutdown();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    if (until) return await worker.runUntil(until);
    await worker.run();
    return undefined;
  } catch (e) {
    // Stopped by a signal before `until` settled: the run goes on without us.
    if (e instanceof PromiseCompletionTimeoutError) return undefined;
    throw e;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    const removed = await cleanupWorkerContainers();
    if (removed) log.info({ removed }, 'removed containers of this worker');
  }
}

/** A standalone worker until SIGINT/SIGTERM (`agentscale worker`, or `tsx worker.ts`). */
export async function serveWorker(config: Config): Promise<void> {
  const server = await ensureServer(config);
  const worker = await createWorker(config, server);
  log.info({ address: server.address, taskQueue: config.temporal.taskQueue, identity: WORKER_ID }, 'worker started');
  await runWorker(worker);
  log.info('worker stopped');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await serveWorker(loadConfig(process.env.AGENTSCALE_CONFIG));
  process.exit(0);
}
