// `agentscale select`: the tournaments of a finished run played again with other G, V, seed or
// judge input, on the run's stored rollouts and summaries; no new rollouts.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config';
import { renderScalingReport, type RunReport, type ScalingReport } from '../core/report';
import { SA } from '../core/searchAttributes';
import { taskRef, TaskSchema } from '../core/task';
import { readJson, runPaths } from '../runtime/artifacts';
import { dataPaths } from '../runtime/config';
import { selectRun, type SelectSpec } from '../workflows/select';
import { awaitResult, newRunId, startOrAttach, withClient, workflowUrl } from './job';
import { runSettings } from './run';

export interface SelectOptions {
  runId: string;
  selectId?: string;
  groupSize?: number;
  votes?: number;
  seed?: number;
  judgeInput?: SelectSpec['judgeInput'];
  concurrency?: number;
  worker?: boolean;
  json?: boolean;
}

export function selectCommand(config: Config, opts: SelectOptions): Promise<number> {
  const runDir = path.join(dataPaths(config).runs, opts.runId);
  const paths = runPaths(runDir);
  if (!existsSync(paths.dataset) || !existsSync(paths.run)) {
    throw new Error(`no finished run ${opts.runId} in ${path.dirname(runDir)} (looked for dataset.json and run.json)`);
  }
  const tasks = readJson<unknown[]>(paths.dataset).map((t) => TaskSchema.parse(t));
  const spec: SelectSpec = {
    groupSize: opts.groupSize ?? config.scaling.groupSize,
    votes: opts.votes ?? config.scaling.votes,
    seed: opts.seed ?? config.scaling.seed,
    judgeInput: opts.judgeInput ?? config.scaling.judgeInput,
  };
  const selectId = opts.selectId ?? newRunId('select');
  const workflowId = `${opts.runId}/${selectId}`;
  return withClient(config, async (server, client) => {
    const handle = await startOrAttach(
      () =>
        client.workflow.start(selectRun, {
          workflowId,
          taskQueue: config.temporal.taskQueue,
          args: [
            {
              selectId,
              runId: opts.runId,
              runDir,
              tasks: tasks.map(taskRef),
              spec,
              concurrency: opts.concurrency ?? config.run.taskConcurrency,
              modelRetry: runSettings(config, { strategy: 'sample' }).modelRetry,
            },
          ],
          staticSummary: `reselect ${opts.runId}: G=${spec.groupSize} V=${spec.votes} seed=${spec.seed} judge=${spec.judgeInput}`,
          typedSearchAttributes: server.searchAttributes
            ? [
                { key: SA.runId, value: opts.runId },
                { key: SA.job, value: 'select' },
              ]
            : undefined,
        }),
      client,
      workflowId,
    );
    const url = workflowUrl(server, workflowId);
    console.error(
      `selection ${selectId} on run ${opts.runId} (${tasks.length} tasks): G=${spec.groupSize} V=${spec.votes} seed=${spec.seed} judge=${spec.judgeInput}, no new rollouts${url ? `\n  ${url}` : ''}`,
    );
    const report = await awaitResult<ScalingReport>(config, server, handle, {
      worker: opts.worker,
      progress: async () => 'selecting...',
    });
    if (!report) return 130;
    const dir = path.join(runDir, 'selections', selectId);
    if (opts.json) {
      console.log(JSON.stringify(readJson(path.join(dir, 'results.json')), null, 2));
      return 0;
    }
    console.log(renderScalingReport(report));
    const original = existsSync(paths.results) ? readJson<RunReport>(paths.results).scaling : undefined;
    if (original) console.log(`\nthe run's own selection: Final ${(100 * original.final).toFixed(1)}%`);
    console.log(`\nresults: ${path.join(dir, 'results.md')}`);
    return 0;
  });
}
