// A task's other compose services, started with the Docker API the way `docker compose up` starts
// Harbor's merged project: a network of the sandbox's own that every service joins under its
// service name (the task's container joins as `main`), named volumes per sandbox, services in
// dependency order, each dependency's condition (started, healthy, completed) awaited before its
// dependants start. The network is `internal` unless the task may reach the internet, so services
// reach each other and nothing else. Everything carries the sandbox's labels plus
// `agentscale.sandbox`, so removing the sandbox (or `gc`) removes it all.
import type Docker from 'dockerode';
import {
  startOrder,
  type ComposeEnvironment,
  type ComposeMount,
  type ComposeService,
  type DependencyCondition,
} from '../core/compose';
import { explainDockerError, getDocker, isNotFound, statusOf } from './docker';

/** Label naming the sandbox (task container) a service, network or volume belongs to. */
export const SANDBOX_LABEL = 'agentscale.sandbox';
export const SERVICE_LABEL = 'agentscale.service';

/** A compose environment ready to start: strings interpolated, each service's image decided. */
export interface ComposeSpec {
  services: (ComposeService & { image: string })[];
  main: { dependsOn: Record<string, DependencyCondition>; mounts: ComposeMount[] };
  volumes: string[];
}

export function composeSpec(env: ComposeEnvironment, services: (ComposeService & { image: string })[]): ComposeSpec {
  return { services, main: { dependsOn: env.main.dependsOn, mounts: env.main.mounts }, volumes: env.volumes };
}

export const serviceContainerName = (sandbox: string, service: string) => `${sandbox}-${service}`;
const volumeName = (sandbox: string, volume: string) => `${sandbox}-${volume}`;

/** Docker's mount list for a service's (or main's) mounts in this sandbox. */
export function mountsFor(sandbox: string, mounts: ComposeMount[]): Docker.MountSettings[] {
  return mounts.map((m) => ({
    Type: m.kind,
    Source: m.kind === 'volume' ? volumeName(sandbox, m.source) : m.source,
    Target: m.target,
    ReadOnly: m.readOnly,
  }));
}

/** How long a dependency may take to become healthy or to complete before the sandbox fails. */
const WAIT_LIMIT_MS = 10 * 60_000;
const POLL_MS = 500;

/**
 * Creates the sandbox's network and volumes and starts its services (in dependency order), then
 * waits for what `main` depends on. Returns the network the task container must join.
 * Idempotent: what exists under the sandbox's names is reused when running, replaced otherwise.
 */
export async function startServices(
  sandbox: string,
  spec: ComposeSpec,
  opts: { labels: Record<string, string>; allowInternet: boolean; pids: number },
): Promise<string> {
  const docker = getDocker();
  const labels = { ...opts.labels, [SANDBOX_LABEL]: sandbox };
  const network = await ensureNetwork(sandbox, labels, !opts.allowInternet);
  for (const v of spec.volumes) {
    try {
      await docker.createVolume({ Name: volumeName(sandbox, v), Labels: labels });
    } catch (err) {
      throw explainDockerError(err);
    }
  }
  const byName = new Map(spec.services.map((s) => [s.name, s]));
  const order = startOrder(spec.services, spec.main.dependsOn);
  const started = new Map<string, string>();
  for (const name of order) {
    const svc = byName.get(name)!;
    for (const [dep, cond] of Object.entries(svc.dependsOn)) await waitFor(started.get(dep)!, dep, cond);
    started.set(name, await startService(sandbox, svc, network, { ...labels, [SERVICE_LABEL]: name }, opts.pids));
  }
  for (const [dep, cond] of Object.entries(spec.main.dependsOn)) await waitFor(started.get(dep)!, dep, cond);
  return network;
}

async function ensureNetwork(sandbox: string, labels: Record<string, string>, internal: boolean): Promise<string> {
  const docker = getDocker();
  try {
    const info = (await docker.getNetwork(sandbox).inspect()) as { Internal?: boolean };
    if (info.Internal === internal) return sandbox;
    await docker.getNetwork(sandbox).remove();
  } catch (err) {
    if (!isNotFound(err)) throw explainDockerError(err);
  }
  try {
    await docker.createNetwork({ Name: sandbox, Driver: 'bridge', Internal: internal, Labels: labels });
  } catch (err) {
    // A concurrent retry made it first.
    if (statusOf(err) !== 409) throw explainDockerError(err);
  }
  return sandbox;
}

async function startService(
  sandbox: string,
  svc: ComposeService & { image: string },
  network: string,
  labels: Record<string, string>,
  pids: number,
): Promise<string> {
  const docker = getDocker();
  const name = serviceContainerName(sandbox, svc.name);
  try {
    const existing = await docker.getContainer(name).inspect();
    if (existing.State.Running && existing.Config.Image === svc.image) return existing.Id;
    await docker.getContainer(name).remove({ force: true, v: true });
  } catch (err) {
    if (!isNotFound(err)) throw explainDockerError(err);
  }
  const hc = svc.healthcheck;
  const ns = (sec: number) => Math.round(sec * 1e9);
  const options: Docker.ContainerCreateOptions = {
    name,
    Image: svc.image,
    Labels: labels,
    Env: Object.entries(svc.environment).map(([k, v]) => `${k}=${v ?? ''}`),
    ...(svc.command && { Cmd: svc.command }),
    ...(svc.entrypoint && { Entrypoint: svc.entrypoint }),
    ...(svc.workingDir && { WorkingDir: svc.workingDir }),
    ...(svc.user && { User: svc.user }),
    ...(hc && {
      Healthcheck: {
        Test: hc.test,
        Interval: ns(hc.intervalSec),
        Timeout: ns(hc.timeoutSec),
        Retries: hc.retries,
        StartPeriod: ns(hc.startPeriodSec),
        StartInterval: ns(hc.startIntervalSec),
      },
    }),
    HostConfig: {
      NetworkMode: network,
      Mounts: mountsFor(sandbox, svc.mounts),
      // Services get no limits in Harbor; a process limit keeps a runaway service from the host.
      PidsLimit: pids,
    },
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [svc.name] } } },
  };
  try {
    const c = await docker.createContainer(options);
    await c.start();
    return c.id;
  } catch (err) {
    throw new Error(`docker-compose service ${svc.name} did not start: ${(explainDockerError(err) as Error).message}`, {
      cause: err,
    });
  }
}

/** Waits until `service` meets `condition` (Compose's depends_on), or throws saying why not. */
async function waitFor(id: string, service: string, condition: DependencyCondition): Promise<void> {
  if (condition === 'service_started') return;
  const docker = getDocker();
  const deadline = Date.now() + WAIT_LIMIT_MS;
  for (;;) {
    const info = await docker.getContainer(id).inspect();
    const state = info.State;
    if (condition === 'service_completed_successfully') {
      if (!state.Running && state.Status === 'exited') {
        if (state.ExitCode === 0) return;
        throw new Error(`docker-compose service ${service} exited with ${state.ExitCode}${await logTail(id)}`);
      }
    } else {
      if (!state.Health) throw new Error(`docker-compose service ${service} has no healthcheck to wait for`);
      if (state.Health.Status === 'healthy') return;
      if (state.Health.Status === 'unhealthy')
        throw new Error(
          `docker-compose service ${service} is unhealthy: ${state.Health.Log?.at(-1)?.Output?.trim().slice(-300) ?? ''}`,
        );
      if (!state.Running)
        throw new Error(
          `docker-compose service ${service} exited (${state.ExitCode}) before it was healthy${await logTail(id)}`,
        );
    }
    if (Date.now() > deadline)
      throw new Error(
        `docker-compose service ${service}: not ${condition.replace('service_', '')} after ${WAIT_LIMIT_MS / 60_000} min`,
      );
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function logTail(id: string): Promise<string> {
  try {
    const buf = (await getDocker()
      .getContainer(id)
      .logs({ stdout: true, stderr: true, tail: 20 })) as unknown as Buffer;
    const text = demux(buf);
    return text.trim() ? `; its last output:\n${text.trim().slice(-1500)}` : '';
  } catch {
    return '';
  }
}

/** The text of a multiplexed (non-TTY) log stream: 8-byte frame headers dropped. */
function demux(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Removes a sandbox's services, volumes and network (all missing is fine). */
export async function removeServices(sandbox: string): Promise<void> {
  const docker = getDocker();
  const filters = { label: [`${SANDBOX_LABEL}=${sandbox}`] };
  try {
    const containers = await docker.listContainers({ all: true, filters });
    await Promise.all(
      containers.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch((err: unknown) => {
            if (!isNotFound(err) && statusOf(err) !== 409) throw err;
          }),
      ),
    );
    const networks = await docker.listNetworks({ filters });
    for (const n of networks)
      await docker
        .getNetwork(n.Id)
        .remove()
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
    const { Volumes } = await docker.listVolumes({ filters });
    for (const v of Volumes ?? [])
      await docker
        .getVolume(v.Name)
        .remove()
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
  } catch (err) {
    throw explainDockerError(err);
  }
}

/** Networks and volumes of ours carrying all the given labels whose sandbox is gone (after crashes). */
export async function removeOrphanedResources(labels: Record<string, string>): Promise<void> {
  const docker = getDocker();
  const filters = { label: [SANDBOX_LABEL, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)] };
  try {
    const networks = await docker.listNetworks({ filters });
    const volumes = (await docker.listVolumes({ filters })).Volumes ?? [];
    const sandboxes = new Set([
      ...networks.map((n) => n.Labels?.[SANDBOX_LABEL]),
      ...volumes.map((v) => v.Labels?.[SANDBOX_LABEL]),
    ]);
    for (const s of sandboxes) {
      if (!s) continue;
      const alive = await docker
        .getContainer(s)
        .inspect()
        .then(
          () => true,
          (err: unknown) => (isNotFound(err) ? false : Promise.reject(err)),
        );
      if (!alive) await removeServices(s);
    }
  } catch (err) {
    throw explainDockerError(err);
  }
}
