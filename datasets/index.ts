// Loads datasets in any supported format:
//   a file                      → SWE-bench instances (JSON list, JSONL or one instance object)
//   a folder that is a task     → that task (task.toml: Harbor, task.yaml: Terminal-Bench 1)
//   a folder of task folders    → every task folder in it (hidden folders skipped)
// Every problem in every task is collected and thrown together as one DatasetError.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DatasetError, type DatasetIssue, type Task } from '../core/task';
import { loadHarborTask } from './harbor';
import { loadSwebenchFile } from './swebench';
import { loadTerminalBenchTask } from './terminalBench';
import { entryKind, isFile, type LoadResult } from './util';

export type { LoadResult } from './util';
export { loadHarborTask } from './harbor';
export { loadTerminalBenchTask } from './terminalBench';
export { loadSwebenchFile, officialImageName } from './swebench';

/** Which task format a folder holds, if it is a task folder. */
export async function taskFolderFormat(dir: string): Promise<'harbor' | 'terminal-bench' | undefined> {
  if (await isFile(path.join(dir, 'task.toml'))) return 'harbor';
  if (await isFile(path.join(dir, 'task.yaml'))) return 'terminal-bench';
  return undefined;
}

/** Loads one task folder, whichever format it is in. */
export async function loadTaskFolder(dir: string): Promise<LoadResult> {
  const format = await taskFolderFormat(dir);
  if (format === 'harbor') return loadHarborTask(dir);
  if (format === 'terminal-bench') return loadTerminalBenchTask(dir);
  return { tasks: [], issues: [{ file: path.resolve(dir), message: 'not a task folder: no task.toml or task.yaml' }] };
}

/**
 * A file given as a dataset must be SWE-bench instances. One that does not even look like JSON
 * (a README, a task.toml, a script) is named as such, rather than reported as broken JSON.
 */
async function notADataset(file: string): Promise<LoadResult | undefined> {
  if (/\.jsonl?$/i.test(file)) return undefined;
  let start: string;
  try {
    const fh = await fs.open(file);
    try {
      const { buffer, bytesRead } = await fh.read(Buffer.alloc(512), 0, 512, 0);
      start = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return undefined; // unreadable: the loader says so
  }
  const head = start.trimStart().slice(0, 1);
  if (head === '' || head === '[' || head === '{') return undefined;
  return {
    tasks: [],
    issues: [
      {
        file,
        message:
          'not a dataset: a file must hold SWE-bench instances (a JSON list, JSONL, or one instance object), ' +
          'and this one is not JSON; give a task folder (task.toml or task.yaml), a folder of them, or an instance file',
      },
    ],
  };
}

/** Like loadDataset, but returns the problems instead of throwing them. */
export async function collectDataset(p: string): Promise<LoadResult> {
  const abs = path.resolve(p);
  const kind = await entryKind(abs);
  if (kind === 'file') return (await notADataset(abs)) ?? loadSwebenchFile(abs);
  if (kind !== 'dir') {
    return { tasks: [], issues: [{ file: abs, message: kind ? 'not a file or folder' : 'no such file or folder' }] };
  }
  if (await taskFolderFormat(abs)) return loadTaskFolder(abs);

  const entries = (await fs.readdir(abs, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const tasks: Task[] = [];
  const issues: DatasetIssue[] = [];
  let folders = 0;
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const child = path.join(abs, e.name);
    if ((await entryKind(child)) !== 'dir') continue; // loose files (READMEs) in a dataset folder are fine
    folders++;
    const r = await loadTaskFolder(child);
    tasks.push(...r.tasks);
    issues.push(...r.issues);
  }
  if (folders === 0) {
    issues.push({
      file: abs,
      message: 'no tasks found: not a task folder (task.toml/task.yaml) and no task folders inside',
    });
  }
  // Folder names are unique, so ids are too; duplicates can only come from several datasets.
  return { tasks, issues };
}

/** Loads a dataset (see the top of this file); throws DatasetError listing every problem. */
export async function loadDataset(p: string): Promise<Task[]> {
  const { tasks, issues } = await collectDataset(p);
  if (issues.length > 0) throw new DatasetError(issues);
  return tasks;
}

/** Which tasks of the loaded datasets to keep: `--instances ID,ID` and `--filter REGEX`. */
export interface TaskSelection {
  /** Comma-separated task ids (SWE-bench instance ids); each must exist. */
  instances?: string;
  /** A regular expression searched in each task id. */
  filter?: string;
}

/**
 * Keeps the selected tasks, in dataset order: those named by `instances` (every name must exist,
 * as the harness's --instance_ids requires) and, of those, the ids `filter` matches.
 */
export function selectTasks(tasks: Task[], sel: TaskSelection = {}): Task[] {
  let out = tasks;
  const issues: DatasetIssue[] = [];
  if (sel.instances !== undefined) {
    const wanted = sel.instances
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const have = new Set(tasks.map((t) => t.id));
    const missing = wanted.filter((id) => !have.has(id));
    if (missing.length) issues.push({ file: '--instances', message: `not in the datasets: ${missing.join(', ')}` });
    const keep = new Set(wanted);
    out = out.filter((t) => keep.has(t.id));
  }
  if (sel.filter !== undefined) {
    let re: RegExp;
    try {
      re = new RegExp(sel.filter);
    } catch (e) {
      throw new DatasetError([{ file: '--filter', message: (e as Error).message }]);
    }
    out = out.filter((t) => re.test(t.id));
  }
  if (issues.length === 0 && out.length === 0 && (sel.instances !== undefined || sel.filter !== undefined))
    issues.push({ file: '--filter', message: `no task id matches (${tasks.length} tasks loaded)` });
  if (issues.length) throw new DatasetError(issues);
  return out;
}

/** Loads several datasets as one; task ids must be unique across all of them. */
export async function loadDatasets(paths: string[], selection?: TaskSelection): Promise<Task[]> {
  const tasks: Task[] = [];
  const issues: DatasetIssue[] = [];
  for (const p of paths) {
    const r = await collectDataset(p);
    tasks.push(...r.tasks);
    issues.push(...r.issues);
  }
  issues.push(...duplicateIdIssues(tasks));
  if (paths.length === 0) issues.push({ file: '(none)', message: 'no dataset paths given' });
  if (issues.length > 0) throw new DatasetError(issues);
  return selectTasks(tasks, selection);
}

function duplicateIdIssues(tasks: Task[]): DatasetIssue[] {
  const first = new Map<string, Task>();
  const issues: DatasetIssue[] = [];
  for (const t of tasks) {
    const prev = first.get(t.id);
    if (prev)
      issues.push({ file: t.source, field: 'id', message: `duplicate task id "${t.id}" (also in ${prev.source})` });
    else first.set(t.id, t);
  }
  return issues;
}
