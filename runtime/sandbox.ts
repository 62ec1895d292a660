// Sandboxes: one container per attempt, commands through the in-container command server
// (runtime/shell.ts), files in and out through the archive API. Plain async functions; the
// activity layer wraps them. Every container carries LABEL.managed so `removeSandboxes` and
// crash clean-up find exactly ours.
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pack as packDir } from 'tar-fs';
import * as tar from 'tar-stream';
import type Docker from 'dockerode';
import { checkHostFreeSpace, noteDiskLimits, storageDriver, writableLayerBytes } from './disk';
import { explainDockerError, getDocker, isNotFound, statusOf } from './docker';
import {
  mountsFor,
  removeOrphanedResources,
  removeServices,
  SANDBOX_LABEL,
  startServices,
  type ComposeSpec,
} from './services';
import {
  dropShells,
  interruptShells,
  runInShell,
  SandboxGoneError,
  SandboxUnusableError,
  throwIfGone,
  type ShellResult,
} from './shell';

export { SandboxGoneError, SandboxUnusableError, closeAllShells } from './shell';
export { HostDiskLowError } from './disk';

export const LABEL = {
  managed: 'agentscale.managed',
  run: 'agentscale.run',
  task: 'agentscale.task',
  attempt: 'agentscale.attempt',
  worker: 'agentscale.worker',
  /** The Temporal server and namespace whose run owns the container (`gc` asks that server). */
  server: 'agentscale.server',
} as const;

/**
 * How commands in the container are treated, chosen when it is made and read back by every exec
 * (whichever worker runs it): its disk limit, whether the watchdog enforces it, and whether
 * processes a command leaves running stay (background services) or are killed.
 */
const POLICY_LABEL = {
  storageMb: 'agentscale.storage-mb',
  diskWatch: 'agentscale.disk-watch',
  background: 'agentscale.background-services',
} as const;

/** Folders every sandbox has (Harbor's layout): agent logs, verifier output, artifacts. */
export const LOG_DIRS = ['/logs/agent', '/logs/verifier', '/logs/artifacts'] as const;

export interface SandboxSpec {
  name: string;
  image: string;
  labels: Record<string, string>;
  workdir?: string;
  env?: Record<string, string>;
  cpus: number;
  memoryMb: number;
  pids: number;
  /** Disk limit of the container's writable layer (see runtime/disk.ts for how it is enforced). */
  storageMb?: number;
  allowInternet: boolean;
  /** Leave processes commands start running (services the task needs); by default they are killed. */
  backgroundServices?: boolean;
  /** No container starts while the engine's disk has less than this available (0: unchecked). */
  minHostFreeMb?: number;
  /** Other services to start first, on a network of the sandbox's own (runtime/services.ts). */
  compose?: ComposeSpec;
}

// PID 1: a shell that keeps `sleep infinity` running. Being PID 1 it reaps orphaned processes
// (what --init would do) and, unlike docker-init, survives a command's `kill -9 -1` (the kernel
// never delivers kill(-1) to PID 1; docker-init would exit with its killed child and take the
// container down). TERM (docker stop/rm) ends it at once.
const PID1_SCRIPT = "trap 'exit 0' TERM INT HUP; while :; do sleep infinity & wait $!; [ $? -eq 1 ] && sleep 1; done";

let storageOptSupported: boolean | undefined;

function isStorageOptError(err: unknown): boolean {
  const msg = String((err as Error | null)?.message ?? err);
  return /storage-?opt|quota|xfs|size option/i.test(msg);
}

function managedLabels(spec: SandboxSpec): Record<string, string> {
  return {
    ...spec.labels,
    [LABEL.managed]: 'true',
    ...(spec.storageMb !== undefined && { [POLICY_LABEL.storageMb]: String(spec.storageMb) }),
    ...(spec.backgroundServices && { [POLICY_LABEL.background]: 'true' }),
  };
}

/** Same image and the same agentscale.* labels (image labels are merged in and ignored). */
function sameSandbox(info: Docker.ContainerInspectInfo, spec: SandboxSpec, labels: Record<string, string>): boolean {
  if (info.Config.Image !== spec.image) return false;
  const have = info.Config.Labels ?? {};
  for (const [k, v] of Object.entries(labels)) if (have[k] !== v) return false;
  // Our own keys must match exactly (absent stays absent); other agentscale.* labels may come
  // from the image (the image builder labels its images).
  for (const k of Object.values(LABEL)) if (have[k] !== labels[k]) return false;
  return true;
}

async function inspectOrUndefined(nameOrId: string): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    return await getDocker().getContainer(nameOrId).inspect();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw explainDockerError(err);
  }
}

/**
 * Creates (and starts) the sandbox, idempotent by name: a running container of that name with
 * the same image and labels is reused (a retried activity finds its own container); anything
 * else of that name is replaced.
 */
export async function createSandbox(spec: SandboxSpec): Promise<{ containerId: string; reused: boolean }> {
  const labels = managedLabels(spec);
  const existing = await inspectOrUndefined(spec.name);
  if (existing) {
    if (existing.State.Running && !existing.State.Paused && sameSandbox(existing, spec, labels)) {
      await ensureLogDirs(existing.Id);
      return { containerId: existing.Id, reused: true };
    }
    await removeSandbox(existing.Id);
  }
  await checkHostFreeSpace(spec.minHostFreeMb ?? 0);
  if (spec.storageMb !== undefined && storageOptSupported === undefined) {
    const driver = await storageDriver();
    if (driver.sizeLimits === false) {
      storageOptSupported = false;
      noteDiskLimits(driver);
    }
  }

  // With services, the task container joins their network (internal unless the task may reach
  // the internet) as `main`, once what it depends on is up.
  const network = spec.compose
    ? await startServices(spec.name, spec.compose, { labels, allowInternet: spec.allowInternet, pids: spec.pids })
    : undefined;
  const hostConfig: Docker.HostConfig = {
    NetworkMode: network ?? (spec.allowInternet ? 'bridge' : 'none'),
    ...(spec.compose?.main.mounts.length && { Mounts: mountsFor(spec.name, spec.compose.main.mounts) }),
    Memory: Math.round(spec.memoryMb * 1024 * 1024),
    MemorySwap: Math.round(spec.memoryMb * 1024 * 1024),
    NanoCpus: Math.round(spec.cpus * 1e9),
    PidsLimit: spec.pids,
    Init: false, // PID 1 reaps itself, see PID1_SCRIPT
  };
  const options: Docker.ContainerCreateOptions = {
    name: spec.name,
    Image: spec.image,
    Entrypoint: ['/bin/sh', '-c', PID1_SCRIPT],
    Cmd: [],
    Labels: labels,
    Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
    Tty: false,
    OpenStdin: false,
    StopSignal: 'SIGTERM',
    ...(spec.workdir ? { WorkingDir: spec.workdir } : {}),
    HostConfig: hostConfig,
    ...(network && { NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: ['main'] } } } }),
  };

  const docker = getDocker();
  let container: Docker.Container;
  const wantStorage = spec.storageMb !== undefined && storageOptSupported !== false;
  // Without the driver's quota, the watchdog in execInSandbox enforces the limit.
  const watched: Docker.ContainerCreateOptions = {
    ...options,
    Labels: { ...labels, ...(spec.storageMb !== undefined && { [POLICY_LABEL.diskWatch]: 'true' }) },
  };
  const first = wantStorage
    ? { ...options, HostConfig: { ...hostConfig, StorageOpt: { size: `${spec.storageMb}M` } } }
    : watched;
  try {
    container = await docker.createContainer(first);
    if (wantStorage) storageOptSupported = true;
  } catch (err) {
    if (wantStorage && isStorageOptError(err)) {
      // The storage driver cannot enforce a size (overlay2 off xfs+pquota): the watchdog does.
      storageOptSupported = false;
      noteDiskLimits(await storageDriver(), (err as Error).message);
      container = await createOrExplain(docker, watched);
    } else if (statusOf(err) === 409) {
      // Someone created the same name meanwhile (a concurrent retry): replace it once.
      await removeSandbox(spec.name);
      container = await createOrExplain(docker, first);
    } else {
      throw explainDockerError(err);
    }
  }
  try {
    await container.start();
  } catch (err) {
    await removeSandbox(container.id).catch(() => undefined);
    throw explainDockerError(err);
  }
  await ensureLogDirs(container.id);
  return { containerId: container.id, reused: false };
}

async function createOrExplain(docker: Docker, options: Docker.ContainerCreateOptions): Promise<Docker.Container> {
  try {
    return await docker.createContainer(options);
  } catch (err) {
    throw explainDockerError(err);
  }
}

async function ensureLogDirs(containerId: string): Promise<void> {
  const r = await execInSandbox({
    containerId,
    command: `mkdir -p ${LOG_DIRS.join(' ')} && chmod 777 ${LOG_DIRS.join(' ')}`,
    timeoutSec: 30,
    outputCapBytes: 4000,
    user: 'root',
  });
  if (r.exitCode !== 0) throw new Error(`cannot create ${LOG_DIRS.join(', ')} in the sandbox: ${r.output}`);
}

export interface ExecRequest {
  containerId: string;
  command: string;
  timeoutSec: number;
  outputCapBytes: number;
  cwd?: string;
  env?: Record<string, string>;
  user?: string;
}

export type ExecResult = ShellResult;

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Runs `bash -lc command` in a fresh shell with its own timeout (the whole process group is
 * killed). Throws SandboxGoneError when the container is missing or stopped; a shell that dies
 * under its command (`kill -9 -1`, OOM) gives an observation saying so, and the next call works.
 */
export async function execInSandbox(req: ExecRequest): Promise<ExecResult> {
  for (const k of Object.keys(req.env ?? {})) {
    if (!ENV_KEY.test(k)) throw new TypeError(`invalid environment variable name: ${JSON.stringify(k)}`);
  }
  if (
    req.command.includes('\u0000') ||
    req.cwd?.includes('\u0000') ||
    Object.values(req.env ?? {}).some((v) => v.includes('\u0000'))
  ) {
    return {
      exitCode: 2,
      output: 'agentscale: the command contains a NUL byte, which no shell can run',
      outputBytes: 0,
      truncated: false,
      timedOut: false,
      durationMs: 0,
    };
  }
  const policy = await policyOf(req.containerId);
  const shellReq = {
    command: req.command,
    timeoutSec: req.timeoutSec,
    outputCapBytes: req.outputCapBytes,
    cwd: req.cwd,
    env: req.env,
    keepBackground: policy.background,
    // No single file may outgrow the whole limit: caught at once, where the watchdog lags.
    fileSizeLimitKb: policy.watchMb !== undefined ? policy.watchMb * 1024 : undefined,
  };
  if (policy.watchMb === undefined) return runInShell(req.containerId, req.user || undefined, shellReq);

  const limit = policy.watchMb;
  await overLimit(req.containerId, limit, policy.lastSize);
  let over: number | undefined;
  const timer = setInterval(() => {
    void writableLayerBytes(req.containerId)
      .then((bytes) => {
        if (bytes !== undefined && bytes > limit * 2 ** 20 && over === undefined) {
          over = bytes;
          interruptShells(req.containerId);
        }
      })
      .catch(() => undefined);
  }, DISK_POLL_MS);
  try {
    const r = await runInShell(req.containerId, req.user || undefined, shellReq);
    if (over !== undefined) throw diskLimitError(req.containerId, over, limit);
    // Measured while the model thinks; the next command (or the evaluation) waits for the answer.
    policy.lastSize = writableLayerBytes(req.containerId).catch(() => undefined);
    return r;
  } finally {
    clearInterval(timer);
  }
}

/** How often the writable layer is measured while a command runs. */
const DISK_POLL_MS = 2000;

interface Policy {
  background: boolean;
  /** The disk limit in MB when the watchdog (not the storage driver) enforces it. */
  watchMb?: number;
  /** The writable layer's size after the last command. */
  lastSize?: Promise<number | undefined>;
}

const policies = new Map<string, Promise<Policy>>();

/** The container's policy labels, read once per container and process. */
function policyOf(containerId: string): Promise<Policy> {
  let p = policies.get(containerId);
  if (!p) {
    p = (async () => {
      let labels: Record<string, string>;
      try {
        labels = (await getDocker().getContainer(containerId).inspect()).Config.Labels ?? {};
      } catch (err) {
        if (isNotFound(err)) throw new SandboxGoneError(containerId, 'no such container');
        throw explainDockerError(err);
      }
      const mb = Number(labels[POLICY_LABEL.storageMb]);
      return {
        background: labels[POLICY_LABEL.background] === 'true',
        watchMb: labels[POLICY_LABEL.diskWatch] === 'true' && mb > 0 ? mb : undefined,
      };
    })();
    p.catch(() => policies.delete(containerId));
    policies.set(containerId, p);
  }
  return p;
}

/**
 * For steps that bypass the command server (Harbor's phases run as their own `docker exec`): the
 * per-file cap to set (KiB), and a check, after the step, that the container is within its limit.
 */
export async function diskGuard(
  containerId: string,
): Promise<{ fileSizeLimitKb?: number; check: () => Promise<void> }> {
  const policy = await policyOf(containerId);
  const limit = policy.watchMb;
  if (limit === undefined) return { check: async () => undefined };
  return {
    fileSizeLimitKb: limit * 1024,
    check: () =>
      overLimit(
        containerId,
        limit,
        writableLayerBytes(containerId).catch(() => undefined),
      ),
  };
}

async function overLimit(containerId: string, limitMb: number, last?: Promise<number | undefined>): Promise<void> {
  const bytes = await last;
  if (bytes !== undefined && bytes > limitMb * 2 ** 20) throw diskLimitError(containerId, bytes, limitMb);
}

function diskLimitError(containerId: string, bytes: number, limitMb: number): SandboxUnusableError {
  return new SandboxUnusableError(
    containerId,
    `its disk limit is exceeded: ${Math.round(bytes / 2 ** 20)} MB written, limit ${limitMb} MB (the task's storage_mb or sandbox.storageMb)`,
  );
}

// ---- files ----

/** A 404 from the archive API that is about the path, not the container. */
function isMissingPath(err: unknown): boolean {
  return isNotFound(err) && /could not find the file|container:path/i.test(String((err as Error).message));
}

function archiveError(containerId: string, err: unknown): unknown {
  if (isNotFound(err) && !isMissingPath(err)) {
    return new SandboxGoneError(containerId, 'no such container');
  }
  return explainDockerError(err);
}

function relInContainer(containerPath: string): string {
  if (!path.posix.isAbsolute(containerPath)) throw new TypeError(`container path must be absolute: ${containerPath}`);
  const rel = path.posix.normalize(containerPath).replace(/^\/+/, '').replace(/\/+$/, '');
  return rel;
}

async function putTar(containerId: string, archive: NodeJS.ReadableStream | tar.Pack): Promise<void> {
  try {
    // tar-stream's Pack is a streamx stream: pipe-compatible, though not typed as a node stream.
    await getDocker()
      .getContainer(containerId)
      .putArchive(archive as NodeJS.ReadableStream, { path: '/' });
  } catch (err) {
    throw archiveError(containerId, err);
  }
}

/**
 * Copies a host file or folder into the sandbox, owned by root (or opts.uid/gid) with the host's
 * modes. A file lands exactly at `containerPath`; a folder's *contents* land in `containerPath`
 * (created if missing, merged if present). Missing parents are created.
 */
export async function copyIntoSandbox(
  containerId: string,
  hostPath: string,
  containerPath: string,
  opts: { uid?: number; gid?: number } = {},
): Promise<void> {
  const uid = opts.uid ?? 0;
  const gid = opts.gid ?? 0;
  const target = relInContainer(containerPath);
  const st = await fs.stat(hostPath);
  if (st.isDirectory()) {
    if (!target) throw new TypeError('refusing to copy a folder over /');
    const stream = packDir(hostPath, {
      map: (header) => {
        const name = header.name === '.' || header.name === '' ? target : path.posix.join(target, header.name);
        return { ...header, name, uid, gid, uname: '', gname: '' };
      },
    });
    await putTar(containerId, stream);
    return;
  }
  if (!st.isFile()) throw new TypeError(`not a file or folder: ${hostPath}`);
  if (!target) throw new TypeError('container path names no file');
  const p = tar.pack();
  const entry = p.entry(
    { name: target, size: st.size, mode: st.mode & 0o7777, uid, gid, mtime: st.mtime, type: 'file' },
    (err) => {
      if (err) p.destroy(err);
      else p.finalize();
    },
  );
  createReadStream(hostPath)
    .on('error', (e) => p.destroy(e))
    .pipe(entry);
  await putTar(containerId, p);
}

/** Writes `content` to `containerPath` (parents created), owned by root, mode 0644 by default. */
export async function writeFileToSandbox(
  containerId: string,
  containerPath: string,
  content: string | Buffer,
  mode = 0o644,
): Promise<void> {
  const target = relInContainer(containerPath);
  if (!target) throw new TypeError('container path names no file');
  const p = tar.pack();
  p.entry(
    { name: target, mode, uid: 0, gid: 0, mtime: new Date(), type: 'file' },
    typeof content === 'string' ? Buffer.from(content, 'utf8') : content,
  );
  p.finalize();
  await putTar(containerId, p);
}

/**
 * Reads a file from the sandbox; undefined when it does not exist. Symlinks are followed; a
 * folder is an error. Throws SandboxGoneError when the container is missing.
 */
export async function readFileFromSandbox(containerId: string, containerPath: string): Promise<Buffer | undefined> {
  let current = path.posix.normalize(containerPath);
  for (let hops = 0; hops < 16; hops++) {
    let archive: NodeJS.ReadableStream;
    try {
      archive = await getDocker().getContainer(containerId).getArchive({ path: current });
    } catch (err) {
      if (isMissingPath(err)) return undefined;
      throw archiveError(containerId, err);
    }
    const first = await firstEntry(archive as Readable);
    if (!first) return undefined;
    if (first.type === 'file') return first.data;
    if (first.type === 'symlink' && first.linkname) {
      current = path.posix.resolve(path.posix.dirname(current), first.linkname);
      continue;
    }
    if (first.type === 'directory') throw new Error(`${containerPath} is a folder, not a file`);
    throw new Error(`${containerPath} is not a regular file (${first.type})`);
  }
  throw new Error(`${containerPath}: too many levels of symbolic links`);
}

async function firstEntry(archive: Readable): Promise<{ type: string; linkname?: string; data: Buffer } | undefined> {
  const extract = tar.extract();
  return new Promise((resolve, reject) => {
    let done = false;
    extract.on('entry', (header, stream, next) => {
      if (done) {
        stream.resume();
        next();
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        done = true;
        resolve({ type: header.type ?? 'file', linkname: header.linkname ?? undefined, data: Buffer.concat(chunks) });
        next();
      });
      stream.on('error', reject);
    });
    extract.on('finish', () => {
      if (!done) resolve(undefined);
    });
    extract.on('error', reject);
    archive.on('error', reject);
    archive.pipe(extract);
  });
}

// ---- lifecycle ----

/** Removes the sandbox (force, with anonymous volumes) and drops its cached shells. Missing is fine. */
export async function removeSandbox(nameOrId: string): Promise<void> {
  const info = await inspectOrUndefined(nameOrId).catch(() => undefined);
  const names = new Set([nameOrId, nameOrId.replace(/^\//, '')]);
  if (info) {
    names.add(info.Id);
    names.add(info.Name.replace(/^\//, ''));
  }
  const ours = (c: string) => names.has(c) || (info !== undefined && c.length >= 12 && info.Id.startsWith(c));
  dropShells(ours);
  for (const c of policies.keys()) if (ours(c)) policies.delete(c);
  try {
    await getDocker()
      .getContainer(info?.Id ?? nameOrId)
      .remove({ force: true, v: true });
  } catch (err) {
    if (statusOf(err) === 409 && /already in progress/i.test(String((err as Error).message))) return;
    if (!isNotFound(err)) throw explainDockerError(err);
  }
  // A task container takes its compose services, network and volumes with it (a service
  // container is removed alone).
  if (!info?.Config.Labels?.[SANDBOX_LABEL]) {
    const name = info ? info.Name.replace(/^\//, '') : nameOrId.replace(/^\//, '');
    if (!/^[0-9a-f]{64}$/.test(name)) await removeServices(name);
  }
}

export interface SandboxInfo {
  id: string;
  name: string;
  labels: Record<string, string>;
  state: string;
}

/** Our containers (LABEL.managed) that carry all the given labels, running or not. */
export async function listSandboxes(labels: Record<string, string>): Promise<SandboxInfo[]> {
  const filters = { label: [`${LABEL.managed}=true`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)] };
  try {
    const list = await getDocker().listContainers({ all: true, filters });
    return list.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      labels: c.Labels ?? {},
      state: c.State,
    }));
  } catch (err) {
    throw explainDockerError(err);
  }
}

/** Removes every sandbox carrying all the given labels; returns how many were removed. */
export async function removeSandboxes(labels: Record<string, string>): Promise<number> {
  const list = await listSandboxes(labels);
  await Promise.all(list.map((s) => removeSandbox(s.id)));
  await removeOrphanedResources(labels);
  return list.length;
}

/** Throws SandboxGoneError unless the sandbox exists and runs. */
export async function assertSandboxRunning(containerId: string): Promise<void> {
  await throwIfGone(containerId);
}
