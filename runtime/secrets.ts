// Model keys live in the worker's environment and nowhere else: every child process we start (the
// Temporal dev server, git, anything later) gets an environment without them. A child that
// outlives the command (the background dev server runs for days) would otherwise carry the key
// in /proc/<pid>/environ, readable by the user and by anything that dumps process state.
import type { ModelConfig } from '../core/config';

/** Variables that hold model credentials, whatever the config says. */
export const MODEL_KEY_VARS = ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'OPENAI_API_KEY'] as const;

/** The names of every model key variable: the well-known ones and the config's `model.apiKeyEnv`. */
export function modelKeyVars(model?: Pick<ModelConfig, 'apiKeyEnv'>): string[] {
  return [...MODEL_KEY_VARS, ...(model?.apiKeyEnv ? [model.apiKeyEnv] : [])];
}

/** This process's environment without model keys: the environment for child processes. */
export function childEnv(model?: Pick<ModelConfig, 'apiKeyEnv'>, base: NodeJS.ProcessEnv = process.env) {
  const env = { ...base };
  for (const k of modelKeyVars(model)) delete env[k];
  return env;
}

/**
 * Runs `fn` with the model keys removed from process.env, restored afterwards: for children that
 * a library starts with the inherited environment and no way to pass another (the Temporal SDK's
 * downloaded dev server). Only for start-up steps, before any model call reads the keys.
 */
export async function withoutModelKeys<T>(model: Pick<ModelConfig, 'apiKeyEnv'>, fn: () => Promise<T>): Promise<T> {
  const saved = new Map<string, string>();
  for (const k of modelKeyVars(model)) {
    const v = process.env[k];
    if (v !== undefined) {
      saved.set(k, v);
      delete process.env[k];
    }
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) process.env[k] = v;
  }
}
