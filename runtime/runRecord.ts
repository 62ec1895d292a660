// What a run folder records before its workflow starts: the tasks (dataset.json) and everything
// that shapes the run's results (run.json). Written by `run` on the client and, for scheduled
// runs, by the worker when the schedule fires.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Config } from '../core/config';
import { resultShapingSettings } from '../core/resultSettings';
import type { RunSettings } from '../core/settings';
import type { Task } from '../core/task';
import { storeDataset, writeJson } from './artifacts';
import { runFolder } from './runFolder';

export interface RunRecordInput {
  runId: string;
  tasks: Task[];
  settings: RunSettings;
  /** Where the tasks came from. */
  datasets?: string[];
  /** Said at the top of the report (e.g. that a scripted model stood in). */
  note?: string;
  /** The schedule that started the run. */
  schedule?: string;
}

export function writeRunRecord(config: Config, runDir: string, input: RunRecordInput): void {
  storeDataset(runDir, input.tasks);
  writeJson(runFolder(runDir).run, {
    runId: input.runId,
    strategy: input.settings.strategy,
    model: config.model.name,
    provider: config.model.provider,
    note: input.note,
    settings: input.settings,
    agent: config.agent,
    resultSettings: resultShapingSettings(config, (text) => createHash('sha256').update(text).digest('hex')),
    datasets: input.datasets?.map((d) => path.resolve(d)),
    schedule: input.schedule,
    createdAt: new Date().toISOString(),
  });
}
