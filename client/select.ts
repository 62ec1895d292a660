// `agentscale select`: the tournaments of a finished run played again with other G, V, seed or
// judge input, on the run's stored rollouts and summaries; no new rollouts.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../core/config';
import type { RunReport } from '../core/report';
import { renderScalingReport, type ScalingReport } from '../core/scalingReport';
import { SA } from '../core/searchAttributes';
import { modelRetry } from '../core/settings';
import { taskRef } from '../core/task';
import { loadRunDataset, readJson } from '../runtime/artifacts';
import { runDirOf, runFolder, selectionFolder } from '../runtime/runFolder';
import type { ServerHandle } from '../runtime/temporal';
import { selectRun, type SelectSpec } from '../workflows/select';
import { awaitResult, newRunId, startOrAttach, withClient, workflowUrl } from './job';
import { printJson } from './output';

export interface SelectOptions {
  runId: string;
  selectId?: string;
  groupSize?: number;
  votes?: number;
  seed?: number;
  judgeInput?: SelectSpec['judgeInput'];
  sizes?: number[];
  repeats?: number;
  ks?: number[];
  concurrency?: number;
  worker?: boolean;
  json?: boolean;
}

/** The selection's workflow id: under its run, so the UI lists them together. */
export const selectionWorkflowId = (runId: string, selectId: string) => `${runId}/${selectId}`;

/**
 * Starts a selection on a finished run's folder, or attaches to the running one with this id:
 * the one way the CLI, the tests and the benchmarks start one.
 */
export async function startSelection(
  config: Config,
  server: ServerHandle,
  client: Client,
  input: { runId: string; runDir: string; selectId: string; spec: SelectSpec; concurrency?: number },
): Promise<WorkflowHandle<typeof selectRun>> {
  const tasks = loadRunDataset(input.runDir);
  const workflowId = selectionWorkflowId(input.runId, input.selectId);
  const { spec } = input;
  const handle = await startOrAttach(
    () =>
      client.workflow.start(selectRun, {
        workflowId,
        taskQueue: config.temporal.taskQueue,
        args: [
          {
            selectId: input.selectId,
            runId: input.runId,
            runDir: input.runDir,
            tasks: tasks.map(taskRef),
            spec,
            concurrency: input.concurrency ?? config.run.taskConcurrency,
            modelRetry: modelRetry(config),
          },
        ],
        staticSummary: `reselect ${input.runId}: G=${spec.groupSize} V=${spec.votes} seed=${spec.seed} judge=${spec.judgeInput}`,
        typedSearchAttributes: server.searchAttributes
          ? [
              { key: SA.runId, value: input.runId },
              { key: SA.job, value: 'select' },
            ]
          : undefined,
      }),
    client,
    workflowId,
  );
  return handle as WorkflowHandle<typeof selectRun>;
}

export function selectCommand(config: Config, opts: SelectOptions): Promise<number> {
  const runDir = runDirOf(config, opts.runId);
  const folder = runFolder(runDir);
  if (!existsSync(folder.dataset) || !existsSync(folder.run)) {
    throw new Error(`no finished run ${opts.runId} in ${path.dirname(runDir)} (looked for dataset.json and run.json)`);
  }
  const spec: SelectSpec = {
    groupSize: opts.groupSize ?? config.scaling.groupSize,
    votes: opts.votes ?? config.scaling.votes,
    seed: opts.seed ?? config.scaling.seed,
    judgeInput: opts.judgeInput ?? config.scaling.judgeInput,
    ...(opts.sizes ? { sizes: opts.sizes, repeats: opts.repeats ?? 3 } : {}),
    ...(opts.ks ? { ks: opts.ks } : {}),
  };
  const selectId = opts.selectId ?? newRunId('select');
  return withClient(config, async (server, client) => {
    const handle = await startSelection(config, server, client, {
      runId: opts.runId,
      runDir,
      selectId,
      spec,
      concurrency: opts.concurrency,
    });
    const url = workflowUrl(server, handle.workflowId);
    const tasks = loadRunDataset(runDir).length;
    console.error(
      `selection ${selectId} on run ${opts.runId} (${tasks} tasks): G=${spec.groupSize} V=${spec.votes} seed=${spec.seed} judge=${spec.judgeInput}, no new rollouts${url ? `\n  ${url}` : ''}`,
    );
    const report = await awaitResult<ScalingReport>(config, server, handle, {
      worker: opts.worker,
      progress: async () => 'selecting...',
    });
    if (!report) return 130;
    const selection = selectionFolder(runDir, selectId);
    if (opts.json) {
      printJson(readJson(selection.results));
      return 0;
    }
    console.log(renderScalingReport(report));
    const original = existsSync(folder.results) ? readJson<RunReport>(folder.results).scaling : undefined;
    if (original) console.log(`\nthe run's own selection: Final ${(100 * original.final).toFixed(1)}%`);
    console.log(`\nresults: ${selection.table}`);
    return 0;
  });
}
