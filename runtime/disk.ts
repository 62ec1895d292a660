// Disk: what the Docker engine's storage driver can enforce, how much a container has written,
// and how much room the engine's disk has left.
//
// `--storage-opt size=` (HostConfig.StorageOpt) is the only way Docker caps a container's
// writable layer, and most machines cannot use it: overlay2 needs its backing filesystem to be
// xfs mounted with project quotas (pquota); on ext4, or xfs without pquota, the engine refuses
// the option. There we enforce a sandbox's limit ourselves (runtime/sandbox.ts): every command
// runs under `ulimit -f` (no single file grows past the limit, at once), and the writable layer's
// size (the engine's SizeRw, a walk of the upper directory) is measured while commands run and
// after each one; over the limit, the command is killed and the attempt ends with SandboxError.
// This is a watchdog, not a quota: between two measurements (2 s apart) a command spread over
// many files can overshoot by what it writes in that time. The host's free space is the backstop:
// below `sandbox.minHostFreeMb` no new container starts.
import { promises as fs } from 'node:fs';
import type Docker from 'dockerode';
import { getDocker, withDocker } from './docker';
import { log } from './log';

export interface StorageDriverInfo {
  driver: string;
  backingFs?: string;
  /** The engine's data folder (where writable layers live), as the engine reports it. */
  rootDir?: string;
  /** false: the driver cannot cap a container's size; undefined: only trying tells. */
  sizeLimits?: boolean;
}

let driverInfo: Promise<StorageDriverInfo> | undefined;

/** The engine's storage driver, asked once per process. */
export function storageDriver(): Promise<StorageDriverInfo> {
  driverInfo ??= withDocker(async (d) => {
    const info = (await d.info()) as {
      Driver?: string;
      DriverStatus?: [string, string][];
      DockerRootDir?: string;
    };
    const status = Object.fromEntries(info.DriverStatus ?? []);
    const driver = info.Driver ?? 'unknown';
    const backingFs = status['Backing Filesystem'];
    // overlay2 caps sizes only on xfs with pquota; whether pquota is on, only trying tells.
    const sizeLimits = driver === 'overlay2' && backingFs !== undefined && backingFs !== 'xfs' ? false : undefined;
    return { driver, backingFs, rootDir: info.DockerRootDir, sizeLimits };
  }).catch((e: unknown) => {
    driverInfo = undefined;
    throw e;
  });
  return driverInfo;
}

let noticed = false;
/** Says once per process how sandbox disk limits are enforced here. */
export function noteDiskLimits(d: StorageDriverInfo, reason?: string): void {
  if (noticed) return;
  noticed = true;
  log.warn(
    { driver: d.driver, backingFs: d.backingFs, ...(reason && { engine: reason }) },
    'the storage driver cannot cap container sizes (--storage-opt size needs overlay2 on xfs with pquota): ' +
      'sandbox disk limits are enforced by a per-file size limit and a watchdog on each container’s writable layer',
  );
}

/** Logs at start how disk limits will be enforced (only when the driver is known not to). */
export async function announceDiskLimits(): Promise<void> {
  const d = await storageDriver().catch(() => undefined);
  if (d?.sizeLimits === false) noteDiskLimits(d);
}

/** Bytes in the container's writable layer (what it wrote, changed or deleted over its image). */
export async function writableLayerBytes(containerId: string): Promise<number | undefined> {
  // `size` goes to the query string (the typings do not list it).
  const opts = { size: true } as Parameters<Docker.Container['inspect']>[0];
  const info = (await getDocker().getContainer(containerId).inspect(opts)) as { SizeRw?: number };
  return typeof info.SizeRw === 'number' ? info.SizeRw : undefined;
}

/** The host runs low on disk: no new container may start until space is freed. */
export class HostDiskLowError extends Error {
  override name = 'HostDiskLowError';
}

let unwatchable = false;
/**
 * Throws HostDiskLowError when the filesystem holding the engine's data has less than `minFreeMb`
 * available. An engine on another machine (DOCKER_HOST) has a data folder we cannot see: then
 * this says so once and lets the container start.
 */
export async function checkHostFreeSpace(minFreeMb: number): Promise<void> {
  if (minFreeMb <= 0) return;
  const { rootDir } = await storageDriver();
  let free: number;
  try {
    if (!rootDir) throw new Error('the engine reports no data folder');
    const st = await fs.statfs(rootDir);
    free = st.bavail * st.bsize;
  } catch (e) {
    if (!unwatchable)
      log.warn(
        { rootDir, err: (e as Error).message },
        "cannot see the Docker engine's disk from here: its free space is not watched",
      );
    unwatchable = true;
    return;
  }
  const freeMb = Math.floor(free / 2 ** 20);
  if (freeMb < minFreeMb)
    throw new HostDiskLowError(
      `the host is low on disk: ${rootDir} has ${freeMb} MB available, below sandbox.minHostFreeMb (${minFreeMb} MB); ` +
        'no new container starts until space is freed (`docker system df` shows what Docker holds)',
    );
}
