// `gc` removes containers whose run is not running, and keeps those of a running run.
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { gcContainers } from '../client/gc';
import { createSandbox, LABEL, listSandboxes, removeSandboxes } from '../runtime/sandbox';
import { serverKey } from '../runtime/temporal';
import { testConfig } from './helpers';

const { config } = testConfig('gc');
const stamp = Date.now();
const live = `gc-live-${stamp}`;
const ghost = `gc-ghost-${stamp}`;
const foreign = `gc-foreign-${stamp}`;

const server = serverKey({ address: config.temporal.address!, namespace: config.temporal.namespace });
const box = (run: string, labels: Record<string, string> = { [LABEL.server]: server }) =>
  createSandbox({
    name: `as-${run}`,
    image: 'agentscale/base:bookworm',
    labels: { [LABEL.run]: run, ...labels },
    cpus: 0.5,
    memoryMb: 128,
    pids: 64,
    allowInternet: false,
  });

afterAll(async () => {
  await removeSandboxes({ [LABEL.run]: live });
  await removeSandboxes({ [LABEL.run]: ghost });
  await removeSandboxes({ [LABEL.run]: foreign });
});

describe('gc', () => {
  it('removes containers of runs that are not running, keeps the running ones', async () => {
    const connection = await Connection.connect({ address: config.temporal.address! });
    const client = new Client({ connection, namespace: config.temporal.namespace });
    try {
      // A run that stays RUNNING: nobody polls its task queue.
      const handle = await client.workflow.start('validateDataset', {
        workflowId: live,
        taskQueue: `${config.temporal.taskQueue}-idle`,
        args: [{ runId: live, runDir: '/nonexistent', tasks: [], concurrency: 1, searchAttributes: false }],
      });
      // `foreign` belongs to a run on another server: not for this server's gc to judge.
      await Promise.all([box(live), box(ghost), box(foreign, { [LABEL.server]: '10.0.0.1:7233/default' })]);

      const dry = await gcContainers(config, { dryRun: true });
      expect(dry.map((c) => c.run)).toContain(ghost);
      expect(dry.map((c) => c.run)).not.toContain(live);
      expect(await listSandboxes({ [LABEL.run]: ghost })).toHaveLength(1); // dry run removed nothing

      const removed = await gcContainers(config, { dryRun: false });
      expect(removed.find((c) => c.run === ghost)?.why).toBe('not found');
      expect(await listSandboxes({ [LABEL.run]: ghost })).toEqual([]);
      expect(await listSandboxes({ [LABEL.run]: live })).toHaveLength(1);
      expect(await listSandboxes({ [LABEL.run]: foreign })).toHaveLength(1);
      expect((await gcContainers(config, { dryRun: true, all: true })).map((c) => c.run)).toContain(foreign);

      await handle.terminate('test over');
      const after = await gcContainers(config, { dryRun: false });
      expect(after.find((c) => c.run === live)?.why).toBe('terminated');
      expect(await listSandboxes({ [LABEL.run]: live })).toEqual([]);
    } finally {
      await connection.close();
    }
  });
});
