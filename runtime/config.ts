// Loads the YAML config file into the schema of core/config.ts. Relative paths in the file are
// resolved against the file's folder, so a config works from any current directory.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigSchema, type Config } from '../core/config';
import { describeUnknownKey, issueText, unknownKeys } from '../core/input';

export const DEFAULT_CONFIG_FILE = 'agentscale.yaml';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Root of the project checkout (where package.json lives). */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');

/**
 * Reads the config: the given file, else AGENTSCALE_CONFIG, else ./agentscale.yaml, else the
 * project's own agentscale.yaml, else defaults. Environment variables override the file for
 * what differs per machine (data folder, Temporal address and namespace).
 */
export function loadConfig(file?: string): Config & { configFile?: string } {
  const candidates = file
    ? [file]
    : [process.env.AGENTSCALE_CONFIG, path.resolve(DEFAULT_CONFIG_FILE), path.join(PROJECT_ROOT, DEFAULT_CONFIG_FILE)];
  const found = candidates.find((c): c is string => !!c && existsSync(c));
  if (file && !found) throw new ConfigError(`config file not found: ${file}`);

  let raw: unknown = {};
  if (found) {
    try {
      raw = parseYaml(readFileSync(found, 'utf8')) ?? {};
    } catch (e) {
      throw new ConfigError(`${found}: not valid YAML: ${(e as Error).message}`);
    }
  }
  const parsed = ConfigSchema.safeParse(raw);
  const unknown = unknownKeys(ConfigSchema, raw);
  if (!parsed.success || unknown.length > 0) {
    const lines = [
      ...unknown.map((u) => `  ${found} [${u.path}]: ${describeUnknownKey(u)}`),
      ...(parsed.error?.issues ?? []).map((i) => `  ${found} [${i.path.join('.')}]: ${issueText(i)}`),
    ];
    throw new ConfigError(`invalid config:\n${lines.join('\n')}`);
  }
  const config = parsed.data;
  const base = found ? path.dirname(path.resolve(found)) : PROJECT_ROOT;
  const abs = (p: string) => (path.isAbsolute(p) ? p : path.resolve(base, p));

  config.dataDir = abs(process.env.AGENTSCALE_DATA ?? config.dataDir);
  if (process.env.TEMPORAL_ADDRESS) config.temporal.address = process.env.TEMPORAL_ADDRESS;
  if (process.env.TEMPORAL_NAMESPACE) config.temporal.namespace = process.env.TEMPORAL_NAMESPACE;
  if (process.env.TEMPORAL_TASK_QUEUE) config.temporal.taskQueue = process.env.TEMPORAL_TASK_QUEUE;
  if (process.env.TEMPORAL_CLI_PATH) config.temporal.cliPath = process.env.TEMPORAL_CLI_PATH;
  if (config.temporal.cliPath) config.temporal.cliPath = abs(config.temporal.cliPath);
  for (const recipe of Object.values(config.swebench.recipes)) recipe.source = abs(recipe.source);
  return { ...config, configFile: found };
}

export const dataPaths = (config: Config) => ({
  runs: path.join(config.dataDir, 'runs'),
  schedules: path.join(config.dataDir, 'schedules'),
  tools: path.join(config.dataDir, 'tools'),
  logs: path.join(config.dataDir, 'logs'),
  temporalDb: path.join(config.dataDir, 'temporal.db'),
  serverPid: path.join(config.dataDir, 'temporal.pid'),
});
