// Helpers shared by the dataset loaders: file checks that report issues instead of throwing, the
// final TaskSchema check, size strings, and the one docker-compose shape we can turn into a build.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { TaskSchema, zodIssues, type DatasetIssue, type Environment, type Task } from '../core/task';

/** What a loader returns: the tasks that loaded and every problem found (nothing is thrown). */
export interface LoadResult {
  tasks: Task[];
  issues: DatasetIssue[];
}

export type EntryKind = 'file' | 'dir' | 'other';

/** What is at `p` (following symlinks), or undefined when nothing is. */
export async function entryKind(p: string): Promise<EntryKind | undefined> {
  try {
    const st = await fs.stat(p);
    return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
  } catch {
    return undefined;
  }
}

export async function isFile(p: string): Promise<boolean> {
  return (await entryKind(p)) === 'file';
}

export async function isDir(p: string): Promise<boolean> {
  return (await entryKind(p)) === 'dir';
}

/** Reads a text file; a missing or unreadable file becomes an issue and undefined. */
export async function readText(file: string, issues: DatasetIssue[], what = 'file'): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    issues.push({
      file,
      message: code === 'ENOENT' ? `missing ${what}` : `cannot read ${what}: ${(e as Error).message}`,
    });
    return undefined;
  }
}

/** The last check every loader makes: the candidate must be a valid Task. */
export function finalizeTask(candidate: unknown, file: string, issues: DatasetIssue[]): Task | undefined {
  const parsed = TaskSchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  issues.push(...zodIssues(file, parsed.error, 'task'));
  return undefined;
}

/** "2G", "512M", "1024K", "1.5GB", "2Gi" → megabytes (Harbor's deprecated memory/storage strings). */
export function parseSizeMb(size: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT])(?:i?B?)?\s*$/i.exec(size);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2]!.toUpperCase();
  const mb = unit === 'K' ? n / 1024 : unit === 'M' ? n : unit === 'G' ? n * 1024 : n * 1024 * 1024;
  const rounded = Math.floor(mb);
  return rounded > 0 ? rounded : undefined;
}

/** First of the names that exists as a file in `dir`. */
export async function firstFile(dir: string, names: string[]): Promise<string | undefined> {
  for (const n of names) {
    const p = path.join(dir, n);
    if (await isFile(p)) return p;
  }
  return undefined;
}

export const COMPOSE_NAMES = ['docker-compose.yaml', 'docker-compose.yml', 'compose.yaml', 'compose.yml'];

export interface ComposeInfo {
  serviceCount: number;
  serviceNames: string[];
  /** Set when the file has exactly one service and it has a build section. */
  build?: { contextDir: string; dockerfile: string };
}

/** A compose file parsed far enough to have a services map; problems go to `issues`. */
export async function readComposeDoc(
  file: string,
  issues: DatasetIssue[],
): Promise<(Record<string, unknown> & { services: Record<string, unknown> }) | undefined> {
  const text = await readText(file, issues, 'docker-compose file');
  if (text === undefined) return undefined;
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    issues.push({ file, message: `invalid YAML: ${(e as Error).message}` });
    return undefined;
  }
  if (!isRecord(doc) || !isRecord(doc.services)) {
    issues.push({ file, field: 'services', message: 'docker-compose file has no services map' });
    return undefined;
  }
  return doc as Record<string, unknown> & { services: Record<string, unknown> };
}

/** Reads a docker-compose file far enough to tell whether it is one service built from a Dockerfile. */
export async function readCompose(file: string, issues: DatasetIssue[]): Promise<ComposeInfo | undefined> {
  const services = (await readComposeDoc(file, issues))?.services;
  if (!services) return undefined;
  const names = Object.keys(services);
  const info: ComposeInfo = { serviceCount: names.length, serviceNames: names };
  if (names.length !== 1) return info;
  const svc = services[names[0]!];
  const build = isRecord(svc) ? svc.build : undefined;
  const baseDir = path.dirname(file);
  if (typeof build === 'string') {
    info.build = { contextDir: path.resolve(baseDir, build), dockerfile: 'Dockerfile' };
  } else if (isRecord(build)) {
    const context = typeof build.context === 'string' ? build.context : '.';
    const dockerfile = typeof build.dockerfile === 'string' ? build.dockerfile : 'Dockerfile';
    info.build = { contextDir: path.resolve(baseDir, context), dockerfile };
  }
  return info;
}

/**
 * Decides a folder's Dockerfile environment. `dockerfileDir` holds the Dockerfile (it is also the
 * build context); a compose file next to it is used only when it is a single service with a build.
 */
export async function dockerEnvironment(
  dockerfileDir: string,
  issues: DatasetIssue[],
  notes: string[],
): Promise<Environment | undefined> {
  const dockerfile = path.join(dockerfileDir, 'Dockerfile');
  const hasDockerfile = await isFile(dockerfile);
  const composeFile = await firstFile(dockerfileDir, COMPOSE_NAMES);
  const compose = composeFile ? await readCompose(composeFile, issues) : undefined;
  if (composeFile && !compose) return undefined; // issue already recorded

  if (compose && compose.serviceCount > 1) {
    issues.push({
      file: composeFile!,
      field: 'services',
      message:
        `docker-compose with ${compose.serviceCount} services (${compose.serviceNames.join(', ')}) is not supported yet; ` +
        'only a single service built from a Dockerfile is',
    });
    return undefined;
  }
  if (compose?.build) {
    const df = path.resolve(compose.build.contextDir, compose.build.dockerfile);
    if (!(await isFile(df))) {
      issues.push({ file: composeFile!, field: 'services.build', message: `Dockerfile not found: ${df}` });
      return undefined;
    }
    if (composeFile) notes.push(`environment from the single build service in ${path.basename(composeFile)}`);
    return { kind: 'dockerfile', contextDir: compose.build.contextDir, dockerfile: compose.build.dockerfile };
  }
  if (hasDockerfile) {
    if (composeFile)
      notes.push(`${path.basename(composeFile)} ignored: its single service has no build section; using Dockerfile`);
    return { kind: 'dockerfile', contextDir: dockerfileDir, dockerfile: 'Dockerfile' };
  }
  if (composeFile) {
    issues.push({
      file: composeFile,
      message: 'docker-compose environments are not supported yet (only a single service with a build context is)',
    });
    return undefined;
  }
  issues.push({ file: dockerfile, message: 'missing Dockerfile (no docker-compose file either)' });
  return undefined;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Makes parsed values plain JSON data (TOML dates become ISO strings), as a stored Task must be. */
export function toPlain(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === 'bigint') return value.toString();
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v)]));
  return value;
}
