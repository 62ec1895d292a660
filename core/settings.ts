// A run's settings: what the command line and the config decide before a run starts, frozen into
// run.json and the workflow input so that a continued run behaves as it began.
import type { AgentLimits } from './agent';
import { hasBudget, type Budget } from './budget';
import type { Config } from './config';
import type { TaskFormat } from './task';
import type { AgentKind } from './terminal';

/** How often and how patiently a model call is retried (rate limits, overloads, 5xx). */
export interface ModelRetry {
  maxAttempts: number;
  initialIntervalSec: number;
  maxIntervalSec: number;
}

export type Strategy = 'sample' | 'rtv' | 'pdr';
export type ContextMode = 'select-K' | 'random-K' | 'own' | 'none';
export type JudgeInput = 'summaries' | 'trajectories';

/** The method's parameters (method.md). `sample` is one iteration without selection. */
export interface ScalingSettings {
  strategy: Strategy;
  n: number;
  iterations: number;
  k: number;
  groupSize: number;
  votes: number;
  context: ContextMode;
  judgeInput: JudgeInput;
  seed: number;
  /**
   * Summaries and judge votes through the Message Batches API (model.batch, `--batch`); absent:
   * direct calls. Frozen with the run so that a continued run waits as it began.
   */
  batch?: BatchSettings;
}

export interface BatchSettings {
  maxWaitSec: number;
  pollSec: number;
}

export interface RunSettings {
  strategy: Strategy;
  /** rtv and pdr: the method's parameters (N, T, K, G, V, context mode, judge input, seed). */
  scaling?: ScalingSettings;
  n: number;
  taskConcurrency: number;
  limits: AgentLimits;
  commandTimeoutSec: number;
  /** Overrides each task's agent timeout when set. */
  wallTimeSec?: number;
  modelRetry: ModelRetry;
  /**
   * The agent per task format (`--agent` for every format, else `agent.byFormat`). Absent in
   * runs started before there was a choice: those ran the bash agent everywhere.
   */
  agents?: Record<TaskFormat, AgentKind>;
  /** Cost caps (core/budget.ts); absent when the run has none. */
  budget?: Budget;
}

/** The agent a run's task gets. */
export const agentFor = (s: Pick<RunSettings, 'agents'>, format: TaskFormat): AgentKind => s.agents?.[format] ?? 'bash';

/** What a user may choose on the command line; the config fills in the rest. */
export interface SettingsOptions {
  strategy: Strategy;
  n?: number;
  iterations?: number;
  k?: number;
  groupSize?: number;
  votes?: number;
  context?: ContextMode;
  judgeInput?: JudgeInput;
  seed?: number;
  concurrency?: number;
  /** `--agent`: one agent for every task, whatever its format. */
  agent?: AgentKind;
  /** Cost caps in dollars: the run's and each task's. */
  maxCost?: number;
  maxTaskCost?: number;
  /** Overrides model.batch.enabled. */
  batch?: boolean;
}

/** The method's parameters: config.scaling (the paper's defaults), then the command's flags. */
function scalingSettings(config: Config, opts: SettingsOptions): ScalingSettings | undefined {
  if (opts.strategy === 'sample') return undefined;
  const c = config.scaling;
  return {
    strategy: opts.strategy,
    n: opts.n ?? c.n,
    // RTV alone is one iteration: N rollouts, then the tournament to one.
    iterations: opts.strategy === 'rtv' ? 1 : (opts.iterations ?? c.iterations),
    k: opts.context === 'own' ? 1 : (opts.k ?? c.k),
    groupSize: opts.groupSize ?? c.groupSize,
    votes: opts.votes ?? c.votes,
    context: opts.context ?? c.context,
    judgeInput: opts.judgeInput ?? c.judgeInput,
    seed: opts.seed ?? c.seed,
    ...((opts.batch ?? config.model.batch.enabled)
      ? { batch: { maxWaitSec: config.model.batch.maxWaitSec, pollSec: config.model.batch.pollSec } }
      : {}),
  };
}

export const modelRetry = (config: Config): ModelRetry => ({
  maxAttempts: config.run.modelMaxAttempts,
  initialIntervalSec: config.run.modelRetryInitialSec,
  maxIntervalSec: config.run.modelRetryMaxSec,
});

export function runSettings(config: Config, opts: SettingsOptions): RunSettings {
  const scaling = scalingSettings(config, opts);
  return {
    strategy: opts.strategy,
    scaling,
    n: scaling?.n ?? opts.n ?? config.run.n,
    taskConcurrency: opts.concurrency ?? config.run.taskConcurrency,
    limits: {
      stepLimit: config.agent.stepLimit,
      costLimitUsd: config.agent.costLimitUsd,
      formatErrorLimit: config.agent.formatErrorLimit,
    },
    commandTimeoutSec: config.agent.commandTimeoutSec,
    wallTimeSec: config.agent.wallTimeSec,
    modelRetry: modelRetry(config),
    agents: opts.agent
      ? { swebench: opts.agent, 'terminal-bench': opts.agent, harbor: opts.agent }
      : { ...config.agent.byFormat },
    ...budgetOf(config, opts),
  };
}

function budgetOf(config: Config, opts: SettingsOptions): { budget?: Budget } {
  const budget: Budget = {};
  const runUsd = opts.maxCost ?? config.run.maxCostUsd;
  const taskUsd = opts.maxTaskCost ?? config.run.maxTaskCostUsd;
  if (runUsd !== undefined) budget.runUsd = runUsd;
  if (taskUsd !== undefined) budget.taskUsd = taskUsd;
  return hasBudget(budget) ? { budget } : {};
}

/**
 * The scaling parameters a run's task workflows use. `sample` (whose settings carry none) is
 * PDR with one iteration and no selection.
 */
export function scalingOf(s: RunSettings): ScalingSettings {
  return (
    s.scaling ?? {
      strategy: 'sample',
      n: s.n,
      iterations: 1,
      k: 0,
      groupSize: 2,
      votes: 0,
      context: 'none',
      judgeInput: 'summaries',
      seed: 0,
    }
  );
}

/** One line naming the strategy and its parameters, for the UI and the first output line. */
export function describeSettings(s: RunSettings): string {
  const caps = [
    s.budget?.runUsd !== undefined ? `cost cap $${s.budget.runUsd}` : '',
    s.budget?.taskUsd !== undefined ? `task cost cap $${s.budget.taskUsd}` : '',
  ]
    .filter(Boolean)
    .map((c) => `, ${c}`)
    .join('');
  return describeMethod(s) + caps;
}

function describeMethod(s: RunSettings): string {
  const m = s.scaling;
  if (!m) return `sample x${s.n}`;
  return `${m.strategy} N=${m.n} T=${m.iterations}${m.iterations > 1 ? ` K=${m.k} context=${m.context}` : ''} G=${m.groupSize} V=${m.votes} judge=${m.judgeInput} seed=${m.seed}${m.batch ? ' batch' : ''}`;
}

/** Batches are Anthropic's (the Message Batches API); another provider is refused before a run starts. */
export function batchProblems(config: Config, s: RunSettings): string[] {
  if (!s.scaling?.batch || config.model.provider === 'anthropic') return [];
  return [
    `--batch (model.batch.enabled) needs model.provider anthropic: the Message Batches API is Anthropic's, and ${config.model.provider} has none`,
  ];
}

/** Which agent the run's tasks get, for the first output line: `agent terminal`, or per format. */
export function describeAgents(s: Pick<RunSettings, 'agents'>, formats: readonly TaskFormat[]): string {
  const byAgent = new Map<AgentKind, TaskFormat[]>();
  for (const f of [...new Set(formats)].sort())
    byAgent.set(agentFor(s, f), [...(byAgent.get(agentFor(s, f)) ?? []), f]);
  if (byAgent.size <= 1) return `agent ${[...byAgent.keys()][0] ?? 'bash'}`;
  return `agents ${[...byAgent].map(([a, fs]) => `${a} (${fs.join(', ')})`).join(', ')}`;
}
