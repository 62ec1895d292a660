// Starts a benchmark run the way `agentscale run` does, with a worker in this process and the
// model played by the Messages-API test double. Shared by the run and scaling tests.
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../core/config';
import type { RunReport } from '../core/report';
import { taskRef, type Task } from '../core/task';
import { runPaths, storeDataset, writeJson } from '../runtime/artifacts';
import { dataPaths } from '../runtime/config';
import type { ServerHandle } from '../runtime/temporal';
import { createWorker, runWorker } from '../worker';
import { benchmarkRun, type RunSettings } from '../workflows/run';
import type { MessagesApiDouble } from './doubles/messagesApi';
import { testConfig } from './helpers';

export function doubleConfig(double: MessagesApiDouble, name: string, extra: Record<string, unknown> = {}) {
  return testConfig(name, {
    model: {
      provider: 'anthropic',
      name: 'claude-test',
      baseUrl: double.baseUrl.anthropic,
      temperature: 0,
      maxTokens: 1024,
      timeoutSec: 30,
      prices: { 'claude-test': { inputPerMTok: 3, outputPerMTok: 15 } },
    },
    run: { n: 2, taskConcurrency: 3, modelMaxAttempts: 4, modelRetryInitialSec: 0.2, modelRetryMaxSec: 2 },
    ...extra,
  } as Partial<Config>);
}

let client: Client | undefined;
export async function testClient(config: Config): Promise<Client> {
  client ??= new Client({
    connection: await Connection.connect({ address: config.temporal.address! }),
    namespace: config.temporal.namespace,
  });
  return client;
}
export async function closeTestClient() {
  await client?.connection.close();
  client = undefined;
}

export async function startRun(config: Config, tasks: Task[], settings: RunSettings) {
  const server: ServerHandle = {
    address: config.temporal.address!,
    namespace: config.temporal.namespace,
    searchAttributes: true,
  };
  const c = await testClient(config);
  const runId = `run-${Date.now()}-${Math.random().toString(36).slice(2, 6)}`;
  const runDir = path.join(dataPaths(config).runs, runId);
  storeDataset(runDir, tasks);
  writeJson(runPaths(runDir).run, { runId, strategy: settings.strategy, model: config.model.name, settings });
  const handle = await c.workflow.start(benchmarkRun, {
    workflowId: runId,
    taskQueue: config.temporal.taskQueue,
    args: [{ runId, runDir, tasks: tasks.map(taskRef), settings, searchAttributes: true }],
  });
  const worker = await createWorker(config, server);
  const report = (await runWorker(worker, handle.result())) as RunReport;
  return { runId, runDir, report, client: c };
}
