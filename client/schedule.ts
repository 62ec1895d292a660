// `agentscale schedule`: nightly (or any cron or interval) evaluations on Temporal Schedules. At
// creation the tasks and run settings are frozen into the schedule's folder, so every run of the
// schedule evaluates the same thing; each run is compared with the previous one in its report.
// `agentscale compare` compares any two finished runs.
import { existsSync } from 'node:fs';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleSpec } from '@temporalio/client';
import { compareRuns, renderComparison } from '../core/compare';
import { temporalUiUrl, type Config } from '../core/config';
import type { RunReport } from '../core/report';
import { SA } from '../core/searchAttributes';
import { budgetProblem } from '../core/budget';
import { SettingsError } from '../core/input';
import { describeSettings, runSettings } from '../core/settings';
import { loadDatasets } from '../datasets';
import { readJson, writeJson } from '../runtime/artifacts';
import { dataPaths } from '../runtime/config';
import { runDirOf, runFolder, scheduleFolder } from '../runtime/runFolder';
import type { ServerHandle } from '../runtime/temporal';
import type { ScheduleRecord } from '../activities/schedule';
import { scheduledRun } from '../workflows/schedule';
import { UsageError } from './control';
import { EXIT } from './exitCodes';
import { withClient } from './job';
import { printJson } from './output';
import type { RunOptions } from './run';

export const OVERLAP = {
  skip: ScheduleOverlapPolicy.SKIP,
  'buffer-one': ScheduleOverlapPolicy.BUFFER_ONE,
  'buffer-all': ScheduleOverlapPolicy.BUFFER_ALL,
  'cancel-other': ScheduleOverlapPolicy.CANCEL_OTHER,
  'terminate-other': ScheduleOverlapPolicy.TERMINATE_OTHER,
  'allow-all': ScheduleOverlapPolicy.ALLOW_ALL,
} as const;

export interface ScheduleCreateOptions extends Omit<RunOptions, 'runId' | 'detach'> {
  id: string;
  cron?: string;
  /** An interval such as `24h` or `30m`. */
  every?: string;
  timezone?: string;
  overlap?: keyof typeof OVERLAP;
  /** How late a missed action may still be taken after an outage, e.g. `1h`. */
  catchupWindow?: string;
  paused?: boolean;
}

function specOf(opts: ScheduleCreateOptions): ScheduleSpec {
  if (!!opts.cron === !!opts.every) throw new UsageError('schedule create needs exactly one of --cron and --every');
  return {
    ...(opts.cron ? { cronExpressions: [opts.cron] } : { intervals: [{ every: opts.every as `${number}h` }] }),
    ...(opts.timezone ? { timezone: opts.timezone } : {}),
  };
}

/** Creates the schedule: its tasks and settings frozen into its folder, then the Temporal Schedule. */
export async function createSchedule(
  config: Config,
  server: ServerHandle,
  client: Client,
  datasets: string[],
  opts: ScheduleCreateOptions,
): Promise<void> {
  const spec = specOf(opts);
  const tasks = await loadDatasets(datasets, opts);
  const settings = runSettings(config, opts);
  const unpriced = budgetProblem(settings.budget, config.model.name, config.model.prices);
  if (unpriced) throw new SettingsError(unpriced);
  const folder = scheduleFolder(config, opts.id);
  if (existsSync(folder.schedule)) {
    throw new UsageError(`schedule ${opts.id} exists (${folder.dir}); delete it first or choose another --id`);
  }
  writeJson(folder.dataset, tasks);
  writeJson(folder.schedule, {
    scheduleId: opts.id,
    settings,
    datasets,
    createdAt: new Date().toISOString(),
  } satisfies ScheduleRecord);
  await client.schedule.create({
    scheduleId: opts.id,
    spec,
    action: {
      type: 'startWorkflow',
      workflowType: scheduledRun,
      workflowId: opts.id,
      taskQueue: config.temporal.taskQueue,
      args: [
        {
          scheduleId: opts.id,
          settings,
          runsDir: dataPaths(config).runs,
          searchAttributes: server.searchAttributes,
        },
      ],
      staticSummary: `scheduled ${opts.id}: ${describeSettings(settings)} on ${tasks.length} tasks`,
      typedSearchAttributes: server.searchAttributes ? [{ key: SA.job, value: 'run' }] : undefined,
    },
    policies: {
      overlap: OVERLAP[opts.overlap ?? 'skip'],
      catchupWindow: (opts.catchupWindow ?? '1h') as `${number}h`,
    },
    state: { paused: !!opts.paused, note: `agentscale: ${tasks.length} tasks from ${datasets.join(', ')}` },
  });
}

export function scheduleCreateCommand(
  config: Config,
  datasets: string[],
  opts: ScheduleCreateOptions,
): Promise<number> {
  return withClient(config, async (server, client) => {
    await createSchedule(config, server, client, datasets, opts);
    console.error(
      `schedule ${opts.id} created: ${opts.cron ? `cron "${opts.cron}"` : `every ${opts.every}`}${opts.timezone ? ` (${opts.timezone})` : ''}; ` +
        `trigger it now with: agentscale schedule trigger ${opts.id}`,
    );
    return EXIT.ok;
  });
}

/** The schedule's runs, oldest first, as its folder records them. */
export const scheduleRuns = (config: Config, id: string) => readJson<string[]>(scheduleFolder(config, id).runs);

export function scheduleCommand(
  config: Config,
  action: 'list' | 'describe' | 'pause' | 'unpause' | 'trigger' | 'delete',
  id: string | undefined,
  opts: { json?: boolean },
): Promise<number> {
  return withClient(config, async (_server, client) => {
    if (action === 'list') {
      const rows = [];
      for await (const s of client.schedule.list()) {
        rows.push({
          id: s.scheduleId,
          paused: s.state.paused,
          next: s.info.nextActionTimes[0]?.toISOString(),
          recent: s.info.recentActions.at(-1)?.action.workflow.workflowId,
        });
      }
      if (opts.json) printJson(rows);
      else
        for (const r of rows)
          console.log(`${r.id}${r.paused ? ' (paused)' : ''}: next ${r.next ?? '-'}, last run ${r.recent ?? '-'}`);
      return EXIT.ok;
    }
    if (!id) throw new UsageError(`schedule ${action} needs a schedule id`);
    const handle = client.schedule.getHandle(id);
    try {
      switch (action) {
        case 'describe': {
          const d = await handle.describe();
          const out = {
            id,
            paused: d.state.paused,
            spec: d.spec,
            overlap: d.policies.overlap,
            catchupWindowMs: d.policies.catchupWindow,
            next: d.info.nextActionTimes.map((t) => t.toISOString()),
            runs: existsSync(scheduleFolder(config, id).runs) ? scheduleRuns(config, id) : [],
          };
          if (opts.json) printJson(out);
          else console.log(JSON.stringify(out, null, 2));
          break;
        }
        case 'pause':
          await handle.pause('paused with agentscale schedule pause');
          break;
        case 'unpause':
          await handle.unpause('unpaused with agentscale schedule unpause');
          break;
        case 'trigger':
          // A manual trigger runs even when another run of the schedule is in flight.
          await handle.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
          console.error(`schedule ${id} triggered; its run shows in \`agentscale list\``);
          break;
        case 'delete':
          await handle.delete();
          console.error(`schedule ${id} deleted (its runs and folder stay: ${scheduleFolder(config, id).dir})`);
          break;
      }
    } catch (e) {
      if (e instanceof ScheduleNotFoundError) throw new UsageError(`no schedule ${id}`);
      throw e;
    }
    return EXIT.ok;
  });
}

export function compareCommand(
  config: Config,
  previous: string,
  current: string,
  opts: { json?: boolean; level?: number },
): number {
  const report = (runId: string) => {
    const file = runFolder(runDirOf(config, runId)).results;
    if (!existsSync(file)) throw new UsageError(`run ${runId} has no report (${file})`);
    return readJson<RunReport>(file);
  };
  const ui = temporalUiUrl(config);
  const c = compareRuns(report(previous), report(current), {
    level: opts.level ?? config.report.regressionLevel,
    ...(ui ? { ui: { url: ui, namespace: config.temporal.namespace } } : {}),
  });
  if (opts.json) printJson(c);
  else console.log(renderComparison(c));
  return EXIT.ok;
}
