// Multi-service task environments (Harbor's environment/docker-compose.yaml): the subset of the
// Compose file format that task folders use, normalised into plain data the task carries, and the
// pure rules Docker Compose applies to it (variable interpolation, start order, healthchecks).
// The runtime (runtime/services.ts) starts the services with the Docker API; there is no
// `docker compose` binary involved.
import { z } from 'zod';

/** Compose's `depends_on` conditions. */
export const DEPENDENCY_CONDITIONS = ['service_started', 'service_healthy', 'service_completed_successfully'] as const;
export type DependencyCondition = (typeof DEPENDENCY_CONDITIONS)[number];

/** A healthcheck in Docker's terms: `test` as the engine takes it (["CMD", ...] or ["CMD-SHELL", cmd]). */
export const ComposeHealthcheckSchema = z.object({
  test: z.array(z.string()).min(1),
  intervalSec: z.number().nonnegative(),
  timeoutSec: z.number().nonnegative(),
  retries: z.number().int().nonnegative(),
  startPeriodSec: z.number().nonnegative(),
  startIntervalSec: z.number().nonnegative(),
});
export type ComposeHealthcheck = z.infer<typeof ComposeHealthcheckSchema>;

/** A mount: a named volume of the environment (`source` is its name) or a host folder (absolute). */
export const ComposeMountSchema = z.object({
  kind: z.enum(['volume', 'bind']),
  source: z.string(),
  target: z.string(),
  readOnly: z.boolean(),
});
export type ComposeMount = z.infer<typeof ComposeMountSchema>;

/**
 * One service besides the task's own container. Strings may still hold `${VAR}` references:
 * Compose fills them from the environment of the machine that starts the services, so they are
 * filled by the worker (interpolateService), not when the task is loaded.
 */
export const ComposeServiceSchema = z.object({
  name: z.string(),
  build: z.object({ contextDir: z.string(), dockerfile: z.string() }).optional(),
  image: z.string().optional(),
  /** Values of null take the variable from the starting environment (Compose's `- NAME` form). */
  environment: z.record(z.string(), z.string().nullable()).default({}),
  command: z.array(z.string()).optional(),
  entrypoint: z.array(z.string()).optional(),
  workingDir: z.string().optional(),
  user: z.string().optional(),
  dependsOn: z.record(z.string(), z.enum(DEPENDENCY_CONDITIONS)).default({}),
  healthcheck: ComposeHealthcheckSchema.optional(),
  mounts: z.array(ComposeMountSchema).default([]),
});
export type ComposeService = z.infer<typeof ComposeServiceSchema>;

/** What a compose file adds to a task: its other services and what it says about `main`. */
export const ComposeEnvironmentSchema = z.object({
  services: z.array(ComposeServiceSchema),
  main: z.object({
    dependsOn: z.record(z.string(), z.enum(DEPENDENCY_CONDITIONS)).default({}),
    environment: z.record(z.string(), z.string().nullable()).default({}),
    mounts: z.array(ComposeMountSchema).default([]),
  }),
  /** Named volumes declared at the top level; each sandbox gets its own copy. */
  volumes: z.array(z.string()).default([]),
});
export type ComposeEnvironment = z.infer<typeof ComposeEnvironmentSchema>;

/** Harbor's name for the task's own container in its compose files. */
export const MAIN_SERVICE = 'main';

/**
 * Docker Compose variable interpolation (compose-spec "Interpolation"): `$$` is a literal `$`;
 * `$VAR` and `${VAR}` take the value; `${VAR:-d}` / `${VAR-d}` a default when unset or empty /
 * unset; `${VAR:?e}` / `${VAR?e}` an error; `${VAR:+r}` / `${VAR+r}` a replacement when set and
 * non-empty / set. Unset without a default is the empty string (Compose warns). Defaults may
 * hold further references.
 */
export function interpolate(
  s: string,
  vars: Record<string, string | undefined>,
  warn?: (name: string) => void,
): { value: string } | { error: string } {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = s[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      // Find the matching brace (defaults may nest ${...}).
      let depth = 1;
      let j = i + 2;
      while (j < s.length && depth > 0) {
        if (s[j] === '{') depth++;
        else if (s[j] === '}') depth--;
        if (depth > 0) j++;
      }
      if (depth > 0) return { error: `invalid interpolation format for ${JSON.stringify(s)}: no closing brace` };
      const body = s.slice(i + 2, j);
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(body);
      if (!m) return { error: `invalid interpolation format for ${JSON.stringify(s)}: \${${body}}` };
      const [, name, op, arg] = m as unknown as [string, string, string | undefined, string | undefined];
      const value = vars[name];
      const sub = (t: string) => interpolate(t, vars, warn);
      if (op === undefined) {
        if (value === undefined) warn?.(name);
        out += value ?? '';
      } else {
        const colon = op.startsWith(':');
        const present = colon ? value !== undefined && value !== '' : value !== undefined;
        const kind = op.slice(-1);
        if (kind === '-') {
          if (present) out += value;
          else {
            const r = sub(arg ?? '');
            if ('error' in r) return r;
            out += r.value;
          }
        } else if (kind === '?') {
          if (!present) {
            const r = sub(arg ?? '');
            return {
              error: `required variable ${name} is missing a value${'value' in r && r.value ? `: ${r.value}` : ''}`,
            };
          }
          out += value;
        } else if (present) {
          const r = sub(arg ?? '');
          if ('error' in r) return r;
          out += r.value;
        }
      }
      i = j + 1;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i + 1));
    if (!m) {
      out += '$';
      i++;
      continue;
    }
    const value = vars[m[0]];
    if (value === undefined) warn?.(m[0]);
    out += value ?? '';
    i += 1 + m[0].length;
  }
  return { value: out };
}

/** Every string of a service interpolated; the first error is thrown with the service named. */
export function interpolateService(
  svc: ComposeService,
  vars: Record<string, string | undefined>,
  warn?: (name: string) => void,
): ComposeService {
  const one = (s: string): string => {
    const r = interpolate(s, vars, warn);
    if ('error' in r) throw new Error(`docker-compose service ${svc.name}: ${r.error}`);
    return r.value;
  };
  const opt = (s: string | undefined) => (s === undefined ? undefined : one(s));
  return {
    ...svc,
    ...(svc.image !== undefined && { image: one(svc.image) }),
    environment: interpolateEnvironment(svc.environment, vars, one),
    ...(svc.command && { command: svc.command.map(one) }),
    ...(svc.entrypoint && { entrypoint: svc.entrypoint.map(one) }),
    ...(svc.workingDir !== undefined && { workingDir: opt(svc.workingDir) }),
    ...(svc.user !== undefined && { user: opt(svc.user) }),
    ...(svc.healthcheck && { healthcheck: { ...svc.healthcheck, test: svc.healthcheck.test.map(one) } }),
    mounts: svc.mounts.map((m) => ({ ...m, source: one(m.source), target: one(m.target) })),
  };
}

/** A service's environment: values interpolated, `- NAME` entries from the starting environment. */
export function interpolateEnvironment(
  env: Record<string, string | null>,
  vars: Record<string, string | undefined>,
  one: (s: string) => string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === null) {
      const fromHost = vars[k];
      if (fromHost !== undefined) out[k] = fromHost;
    } else out[k] = one(v);
  }
  return out;
}

/**
 * The order services start in: every service after those it depends on (Compose's dependency
 * graph), ties in file order. Throws on a cycle or an unknown dependency.
 */
export function startOrder(services: ComposeService[], mainDependsOn: Record<string, DependencyCondition>): string[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  for (const dep of Object.keys(mainDependsOn))
    if (!byName.has(dep)) throw new Error(`docker-compose: service main depends on unknown service ${dep}`);
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]) => {
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`docker-compose: dependency cycle ${[...path, name].join(' -> ')}`);
    state.set(name, 'visiting');
    const svc = byName.get(name)!;
    for (const dep of Object.keys(svc.dependsOn)) {
      if (dep === MAIN_SERVICE)
        throw new Error(`docker-compose: service ${name} depends on main, which starts after the other services here`);
      if (!byName.has(dep)) throw new Error(`docker-compose: service ${name} depends on unknown service ${dep}`);
      visit(dep, [...path, name]);
    }
    state.set(name, 'done');
    order.push(name);
  };
  for (const s of services) visit(s.name, []);
  return order;
}

/** Compose durations: "1m30s", "2s", "500ms", "1h"; a bare number is seconds. */
export function parseDurationSec(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const n = Number(m[1]);
    const unit = m[2]!;
    total +=
      unit === 'h'
        ? n * 3600
        : unit === 'm'
          ? n * 60
          : unit === 's'
            ? n
            : unit === 'ms'
              ? n / 1e3
              : unit === 'ns'
                ? n / 1e9
                : n / 1e6;
    matched = re.lastIndex;
  }
  return matched === s.length && s.length > 0 ? total : undefined;
}

/**
 * Splits a command string as Compose does (shell-like words: quotes and backslashes, no
 * expansion). Compose's `command: python server.py` becomes ["python", "server.py"].
 */
export function splitCommand(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < s.length && '"\\$`\n'.includes(s[i + 1]!)) cur += s[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated quote in ${JSON.stringify(s)}`);
  if (inWord) words.push(cur);
  return words;
}
