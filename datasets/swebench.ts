// Loads SWE-bench instance files as the datasets ship them: a JSON list, JSONL, a single JSON
// object (one instance), or the published parquet files (read with hyparquet). A JSON object keyed
// by instance_id is a predictions shape, not an instance file, and is rejected.
import path from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { z } from 'zod';
import { LOG_PARSERS } from '../core/swebenchParsers';
import { TASK_DEFAULTS, zodIssues, type DatasetIssue, type Task } from '../core/task';
import { finalizeTask, isRecord, readText, type LoadResult } from './util';

/** FAIL_TO_PASS / PASS_TO_PASS: a JSON-encoded list of strings (official data) or a real list. */
const testList = z.union([z.array(z.string()), z.string()]).transform((v, ctx) => {
  if (Array.isArray(v)) return v;
  let decoded: unknown;
  try {
    decoded = JSON.parse(v);
  } catch {
    decoded = undefined;
  }
  if (Array.isArray(decoded) && decoded.every((x) => typeof x === 'string')) return decoded as string[];
  ctx.issues.push({
    code: 'custom',
    input: v,
    message: 'expected a list of test names or a JSON-encoded list of strings',
  });
  return z.NEVER;
});

const text = z.string();
const commit = z.string().min(1);

export const SwebenchInstanceSchema = z.looseObject({
  instance_id: z.string().min(1),
  repo: z.string().min(1),
  base_commit: commit,
  problem_statement: text,
  hints_text: text.nullish(),
  created_at: z.unknown().optional(),
  version: z.union([z.string(), z.number()]).transform(String).nullish(),
  patch: text.nullish(),
  test_patch: text,
  FAIL_TO_PASS: testList,
  PASS_TO_PASS: testList.default([]),
  environment_setup_commit: commit.nullish(),
  // Newer dataset revisions (swebench 5.x): the instance's own eval script, parser, grading mode, image.
  eval_script: text.nullish(),
  log_parser: text.nullish(),
  eval_type: z.enum(['pass_and_fail', 'fail_only']).nullish(),
  image: text.nullish(),
});
export type SwebenchInstance = z.infer<typeof SwebenchInstanceSchema>;

/**
 * The image name the official harness gives an instance on Docker Hub (swebench/…): lowercased,
 * "__" written as "_1776_". Images the harness builds locally keep "__" (see officialImageAliases).
 */
export function officialImageName(instanceId: string, arch = 'x86_64'): string {
  return `sweb.eval.${arch}.${instanceId.toLowerCase().replaceAll('__', '_1776_')}`;
}

/** Other names the same official image goes by (pulled from Docker Hub, or built locally by the harness). */
export function officialImageAliases(instanceId: string, arch = 'x86_64'): string[] {
  return [
    `swebench/${officialImageName(instanceId, arch)}:latest`,
    `sweb.eval.${arch}.${instanceId.toLowerCase()}:latest`,
  ];
}

interface RawEntry {
  /** Where the entry is, for issues: `file:line` for JSONL, `file[index]` for a JSON list, else the file. */
  where: string;
  value: unknown;
}

/** Loads every instance in `file` (any path; stored absolute). Never throws for dataset problems. */
export async function loadSwebenchFile(file: string): Promise<LoadResult> {
  const abs = path.resolve(file);
  const issues: DatasetIssue[] = [];
  let entries: RawEntry[];
  if (abs.toLowerCase().endsWith('.parquet')) {
    entries = await parquetEntries(abs, issues);
  } else {
    const content = await readText(abs, issues, 'SWE-bench instance file');
    if (content === undefined) return { tasks: [], issues };
    entries = splitEntries(abs, content, issues);
  }
  const tasks: Task[] = [];
  const seen = new Map<string, string>();
  for (const entry of entries) {
    const task = instanceToTask(abs, entry, issues);
    if (!task) continue;
    const first = seen.get(task.id);
    if (first) {
      issues.push({
        file: entry.where,
        field: 'instance_id',
        message: `duplicate instance_id "${task.id}" (first at ${first})`,
      });
      continue;
    }
    seen.set(task.id, entry.where);
    tasks.push(task);
  }
  if (entries.length === 0 && issues.length === 0) issues.push({ file: abs, message: 'no instances in file' });
  return { tasks, issues };
}

/** Parquet values as JSON would hold them: 64-bit integers and timestamps become numbers and ISO strings. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object' && !(v instanceof Uint8Array))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** Rows of a parquet file (the Hugging Face datasets' format), one entry each. */
async function parquetEntries(file: string, issues: DatasetIssue[]): Promise<RawEntry[]> {
  try {
    const rows = await parquetReadObjects({ file: await asyncBufferFromFile(file), compressors });
    return rows.map((row, i) => ({ where: `${file}[row ${i}]`, value: plain(row) }));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    issues.push({
      file,
      message: code === 'ENOENT' ? 'missing SWE-bench instance file' : `cannot read parquet: ${(e as Error).message}`,
    });
    return [];
  }
}

function splitEntries(file: string, content: string, issues: DatasetIssue[]): RawEntry[] {
  const trimmed = content.trim();
  if (trimmed === '') return [];
  if (!file.toLowerCase().endsWith('.jsonl')) {
    let whole: unknown;
    let wholeError: Error | undefined;
    try {
      whole = JSON.parse(trimmed);
    } catch (e) {
      wholeError = e as Error;
    }
    if (!wholeError) return fromJsonValue(file, whole, issues);
    // Not one JSON document: JSONL under another name? Only if the first line is an object itself.
    const firstLine = trimmed.split('\n', 1)[0]!.trim();
    if (!looksLikeJsonObjectLine(firstLine)) {
      issues.push({ file, message: `invalid JSON: ${wholeError.message}` });
      return [];
    }
  }
  return fromJsonl(file, content, issues);
}

function looksLikeJsonObjectLine(line: string): boolean {
  try {
    return isRecord(JSON.parse(line));
  } catch {
    return false;
  }
}

function fromJsonValue(file: string, value: unknown, issues: DatasetIssue[]): RawEntry[] {
  if (Array.isArray(value)) return value.map((v, i) => ({ where: `${file}[${i}]`, value: v }));
  if (isRecord(value)) {
    if ('instance_id' in value) return [{ where: file, value }];
    const values = Object.values(value);
    if (values.length > 0 && values.every((v) => isRecord(v) && 'instance_id' in v)) {
      issues.push({
        file,
        message:
          'this is a JSON object keyed by instance_id (the predictions shape), not an instance file; ' +
          'give the instances as a JSON list, JSONL, or a single instance object',
      });
      return [];
    }
    issues.push({
      file,
      field: 'instance_id',
      message: 'a single JSON object must be a SWE-bench instance (it has no instance_id)',
    });
    return [];
  }
  issues.push({ file, message: 'expected a JSON list of instances, JSONL, or a single instance object' });
  return [];
}

function fromJsonl(file: string, content: string, issues: DatasetIssue[]): RawEntry[] {
  const entries: RawEntry[] = [];
  content.split('\n').forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    if (line.trim() === '') return;
    try {
      entries.push({ where, value: JSON.parse(line) });
    } catch (e) {
      issues.push({ file: where, message: `invalid JSON on line ${i + 1}: ${(e as Error).message}` });
    }
  });
  return entries;
}

function instanceToTask(file: string, entry: RawEntry, issues: DatasetIssue[]): Task | undefined {
  if (!isRecord(entry.value)) {
    issues.push({ file: entry.where, message: 'an instance must be a JSON object' });
    return undefined;
  }
  const parsed = SwebenchInstanceSchema.safeParse(entry.value);
  if (!parsed.success) {
    issues.push(...zodIssues(entry.where, parsed.error));
    return undefined;
  }
  const inst = parsed.data;
  if (inst.log_parser && !(inst.log_parser in LOG_PARSERS)) {
    issues.push({
      file: entry.where,
      field: 'log_parser',
      message: `"${inst.log_parser}" is not a log parser agentscale has (it has the harness's Python ones: ${Object.keys(LOG_PARSERS).join(', ')})`,
    });
    return undefined;
  }
  const loader: Record<string, unknown> = {
    where: entry.where,
    allowInternet: 'defaulted to false (no network unless the task allows it)',
  };
  if (!inst.patch) loader.notes = ['no gold patch: the oracle cannot run'];
  return finalizeTask(
    {
      id: inst.instance_id,
      format: 'swebench',
      source: file,
      instruction: inst.problem_statement,
      environment: {
        kind: 'swebench',
        repo: inst.repo,
        baseCommit: inst.base_commit,
        ...(inst.environment_setup_commit && { environmentSetupCommit: inst.environment_setup_commit }),
        ...(inst.version != null && { version: inst.version }),
        officialImage: inst.image || officialImageName(inst.instance_id),
        officialImageAliases: [
          ...(inst.image ? [officialImageName(inst.instance_id)] : []),
          ...officialImageAliases(inst.instance_id),
        ],
      },
      workdir: '/testbed',
      limits: {},
      allowInternet: false,
      agent: { timeoutSec: TASK_DEFAULTS.agentTimeoutSec },
      verifier: {
        kind: 'swebench',
        testPatch: inst.test_patch,
        failToPass: inst.FAIL_TO_PASS,
        passToPass: inst.PASS_TO_PASS,
        ...(inst.eval_script && { evalScript: inst.eval_script }),
        ...(inst.log_parser && { logParser: inst.log_parser }),
        ...(inst.eval_type && { evalType: inst.eval_type }),
      },
      verifierTimeoutSec: TASK_DEFAULTS.verifierTimeoutSec,
      verifierEnv: {},
      env: {},
      buildTimeoutSec: TASK_DEFAULTS.buildTimeoutSec,
      solution: inst.patch ? { kind: 'patch', patch: inst.patch } : { kind: 'none' },
      // Every instance field as given (FAIL_TO_PASS etc. in their original encoding).
      metadata: { ...(entry.value as Record<string, unknown>), loader },
    },
    entry.where,
    issues,
  );
}
