// What every long CLI job shares: a server and a client, a workflow started or attached to by
// run id, a worker in-process unless told otherwise, progress lines while it runs.
import { Client, WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import { workflowPageUrl, type Config } from '../core/config';
import { clientConnection, ensureServer, type ServerHandle } from '../runtime/temporal';
import { UnavailableError } from './preflight';

export const newRunId = (prefix: string) =>
  `${prefix}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`;

export const workflowUrl = (server: ServerHandle, workflowId: string) =>
  server.uiUrl ? workflowPageUrl(server.uiUrl, server.namespace, workflowId) : undefined;

export async function withClient<T>(
  config: Config,
  fn: (server: ServerHandle, client: Client) => Promise<T>,
): Promise<T> {
  let server: ServerHandle;
  let connection: Awaited<ReturnType<typeof clientConnection>>;
  try {
    server = await ensureServer(config);
    connection = await clientConnection(config, server);
  } catch (e) {
    const where = config.temporal.address ?? `the dev server on port ${config.temporal.devServer.port}`;
    throw new UnavailableError(
      `Temporal server check failed: ${where} does not answer: ${(e as Error).message.split('\n')[0]} (temporal.address, TEMPORAL_ADDRESS)`,
    );
  }
  try {
    return await fn(server, new Client({ connection, namespace: server.namespace }));
  } finally {
    await connection.close();
    await server.dispose?.();
  }
}

/** Starts the workflow, or returns the running one with this id. */
export async function startOrAttach(
  start: () => Promise<WorkflowHandle>,
  client: Client,
  workflowId: string,
): Promise<WorkflowHandle> {
  try {
    return await start();
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle(workflowId);
    throw e;
  }
}

/**
 * Waits for the workflow's result, running a worker in this process unless `worker` is false.
 * Prints `progress()` every 10 s. Undefined when interrupted (Ctrl-C): the run goes on later.
 */
export async function awaitResult<T>(
  config: Config,
  server: ServerHandle,
  handle: WorkflowHandle,
  opts: { worker?: boolean; progress: () => Promise<string> },
): Promise<T | undefined> {
  const timer = setInterval(async () => {
    try {
      console.error(`  ${await opts.progress()}`);
    } catch {
      /* no worker has picked it up yet */
    }
  }, 10_000);
  try {
    if (opts.worker === false) return (await handle.result()) as T;
    const { createWorker, runWorker } = await import('../worker');
    const worker = await createWorker(config, server);
    return (await runWorker(worker, handle.result())) as T | undefined;
  } finally {
    clearInterval(timer);
  }
}

/**
 * After a detached start: the run id and where to follow it, and a warning when no worker polls
 * the task queue (then nothing runs until `agentscale worker` starts somewhere).
 */
export async function detached(config: Config, server: ServerHandle, client: Client, runId: string): Promise<number> {
  const queue = await client.workflowService.describeTaskQueue({
    namespace: server.namespace,
    taskQueue: { name: config.temporal.taskQueue },
    taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  console.log(runId);
  console.error(`follow it with: agentscale watch ${runId}   (status, cancel, report: same argument)`);
  if (!queue.pollers?.length) {
    console.error(
      `no worker polls task queue ${config.temporal.taskQueue} yet: start one with \`agentscale worker\` (on any machine with Docker)`,
    );
  }
  return 0;
}
