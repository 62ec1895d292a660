// Scheduled runs: when a schedule fires, the worker makes the run's folder from what the schedule
// froze (its tasks and settings), and once the run is done, compares it with the schedule's
// previous run that finished.
import { compareRuns, renderComparison, runGrid, type RunComparison } from '../core/compare';
import { renderReportHtml } from '../core/reportHtml';
import { chartLibrary } from '../runtime/chartLibrary';
import { temporalUiUrl, type Config } from '../core/config';
import type { RunReport } from '../core/report';
import type { RunSettings } from '../core/settings';
import { taskRef, TaskSchema, type TaskRef } from '../core/task';
import { readIfExists, readJson, readTextIfExists, writeFileAtomic, writeJson } from '../runtime/artifacts';
import { runDirOf, runFolder, scheduleFolder } from '../runtime/runFolder';
import { writeRunRecord } from '../runtime/runRecord';

/** What `schedule create` froze into the schedule's folder. */
export interface ScheduleRecord {
  scheduleId: string;
  settings: RunSettings;
  datasets: string[];
  createdAt: string;
}

/** Runs shown side by side in a scheduled run's report.html: this one and the schedule's previous ones. */
const GRID_RUNS = 10;

export function createScheduleActivities(config: Config) {
  return {
    /**
     * The run's folder from the schedule's frozen tasks and settings; returns its tasks and the
     * schedule's earlier runs (oldest first). Idempotent: a retry finds the folder made.
     */
    async startScheduledRun(input: {
      scheduleId: string;
      runId: string;
      runDir: string;
    }): Promise<{ tasks: TaskRef[]; earlier: string[] }> {
      const folder = scheduleFolder(config, input.scheduleId);
      const record = readJson<ScheduleRecord>(folder.schedule);
      const tasks = readJson<unknown[]>(folder.dataset).map((t) => TaskSchema.parse(t));
      if (!readIfExists(runFolder(input.runDir).run)) {
        writeRunRecord(config, input.runDir, {
          runId: input.runId,
          tasks,
          settings: record.settings,
          datasets: record.datasets,
          schedule: input.scheduleId,
        });
      }
      const runs = readIfExists<string[]>(folder.runs) ?? [];
      if (!runs.includes(input.runId)) writeJson(folder.runs, [...runs, input.runId]);
      return { tasks: tasks.map(taskRef), earlier: runs.filter((r) => r !== input.runId) };
    },

    /**
     * This run against the newest earlier run of its schedule that has a report; the comparison
     * goes into this run's results.json and results.md.
     */
    async compareWithPrevious(input: { runDir: string; earlier: string[] }): Promise<RunComparison | undefined> {
      const previous = [...input.earlier]
        .reverse()
        .map((id) => readIfExists<RunReport>(runFolder(runDirOf(config, id)).results))
        .find((r) => r !== undefined);
      if (!previous) return undefined;
      const folder = runFolder(input.runDir);
      const current = readJson<RunReport & { comparison?: RunComparison }>(folder.results);
      const ui = temporalUiUrl(config);
      const comparison = compareRuns(previous, current, {
        level: config.report.regressionLevel,
        ...(ui ? { ui: { url: ui, namespace: config.temporal.namespace } } : {}),
      });
      writeJson(folder.results, { ...current, comparison });
      // report.html gains the comparison and the schedule's recent runs, task by task.
      const recent = [...input.earlier.slice(-(GRID_RUNS - 1)), current.runId]
        .map((id) =>
          id === current.runId ? current : readIfExists<RunReport>(runFolder(runDirOf(config, id)).results),
        )
        .filter((r): r is RunReport => r !== undefined);
      const grid = runGrid(recent, ui ? { url: ui, namespace: config.temporal.namespace } : undefined);
      writeFileAtomic(folder.html, renderReportHtml(current, chartLibrary(), { comparison, grid }));
      const table = readTextIfExists(folder.table) ?? '';
      if (!table.includes(`## Compared with ${comparison.previous}`)) {
        writeFileAtomic(folder.table, `${table.trimEnd()}\n\n${renderComparison(comparison)}\n`);
      }
      return comparison;
    },
  };
}
