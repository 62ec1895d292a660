// Starts a benchmark run the way `agentscale run` does (client/run.ts startRun), with a worker in
// this process and the model played by the Messages-API test double. Shared by the run and
// scaling tests.
import { Client, Connection } from '@temporalio/client';
import { startRun as startBenchmarkRun } from '../client/run';
import type { Config } from '../core/config';
import type { RunReport } from '../core/report';
import type { RunSettings } from '../core/settings';
import type { Task } from '../core/task';
import type { ServerHandle } from '../runtime/temporal';
import type { MessagesApiDouble } from '../scripted-model/messagesApi';
import { createWorker, runWorker } from '../worker';
import { testConfig } from './helpers';

export function doubleConfig(double: MessagesApiDouble, name: string, extra: Record<string, unknown> = {}) {
  return testConfig(name, {
    model: {
      provider: 'anthropic',
      name: 'claude-test',
      baseUrl: double.baseUrl.anthropic,
      maxTokens: 1024,
      timeoutSec: 30,
      prices: { 'claude-test': { inputPerMTok: 3, outputPerMTok: 15 } },
    },
    run: { n: 2, taskConcurrency: 3, modelMaxAttempts: 4, modelRetryInitialSec: 0.2, modelRetryMaxSec: 2 },
    ...extra,
  } as unknown as Partial<Config>);
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

export const testServer = (config: Config): ServerHandle => ({
  address: config.temporal.address!,
  namespace: config.temporal.namespace,
  searchAttributes: true,
});

export async function startRun(config: Config, tasks: Task[], settings: RunSettings) {
  const server = testServer(config);
  const c = await testClient(config);
  const runId = `run-${Date.now()}-${Math.random().toString(36).slice(2, 6)}`;
  const { runDir, handle } = await startBenchmarkRun(config, server, c, { runId, tasks, settings });
  const worker = await createWorker(config, server);
  const report = (await runWorker(worker, handle.result())) as RunReport;
  return { runId, runDir, report, client: c };
}
