// `agentscale gc`: containers are labelled with their run and the Temporal server that run lives
// on; a container whose run's workflow is not running any more (finished, failed, terminated, or
// unknown to the server) was left behind by a crash and is removed. Only the containers of the
// server gc talks to are judged, unless `all` is set: another server's runs are not ours to know.
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Config } from '../core/config';
import { LABEL, listSandboxes, removeSandbox } from '../runtime/sandbox';
import { removeOrphanedResources } from '../runtime/services';
import { clientConnection, ensureServer, serverKey } from '../runtime/temporal';

export interface Collected {
  name: string;
  run?: string;
  why: string;
}

export async function gcContainers(config: Config, opts: { dryRun: boolean; all?: boolean }): Promise<Collected[]> {
  const server = await ensureServer(config);
  const containers = await listSandboxes(
    opts.all ? { [LABEL.managed]: 'true' } : { [LABEL.server]: serverKey(server) },
  );
  if (containers.length === 0) return [];
  const connection = await clientConnection(config, server);
  const client = new Client({ connection, namespace: server.namespace });
  const status = new Map<string, string>();
  const runStatus = async (run: string) => {
    if (!status.has(run)) {
      const s = await client.workflow
        .getHandle(run)
        .describe()
        .then(
          (d) => d.status.name,
          (e) => {
            if (e instanceof WorkflowNotFoundError) return 'NOT_FOUND';
            throw e;
          },
        );
      status.set(run, s);
    }
    return status.get(run)!;
  };
  const out: Collected[] = [];
  try {
    for (const c of containers) {
      const run = c.labels[LABEL.run];
      const s = run ? await runStatus(run) : 'NO_RUN_LABEL';
      if (s === 'RUNNING') continue;
      out.push({ name: c.name, run, why: s.toLowerCase().replace(/_/g, ' ') });
      if (!opts.dryRun) await removeSandbox(c.id);
    }
    // Compose services' networks and volumes whose task container is gone (a crash between steps).
    if (!opts.dryRun)
      for (const run of new Set(out.map((o) => o.run).filter((r): r is string => r !== undefined)))
        await removeOrphanedResources({ [LABEL.run]: run });
  } finally {
    await connection.close();
  }
  return out;
}
