// How Harbor (PyPI `harbor`, 0.26) runs a task's phases, as pure rules: the paths, the commands,
// the reward files and their parsing, the environment variables, the timeouts and the network.
// runtime/evaluate.ts does the I/O. Sources are named per rule (harbor/<module>.py in the wheel).
import type { Task } from './task';

/** harbor/models/trial/paths.py EnvironmentPaths. */
export const HARBOR_PATHS = {
  logs: '/logs',
  agentDir: '/logs/agent',
  verifierDir: '/logs/verifier',
  artifactsDir: '/logs/artifacts',
  tests: '/tests',
  solution: '/solution',
  rewardTxt: '/logs/verifier/reward.txt',
  rewardJson: '/logs/verifier/reward.json',
  /** The oracle agent's output (harbor/agents/oracle.py _ORACLE_LOG_FILE). */
  oracleLog: '/logs/agent/oracle.txt',
  /** The verifier's output (TrialPaths.test_stdout_path). */
  testStdout: '/logs/verifier/test-stdout.txt',
} as const;

const shQuote = (s: string) => (/^[A-Za-z0-9_./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * harbor/utils/scripts.py build_execution_command: the script is executed directly (so its
 * shebang applies; bash runs a script without one), in a subshell, all output to a file.
 * Harbor wraps it in `bash -c` (docker_unix.py exec_shell_args), as root runs `chmod +x` first.
 */
export function scriptCommand(scriptPath: string, stdoutPath: string): string {
  return `(${shQuote(scriptPath)}) > ${shQuote(stdoutPath)} 2>&1`;
}

/** The oracle's exec (harbor/agents/oracle.py): solve.sh with DEBIAN_FRONTEND, logs to /logs/agent/oracle.txt. */
export const ORACLE_ENV = { DEBIAN_FRONTEND: 'noninteractive' } as const;

export type Rewards = Record<string, number>;
export type RewardResult = { rewards: Rewards; reward?: number } | { error: string };

/**
 * Python's float() on a reward.txt: surrounding whitespace, a sign, digits with single
 * underscores between them, a fraction, an exponent; inf and nan parse but Harbor rejects them
 * as non-finite (harbor/verifier/verifier.py _parse_reward_text).
 */
export function pythonFloat(text: string): number | undefined {
  const s = text.trim();
  const digits = String.raw`\d(?:_?\d)*`;
  const re = new RegExp(String.raw`^[+-]?(?:${digits}(?:\.(?:${digits})?)?|\.${digits})(?:[eE][+-]?${digits})?$`);
  if (re.test(s)) return Number(s.replace(/_/g, ''));
  if (/^[+-]?(?:inf|infinity|nan)$/i.test(s)) return Number.NaN;
  return undefined;
}

/**
 * harbor/verifier/verifier.py verify(): reward.json wins over reward.txt; an empty file, a value
 * that is not a finite number, or no reward file at all is an error (the trial fails with
 * RewardFileEmptyError, VerifierOutputParseError or RewardFileNotFoundError), never a reward of 0.
 * reward.json must be an object of numbers (VerifierResult.rewards is a dict; a bare number
 * fails its validation). Booleans count as numbers there (Python's bool is an int).
 */
export function parseHarborRewards(txt: string | undefined, json: string | undefined): RewardResult {
  if (json !== undefined) {
    if (json.length === 0) return { error: 'reward.json is empty' };
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      return { error: 'reward.json is not valid JSON' };
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
      return { error: 'reward.json is not an object of named rewards' };
    const rewards: Rewards = {};
    for (const [k, v] of Object.entries(parsed)) {
      const n = typeof v === 'boolean' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isFinite(n))
        return { error: `reward.json: ${k} is not a finite number (${JSON.stringify(v)})` };
      rewards[k] = n;
    }
    return { rewards, ...(rewards.reward !== undefined && { reward: rewards.reward }) };
  }
  if (txt !== undefined) {
    if (txt.length === 0) return { error: 'reward.txt is empty' };
    const n = pythonFloat(txt);
    if (n === undefined) return { error: `reward.txt does not hold a number: ${JSON.stringify(txt.slice(0, 40))}` };
    if (!Number.isFinite(n)) return { error: `reward.txt holds a non-finite reward: ${txt.trim()}` };
    return { rewards: { reward: n }, reward: n };
  }
  return { error: 'no reward file: the verifier wrote neither /logs/verifier/reward.txt nor reward.json' };
}

/**
 * Harbor gives rewards, not a verdict. Ours: the `reward` key decides when there is one, else
 * every named reward must be at least 1 (a task passes at full marks).
 */
export function rewardsPass(rewards: Rewards): boolean {
  if (rewards.reward !== undefined) return rewards.reward >= 1;
  const values = Object.values(rewards);
  return values.length > 0 && values.every((v) => v >= 1);
}

/** The one number shown for a reward dict: `reward`, else the mean of the named ones. */
export function headlineReward(rewards: Rewards): number | undefined {
  if (rewards.reward !== undefined) return rewards.reward;
  const values = Object.values(rewards);
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
}

const TEMPLATE = /^\$\{([^}:]+)(?::-(.*))?\}$/;

/**
 * harbor/utils/env.py resolve_env_vars: a value that is exactly `${VAR}` or `${VAR:-default}`
 * takes the host's VAR (or the default); anything else is literal. A variable that is unset
 * with no default fails the trial. `withheld` names host variables never passed on (the
 * project's model keys): they resolve as if unset.
 */
export function resolveEnvTemplates(
  env: Record<string, string>,
  host: Record<string, string | undefined>,
  withheld: ReadonlySet<string> = new Set(),
): { env: Record<string, string> } | { error: string } {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const m = TEMPLATE.exec(value);
    if (!m) {
      out[key] = value;
      continue;
    }
    const [, name, fallback] = m as unknown as [string, string, string | undefined];
    const hostValue = withheld.has(name) ? undefined : host[name];
    if (hostValue !== undefined) out[key] = hostValue;
    else if (fallback !== undefined) out[key] = fallback;
    else
      return {
        error: `${key}: environment variable ${name} is not set on the worker${withheld.has(name) ? ' (withheld: it holds the model key)' : ''}`,
      };
  }
  return { env: out };
}

/** Harbor's job timeout options (harbor/models/job/config.py); a per-phase multiplier overrides the general one. */
export interface TimeoutMultipliers {
  multiplier: number;
  agent?: number;
  verifier?: number;
  build?: number;
}

/** harbor/trial/trial.py _resolve_timeout_sec: base x (phase multiplier ?? general multiplier). */
export function scaledTimeouts(
  base: { agentTimeoutSec: number; verifierTimeoutSec: number; buildTimeoutSec: number },
  m: TimeoutMultipliers,
): { agentTimeoutSec: number; verifierTimeoutSec: number; buildTimeoutSec: number } {
  return {
    agentTimeoutSec: base.agentTimeoutSec * (m.agent ?? m.multiplier),
    verifierTimeoutSec: base.verifierTimeoutSec * (m.verifier ?? m.multiplier),
    buildTimeoutSec: base.buildTimeoutSec * (m.build ?? m.multiplier),
  };
}

/** A task with its timeouts scaled (the base values kept in metadata.baseTimeouts). */
export function applyTimeoutMultipliers(task: Task, m: TimeoutMultipliers): Task {
  if (m.multiplier === 1 && (m.agent ?? 1) === 1 && (m.verifier ?? 1) === 1 && (m.build ?? 1) === 1) return task;
  const base = {
    agentTimeoutSec: task.agent.timeoutSec,
    verifierTimeoutSec: task.verifierTimeoutSec,
    buildTimeoutSec: task.buildTimeoutSec,
  };
  const t = scaledTimeouts(base, m);
  return {
    ...task,
    agent: { ...task.agent, timeoutSec: t.agentTimeoutSec },
    verifierTimeoutSec: t.verifierTimeoutSec,
    buildTimeoutSec: t.buildTimeoutSec,
    metadata: { ...task.metadata, baseTimeouts: base },
  };
}

/** What network a sandbox gets: a public bridge or none. */
export type NetworkMode = 'public' | 'none';

/**
 * The network a task's containers get: what the task asks for, unless the host's policy
 * (`sandbox.network: none`, for machines where tasks must stay offline) says otherwise.
 */
export function effectiveNetwork(
  requested: boolean,
  policy: 'task' | 'none',
): { requested: NetworkMode; effective: NetworkMode } {
  const req: NetworkMode = requested ? 'public' : 'none';
  return { requested: req, effective: policy === 'none' ? 'none' : req };
}
