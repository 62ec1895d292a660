// The artifact store: a run folder on disk. Workflows carry the run folder's path and ids;
// tasks, logs and reports live here. Writes go through a temp file and a rename, so a worker
// killed mid-write never leaves a half file for the retry to trip on.
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { TaskSchema, slug, type Task } from '../core/task';

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

export const runPaths = (runDir: string) => ({
  dataset: path.join(runDir, 'dataset.json'),
  run: path.join(runDir, 'run.json'),
  results: path.join(runDir, 'results.json'),
  /** Tasks a partial dataset skipped (validate), as verdicts: listed in the results, never run. */
  rejected: path.join(runDir, 'rejected.json'),
  /** Per task: the image references mapped for its build (images.baseImages). */
  imageMappings: (taskId: string) => path.join(runDir, 'tasks', slug(taskId, 80), 'image-mappings.json'),
  table: path.join(runDir, 'results.md'),
  task: (taskId: string) => path.join(runDir, 'tasks', slug(taskId, 80)),
  attempt: (taskId: string, attempt: string) => path.join(runDir, 'tasks', slug(taskId, 80), attempt),
});

/** Stores the run's tasks once, before the workflow starts; activities read them by id. */
export function storeDataset(runDir: string, tasks: Task[]): void {
  writeJson(runPaths(runDir).dataset, tasks);
}

const cache = new Map<string, Map<string, Task>>();

/** A task of a run, read from the run folder (cached per worker process). */
export function loadRunTask(runDir: string, taskId: string): Task {
  let tasks = cache.get(runDir);
  if (!tasks) {
    const file = runPaths(runDir).dataset;
    if (!existsSync(file)) throw new Error(`run folder ${runDir} has no dataset.json`);
    tasks = new Map(
      readJson<unknown[]>(file)
        .map((t) => TaskSchema.parse(t))
        .map((t) => [t.id, t]),
    );
    cache.set(runDir, tasks);
  }
  const task = tasks.get(taskId);
  if (!task) throw new Error(`task ${taskId} is not in ${runPaths(runDir).dataset}`);
  return task;
}
