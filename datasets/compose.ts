// Reads a Harbor task's environment/docker-compose.yaml with several services. Harbor merges that
// file over its own base (harbor/environments/docker/docker-compose-build.yaml: a service `main`
// built from environment/ that sleeps), so `main` is the task's container and every other service
// starts beside it. Keys we do not run are refused by name, never dropped silently; keys that do
// not change what the task sees here (published ports, restart policies) load with a note.
import path from 'node:path';
import {
  DEPENDENCY_CONDITIONS,
  MAIN_SERVICE,
  parseDurationSec,
  splitCommand,
  type ComposeEnvironment,
  type ComposeHealthcheck,
  type ComposeMount,
  type ComposeService,
  type DependencyCondition,
} from '../core/compose';
import type { DatasetIssue } from '../core/task';
import { isRecord } from './util';

/** Service keys with no effect here worth refusing a task for; each use is noted. */
const NOTED_KEYS: Record<string, string> = {
  expose: 'services reach each other on the shared network anyway',
  ports: 'ports are not published on the host',
  restart: 'services are not restarted',
  container_name: 'containers are named per attempt',
  pull_policy: 'images are built or mapped, never pulled by policy',
  networks: 'all services share one network with the task container',
  hostname: 'services are reached by their service name',
  labels: 'containers carry agentscale labels',
  init: 'not applied',
  tty: 'not applied',
  stdin_open: 'not applied',
  stop_grace_period: 'services are removed with the sandbox',
  stop_signal: 'services are removed with the sandbox',
  logging: 'not applied',
  platform: 'the engine default platform is used',
  deploy: 'resource reservations of services are not applied',
};

const SERVICE_KEYS = new Set([
  'build',
  'image',
  'environment',
  'command',
  'entrypoint',
  'working_dir',
  'user',
  'depends_on',
  'healthcheck',
  'volumes',
]);
const MAIN_KEYS = new Set(['depends_on', 'environment', 'volumes', 'build']);

/** Docker's HEALTHCHECK defaults (interval and timeout 30 s, 3 retries, start interval 5 s). */
const HEALTH_DEFAULTS = { intervalSec: 30, timeoutSec: 30, retries: 3, startPeriodSec: 0, startIntervalSec: 5 };

export interface ComposeRead {
  compose: ComposeEnvironment;
  /** `main`'s build section, when the file overrides Harbor's (context relative to the file). */
  mainBuild?: { contextDir: string; dockerfile: string };
}

/** Turns a parsed compose document into the task's ComposeEnvironment; problems go to `issues`. */
export function readComposeServices(
  doc: Record<string, unknown>,
  file: string,
  issues: DatasetIssue[],
  notes: string[],
): ComposeRead | undefined {
  const before = issues.length;
  const baseDir = path.dirname(file);
  const unsupported = (field: string, message: string) =>
    issues.push({ file, field, message: `unsupported: ${message}`, kind: 'unsupported' });
  const malformed = (field: string, message: string) => issues.push({ file, field, message });

  for (const key of Object.keys(doc)) {
    if (key === 'services' || key === 'volumes' || key === 'version' || key === 'name' || key.startsWith('x-'))
      continue;
    if (key === 'networks') notes.push(`${path.basename(file)}: networks: all services share one network here`);
    else unsupported(key, `top-level "${key}" in docker-compose`);
  }
  const services = doc.services as Record<string, unknown>;
  const declaredVolumes = isRecord(doc.volumes) ? Object.keys(doc.volumes) : [];
  if (doc.volumes !== undefined && !isRecord(doc.volumes)) malformed('volumes', 'expected a map of volume names');
  for (const [name, v] of Object.entries(isRecord(doc.volumes) ? doc.volumes : {}))
    if (isRecord(v) && (v.external !== undefined || v.driver !== undefined || v.driver_opts !== undefined))
      unsupported(`volumes.${name}`, 'external or driver-specific volumes');

  const anonymous: string[] = [];
  const mountsOf = (svcName: string, raw: unknown): ComposeMount[] => {
    const field = `services.${svcName}.volumes`;
    if (raw === undefined) return [];
    if (!Array.isArray(raw)) {
      malformed(field, 'expected a list');
      return [];
    }
    const out: ComposeMount[] = [];
    for (const entry of raw) {
      let source: string | undefined;
      let target: string | undefined;
      let readOnly = false;
      let type: string | undefined;
      if (typeof entry === 'string') {
        const parts = entry.split(':');
        if (parts.length === 1) [target] = parts;
        else {
          [source, target] = parts;
          readOnly = parts[2]?.split(',').includes('ro') ?? false;
        }
      } else if (isRecord(entry)) {
        type = typeof entry.type === 'string' ? entry.type : undefined;
        source = typeof entry.source === 'string' ? entry.source : undefined;
        target = typeof entry.target === 'string' ? entry.target : undefined;
        readOnly = entry.read_only === true;
        if (type !== undefined && type !== 'volume' && type !== 'bind') {
          unsupported(field, `a ${type} mount`);
          continue;
        }
      }
      if (!target || !target.startsWith('/')) {
        malformed(field, `cannot read mount ${JSON.stringify(entry)}`);
        continue;
      }
      if (source === undefined) {
        // An anonymous volume: a volume of its own per sandbox.
        const anon = `anon-${svcName}-${anonymous.length}`;
        anonymous.push(anon);
        out.push({ kind: 'volume', source: anon, target, readOnly });
      } else if (type === 'bind' || source.startsWith('.') || source.startsWith('/') || source.startsWith('~')) {
        const abs = path.resolve(baseDir, source);
        const rel = path.relative(path.dirname(baseDir), abs);
        if (source.startsWith('~') || rel.startsWith('..') || path.isAbsolute(rel)) {
          unsupported(field, `bind mount of ${source} (outside the task folder)`);
          continue;
        }
        out.push({ kind: 'bind', source: abs, target, readOnly });
      } else {
        if (!declaredVolumes.includes(source)) malformed(field, `volume ${source} is not declared under volumes:`);
        out.push({ kind: 'volume', source, target, readOnly });
      }
    }
    return out;
  };

  const envOf = (field: string, raw: unknown): Record<string, string | null> => {
    const out: Record<string, string | null> = {};
    if (raw === undefined) return out;
    if (Array.isArray(raw)) {
      for (const e of raw) {
        if (typeof e !== 'string') {
          malformed(field, `expected NAME=value, got ${JSON.stringify(e)}`);
          continue;
        }
        const eq = e.indexOf('=');
        if (eq < 0) out[e] = null;
        else out[e.slice(0, eq)] = e.slice(eq + 1);
      }
    } else if (isRecord(raw)) {
      for (const [k, v] of Object.entries(raw)) {
        if (v === null || v === undefined) out[k] = null;
        else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
        else malformed(`${field}.${k}`, 'expected a string, number or boolean');
      }
    } else malformed(field, 'expected a map or a list');
    return out;
  };

  const dependsOf = (svcName: string, raw: unknown): Record<string, DependencyCondition> => {
    const field = `services.${svcName}.depends_on`;
    const out: Record<string, DependencyCondition> = {};
    if (raw === undefined) return out;
    if (Array.isArray(raw)) {
      for (const d of raw) if (typeof d === 'string') out[d] = 'service_started';
    } else if (isRecord(raw)) {
      for (const [dep, spec] of Object.entries(raw)) {
        const cond = isRecord(spec) && spec.condition !== undefined ? spec.condition : 'service_started';
        if (typeof cond !== 'string' || !(DEPENDENCY_CONDITIONS as readonly string[]).includes(cond))
          malformed(`${field}.${dep}.condition`, `unknown condition ${JSON.stringify(cond)}`);
        else out[dep] = cond as DependencyCondition;
      }
    } else malformed(field, 'expected a list or a map');
    for (const dep of Object.keys(out))
      if (dep !== MAIN_SERVICE && !(dep in services)) malformed(field, `unknown service ${dep}`);
    return out;
  };

  const buildOf = (svcName: string, raw: unknown): { contextDir: string; dockerfile: string } | undefined => {
    const field = `services.${svcName}.build`;
    if (typeof raw === 'string') return { contextDir: path.resolve(baseDir, raw), dockerfile: 'Dockerfile' };
    if (!isRecord(raw)) {
      malformed(field, 'expected a path or a map');
      return undefined;
    }
    for (const k of Object.keys(raw))
      if (k !== 'context' && k !== 'dockerfile') unsupported(`${field}.${k}`, `build option "${k}"`);
    return {
      contextDir: path.resolve(baseDir, typeof raw.context === 'string' ? raw.context : '.'),
      dockerfile: typeof raw.dockerfile === 'string' ? raw.dockerfile : 'Dockerfile',
    };
  };

  const commandOf = (field: string, raw: unknown): string[] | undefined => {
    if (raw === undefined || raw === null) return undefined;
    if (typeof raw === 'string') {
      try {
        return splitCommand(raw);
      } catch (e) {
        malformed(field, (e as Error).message);
        return undefined;
      }
    }
    if (Array.isArray(raw) && raw.every((x) => typeof x === 'string' || typeof x === 'number')) return raw.map(String);
    malformed(field, 'expected a string or a list of strings');
    return undefined;
  };

  const healthOf = (svcName: string, raw: unknown): ComposeHealthcheck | undefined => {
    const field = `services.${svcName}.healthcheck`;
    if (raw === undefined) return undefined;
    if (!isRecord(raw)) {
      malformed(field, 'expected a map');
      return undefined;
    }
    if (raw.disable === true) return undefined;
    let test: string[] | undefined;
    if (typeof raw.test === 'string') test = ['CMD-SHELL', raw.test];
    else if (Array.isArray(raw.test) && raw.test.every((x) => typeof x === 'string')) test = raw.test as string[];
    if (!test || test.length === 0) {
      malformed(`${field}.test`, 'expected a command string or a ["CMD", ...] / ["CMD-SHELL", ...] list');
      return undefined;
    }
    if (test[0] === 'NONE') return undefined;
    if (test[0] !== 'CMD' && test[0] !== 'CMD-SHELL') {
      malformed(`${field}.test`, `a test list starts with CMD, CMD-SHELL or NONE, not ${test[0]}`);
      return undefined;
    }
    const dur = (k: string, d: number) => {
      if (raw[k] === undefined) return d;
      const v = parseDurationSec(raw[k]);
      if (v === undefined) malformed(`${field}.${k}`, `not a duration: ${JSON.stringify(raw[k])}`);
      return v ?? d;
    };
    const retries = raw.retries === undefined ? HEALTH_DEFAULTS.retries : Number(raw.retries);
    if (!Number.isInteger(retries) || retries < 0) malformed(`${field}.retries`, 'expected a whole number');
    return {
      test,
      intervalSec: dur('interval', HEALTH_DEFAULTS.intervalSec),
      timeoutSec: dur('timeout', HEALTH_DEFAULTS.timeoutSec),
      retries: Number.isInteger(retries) ? retries : HEALTH_DEFAULTS.retries,
      startPeriodSec: dur('start_period', HEALTH_DEFAULTS.startPeriodSec),
      startIntervalSec: dur('start_interval', HEALTH_DEFAULTS.startIntervalSec),
    };
  };

  const out: ComposeService[] = [];
  let main: ComposeEnvironment['main'] = { dependsOn: {}, environment: {}, mounts: [] };
  let mainBuild: ComposeRead['mainBuild'];
  for (const [name, raw] of Object.entries(services)) {
    const svc = raw ?? {};
    if (!isRecord(svc)) {
      malformed(`services.${name}`, 'expected a map');
      continue;
    }
    const known = name === MAIN_SERVICE ? MAIN_KEYS : SERVICE_KEYS;
    for (const key of Object.keys(svc)) {
      if (known.has(key) || key.startsWith('x-')) continue;
      if (key in NOTED_KEYS) notes.push(`docker-compose services.${name}.${key} not applied: ${NOTED_KEYS[key]}`);
      else unsupported(`services.${name}.${key}`, `docker-compose service key "${key}"`);
    }
    if (name === MAIN_SERVICE) {
      main = {
        dependsOn: dependsOf(name, svc.depends_on),
        environment: envOf(`services.${name}.environment`, svc.environment),
        mounts: mountsOf(name, svc.volumes),
      };
      if (svc.build !== undefined) mainBuild = buildOf(name, svc.build);
      continue;
    }
    const build = svc.build === undefined ? undefined : buildOf(name, svc.build);
    if (build === undefined && typeof svc.image !== 'string') {
      malformed(`services.${name}`, 'a service needs a build or an image');
      continue;
    }
    const command = commandOf(`services.${name}.command`, svc.command);
    const entrypoint = commandOf(`services.${name}.entrypoint`, svc.entrypoint);
    const healthcheck = healthOf(name, svc.healthcheck);
    out.push({
      name,
      ...(build && { build }),
      // A service that builds names its image; we tag our own build instead.
      ...(build === undefined && { image: svc.image as string }),
      environment: envOf(`services.${name}.environment`, svc.environment),
      ...(command && { command }),
      ...(entrypoint && { entrypoint }),
      ...(typeof svc.working_dir === 'string' && { workingDir: svc.working_dir }),
      ...((typeof svc.user === 'string' || typeof svc.user === 'number') && { user: String(svc.user) }),
      dependsOn: dependsOf(name, svc.depends_on),
      ...(healthcheck && { healthcheck }),
      mounts: mountsOf(name, svc.volumes),
    });
  }
  for (const s of out)
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(s.name)) malformed(`services.${s.name}`, 'not a valid service name');
  for (const s of out)
    for (const [dep, cond] of Object.entries(s.dependsOn))
      if (cond === 'service_healthy' && !out.find((o) => o.name === dep)?.healthcheck)
        notes.push(
          `docker-compose: ${s.name} waits for ${dep} to be healthy, but ${dep} has no healthcheck here (its image's HEALTHCHECK is used if it has one)`,
        );
  if (issues.length > before) return undefined;
  return { compose: { services: out, main, volumes: [...declaredVolumes, ...anonymous] }, mainBuild };
}
