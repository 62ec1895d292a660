// Loads datasets in any supported format:
//   a file                      → SWE-bench instances (JSON list, JSONL or one instance object)
//   a folder that is a task     → that task (task.toml: Harbor, task.yaml: Terminal-Bench 1)
//   a folder of task folders    → every task folder in it (hidden folders skipped)
// Every problem in every task is collected and thrown together as one DatasetError.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DatasetError, type DatasetIssue, type RejectedTask, type Task } from '../core/task';
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

/** One task folder that did not load, as a partial dataset lists it. */
async function rejectedTask(dir: string, issues: DatasetIssue[]): Promise<RejectedTask> {
  return {
    id: path.basename(dir),
    source: dir,
    format: (await taskFolderFormat(dir)) ?? 'unknown',
    kind: issues.every((i) => i.kind === 'unsupported') ? 'unsupported' : 'malformed',
    reasons: issues.map((i) => `${path.relative(dir, i.file) || '.'}${i.field ? ` [${i.field}]` : ''}: ${i.message}`),
    issues,
  };
}

/**
 * Like loadDataset, but returns the problems instead of throwing them. `rejected` has each task
 * folder that did not load, with its problems (they are in `issues` too).
 */
export async function collectDataset(p: string): Promise<LoadResult & { rejected: RejectedTask[] }> {
  const abs = path.resolve(p);
  const kind = await entryKind(abs);
  if (kind === 'file') return { ...((await notADataset(abs)) ?? (await loadSwebenchFile(abs))), rejected: [] };
  if (kind !== 'dir') {
    return {
      tasks: [],
      issues: [{ file: abs, message: kind ? 'not a file or folder' : 'no such file or folder' }],
      rejected: [],
    };
  }
  if (await taskFolderFormat(abs)) {
    const r = await loadTaskFolder(abs);
    return { ...r, rejected: r.issues.length ? [await rejectedTask(abs, r.issues)] : [] };
  }

  const entries = (await fs.readdir(abs, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const tasks: Task[] = [];
  const issues: DatasetIssue[] = [];
  const rejected: RejectedTask[] = [];
  let folders = 0;
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const child = path.join(abs, e.name);
    if ((await entryKind(child)) !== 'dir') continue; // loose files (READMEs) in a dataset folder are fine
    folders++;
    const r = await loadTaskFolder(child);
    tasks.push(...r.tasks);
    issues.push(...r.issues);
    if (r.issues.length) rejected.push(await rejectedTask(child, r.issues));
  }
  if (folders === 0) {
    issues.push({
      file: abs,
      message: 'no tasks found: not a task folder (task.toml/task.yaml) and no task folders inside',
    });
  }
  // Folder names are unique, so ids are too; duplicates can only come from several datasets.
  return { tasks, issues, rejected: folders === 0 ? [] : rejected };
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
  const { tasks, issues } = await collectDatasets(paths);
  if (issues.length > 0) throw new DatasetError(issues);
  return selectTasks(tasks, selection);
}

async function collectDatasets(paths: string[]) {
  const tasks: Task[] = [];
  const issues: DatasetIssue[] = [];
  const rejected: RejectedTask[] = [];
  for (const p of paths) {
    const r = await collectDataset(p);
    tasks.push(...r.tasks);
    issues.push(...r.issues);
    rejected.push(...r.rejected);
  }
  issues.push(...duplicateIdIssues(tasks));
  if (paths.length === 0) issues.push({ file: '(none)', message: 'no dataset paths given' });
  return { tasks, issues, rejected };
}

/**
 * A partial dataset: the tasks that load, and every task folder that does not (unsupported or
 * malformed) with its reasons. Problems that are not one task's (a missing path, an empty
 * folder, a duplicate id, a bad SWE-bench file) still throw, as `loadDatasets` does.
 */
export async function loadPartialDatasets(
  paths: string[],
  selection?: TaskSelection,
): Promise<{ tasks: Task[]; rejected: RejectedTask[] }> {
  const { tasks, issues, rejected } = await collectDatasets(paths);
  const owned = new Set(rejected.flatMap((r) => r.issues));
  const rest = issues.filter((i) => !owned.has(i));
  if (rest.length > 0) throw new DatasetError(rest);
  // Two skipped folders of one name would be one row in the results.
  const seen = new Set(tasks.map((t) => t.id));
  for (const r of rejected) {
    let id = r.id;
    for (let n = 2; seen.has(id); n++) id = `${r.id}~${n}`;
    r.id = id;
    seen.add(id);
  }
  return { tasks: selectTasks(tasks, selection), rejected };
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
