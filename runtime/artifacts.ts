// The artifact store: a run folder on disk (its layout is in runFolder.ts). Workflows carry the
// run folder's path and ids; tasks, logs and reports live here. Writes go through a temp file and
// a rename, so a worker killed mid-write never leaves a half file for the retry to trip on.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TaskSchema, type Task } from '../core/task';
import { runFolder } from './runFolder';

export function writeFileAtomic(file: string, content: string | Buffer): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, file);
}

export const writeJson = (file: string, value: unknown) => writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
export const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
export const readIfExists = <T>(file: string): T | undefined => (existsSync(file) ? readJson<T>(file) : undefined);
export const readTextIfExists = (file: string): string | undefined =>
  existsSync(file) ? readFileSync(file, 'utf8') : undefined;

/** Stores the run's tasks once, before the workflow starts; activities read them by id. */
export function storeDataset(runDir: string, tasks: Task[]): void {
  writeJson(runFolder(runDir).dataset, tasks);
}

/** Every task of a run folder, as stored when the run began. */
export function loadRunDataset(runDir: string): Task[] {
  const file = runFolder(runDir).dataset;
  if (!existsSync(file)) throw new Error(`run folder ${runDir} has no dataset.json`);
  return readJson<unknown[]>(file).map((t) => TaskSchema.parse(t));
}

const cache = new Map<string, Map<string, Task>>();

/** A task of a run, read from the run folder (cached per worker process). */
export function loadRunTask(runDir: string, taskId: string): Task {
  let tasks = cache.get(runDir);
  if (!tasks) {
    tasks = new Map(loadRunDataset(runDir).map((t) => [t.id, t]));
    cache.set(runDir, tasks);
  }
  const task = tasks.get(taskId);
  if (!task) throw new Error(`task ${taskId} is not in ${runFolder(runDir).dataset}`);
  return task;
}
