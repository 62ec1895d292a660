// The project's configuration: one schema with defaults for everything, so an empty file (or none)
// is a working configuration. Loaded from YAML by runtime/config.ts.
import { z } from 'zod';
import { AgentConfigSchema } from './agent';
import { JudgeTemplatesSchema } from './judge';
import { SummaryTemplatesSchema } from './summary';
import { SwebenchRecipeSchema } from './swebenchSpecs';

// The SWE-bench recipe schema lives with the evaluation specs it overrides.
export { SwebenchRecipeSchema, type SwebenchRecipe } from './swebenchSpecs';

/** Dollars per million tokens. Absent prices make cost "unknown", never an error. */
const PricesSchema = z.object({
  inputPerMTok: z.number().nonnegative(),
  outputPerMTok: z.number().nonnegative(),
  cacheReadPerMTok: z.number().nonnegative().optional(),
  /** Cache writes with the 5-minute lifetime (1.25x input when absent). */
  cacheWritePerMTok: z.number().nonnegative().optional(),
  /** Cache writes with the 1-hour lifetime (2x input when absent). */
  cacheWrite1hPerMTok: z.number().nonnegative().optional(),
});
export type Prices = z.infer<typeof PricesSchema>;

/** Sampling of one role's requests; topP unset is not sent (the API's default, 1). */
export const SamplingSchema = z.object({
  temperature: z.number().min(0).max(2).default(1),
  topP: z.number().gt(0).max(1).optional(),
});
export type Sampling = z.infer<typeof SamplingSchema>;

export const ModelConfigSchema = z.object({
  /** `anthropic`: the Messages API; `openai`: any OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp). */
  provider: z.enum(['anthropic', 'openai']).default('anthropic'),
  name: z.string().default('claude-sonnet-4-6'),
  /** Endpoint override (a proxy, a local server); the provider's default otherwise. */
  baseUrl: z.string().optional(),
  /** Name of the environment variable holding the key; the key itself never appears in config. */
  apiKeyEnv: z.string().optional(),
  /**
   * Sampling per role, sent with each request where the API takes it (core/model.ts,
   * SAMPLING_ACCEPTED). Default temperature 1 (top_p unset, i.e. 1): the APIs' own default, the
   * distribution the models are tuned to sample from, and what makes N rollouts and V votes
   * independent draws; at 0 they collapse into near-copies and pass@N and voting lose their point
   * (mini-swe-agent dropped its temperature 0 from its SWE-bench configs for the same reason).
   */
  sampling: z
    .object({
      agent: SamplingSchema.prefault({}),
      summariser: SamplingSchema.prefault({}),
      judge: SamplingSchema.prefault({}),
    })
    .prefault({}),
  /** Moved: a config that still sets it fails loudly instead of being ignored. */
  temperature: z
    .never({ error: 'model.temperature is now per role: model.sampling.{agent,summariser,judge}.temperature' })
    .optional(),
  maxTokens: z.number().int().positive().default(4096),
  /** Per request; a call that takes longer is retried. */
  timeoutSec: z.number().positive().default(600),
  /** Keyed by model name; a model without an entry has unknown cost. */
  prices: z.record(z.string(), PricesSchema).default({
    // Sonnet 4.6 at the Sonnet 4.x list price; verify against the current price list.
    // Cache reads 0.1x input, writes 1.25x (5 minutes) or 2x (1 hour): the API's documented multiples.
    'claude-sonnet-4-6': {
      inputPerMTok: 3,
      outputPerMTok: 15,
      cacheReadPerMTok: 0.3,
      cacheWritePerMTok: 3.75,
      cacheWrite1hPerMTok: 6,
    },
    'claude-sonnet-4-5': {
      inputPerMTok: 3,
      outputPerMTok: 15,
      cacheReadPerMTok: 0.3,
      cacheWritePerMTok: 3.75,
      cacheWrite1hPerMTok: 6,
    },
    'claude-opus-4-5': {
      inputPerMTok: 5,
      outputPerMTok: 25,
      cacheReadPerMTok: 0.5,
      cacheWritePerMTok: 6.25,
      cacheWrite1hPerMTok: 10,
    },
    'claude-haiku-4-5': {
      inputPerMTok: 1,
      outputPerMTok: 5,
      cacheReadPerMTok: 0.1,
      cacheWritePerMTok: 1.25,
      cacheWrite1hPerMTok: 2,
    },
  }),
  /**
   * Prompt caching (core/cache.ts): breakpoints where a prefix repeats (agent steps, summary
   * retries, the votes of a group, PDR rollouts given the same summaries). Anthropic only: an
   * OpenAI-compatible endpoint caches by itself, and its cached tokens are reported as reads.
   */
  cache: z
    .object({
      enabled: z.boolean().default(true),
      /**
       * Cache lifetime of agent steps (summaries and votes, read again within seconds, always use
       * 5m). 5m: writes at 1.25x input, refreshed by every read; 1h: writes at 2x.
       * 1h, as measured by scripts/bench-cost.ts (README, Benchmarks): on a 50-step rollout it
       * costs 0.19x of no caching whatever the steps wait, while 5m costs 0.16x when every step
       * follows within 5 minutes but 0.39x when one step in five waits longer on a slow
       * container, and more than no caching at all when every step does.
       */
      ttl: z.enum(['5m', '1h']).default('1h'),
    })
    .prefault({}),
  /**
   * Summaries and judge votes through the Message Batches API, at half price (Anthropic only).
   * The workflow waits for a batch durably; requests that fail or expire, and everything still
   * unanswered after maxWaitSec, go through the normal API.
   */
  batch: z
    .object({
      enabled: z.boolean().default(false),
      /** How long a run may idle on one batch before the rest is asked directly. */
      maxWaitSec: z.number().positive().default(3600),
      /** Between looks at a pending batch. */
      pollSec: z.number().positive().default(30),
    })
    .prefault({}),
});
export type ModelConfig = z.infer<typeof ModelConfigSchema>;

export const ConfigSchema = z.object({
  /** Run folders, the dev server's database and project-local tools live here. */
  dataDir: z.string().default('.agentscale'),
  temporal: z
    .object({
      /** host:port of an existing server; when absent the embedded dev server is used. */
      address: z.string().optional(),
      namespace: z.string().default('default'),
      taskQueue: z.string().default('agentscale'),
      /** Path to the `temporal` CLI; else PATH, else the project's tools folder, else the SDK's download. */
      cliPath: z.string().optional(),
      devServer: z
        .object({ port: z.number().int().default(7233), uiPort: z.number().int().default(8233) })
        .prefault({}),
      /** The Web UI of the server at `address` (a cluster's or Temporal Cloud's), for links in reports. */
      uiUrl: z.string().url().optional(),
      tls: z
        .object({
          serverNameOverride: z.string().optional(),
          serverRootCaCertPath: z.string().optional(),
          clientCertPath: z.string().optional(),
          clientKeyPath: z.string().optional(),
        })
        .optional(),
    })
    .prefault({}),
  worker: z
    .object({
      // Mostly waits on model calls and containers; the paper's first tournament round alone is
      // 8 groups x 8 votes = 64 judge calls per task, all meant to run at once.
      maxConcurrentActivityTaskExecutions: z.number().int().positive().default(128),
      maxConcurrentWorkflowTaskExecutions: z.number().int().positive().default(16),
      /**
       * Model calls in flight at once across this worker (agent steps, summaries, judge votes):
       * the rest wait for a slot, so bursts stay under the provider's rate limits.
       */
      maxModelCallsInFlight: z.number().int().positive().default(64),
      /** How long a shutting-down worker lets activities finish before cancelling them. */
      shutdownGraceTimeSec: z.number().nonnegative().default(10),
    })
    .prefault({}),
  model: ModelConfigSchema.prefault({}),
  agent: AgentConfigSchema.prefault({}),
  run: z
    .object({
      /** Rollouts per task for the `sample` strategy. */
      n: z.number().int().positive().default(4),
      /** Tasks in flight at once; each has up to n rollouts (and containers) running. */
      taskConcurrency: z.number().int().positive().default(4),
      /** Retries of one model call (rate limits, overloads, 5xx) before the rollout ends with ModelError. */
      modelMaxAttempts: z.number().int().positive().default(10),
      /** First and longest pause between model retries, when the server sends no retry-after. */
      modelRetryInitialSec: z.number().positive().default(2),
      modelRetryMaxSec: z.number().positive().default(120),
      /** Cost caps in dollars (all stages): no new rollouts start past them (--max-cost, --max-task-cost). */
      maxCostUsd: z.number().positive().optional(),
      maxTaskCostUsd: z.number().positive().optional(),
    })
    .prefault({}),
  /** Test-time scaling (method.md); defaults are the paper's. */
  scaling: z
    .object({
      /** Rollouts per iteration. */
      n: z.number().int().positive().default(16),
      /** Iterations of Parallel-Distill-Refine (1 = RTV alone). */
      iterations: z.number().int().positive().default(2),
      /** Summaries carried into the next iteration. */
      k: z.number().int().positive().default(4),
      /** Tournament group size G and votes per group V. */
      groupSize: z.number().int().min(2).default(2),
      votes: z.number().int().positive().default(8),
      /** What a new rollout is given: the RTV winners, its own random K, one earlier attempt's summary, nothing. */
      context: z.enum(['select-K', 'random-K', 'own', 'none']).default('select-K'),
      /** What the judge compares (the paper's ablation: summaries win). */
      judgeInput: z.enum(['summaries', 'trajectories']).default('summaries'),
      /** Seeds grouping, random-K and tie breaks (ours: deterministic in the workflow). */
      seed: z.number().int().default(0),
      /** Trajectory text given to the summariser (and a trajectory judge), in characters. */
      trajectoryChars: z.number().int().positive().default(120_000),
      /** Tries to get a schema-valid summary before falling back to a plain one. */
      summaryAttempts: z.number().int().positive().default(3),
      /** The summariser's and the judge's prompts (defaults: core/summary.ts, core/judge.ts). */
      templates: z
        .object({ summary: SummaryTemplatesSchema.prefault({}), judge: JudgeTemplatesSchema.prefault({}) })
        .prefault({}),
    })
    .prefault({}),
  validate: z
    .object({
      /** Tasks validated at once (each holds up to two containers). */
      concurrency: z.number().int().positive().default(4),
    })
    .prefault({}),
  sandbox: z
    .object({
      cpus: z.number().positive().default(1),
      memoryMb: z.number().int().positive().default(2048),
      pids: z.number().int().positive().default(1024),
      /** Default per-command timeout. */
      execTimeoutSec: z.number().positive().default(60),
      /** Output kept per command, head and tail halves, with the cut marked (the rest is never stored). */
      outputCapBytes: z.number().int().positive().default(10_000),
      /** Disk a container may write (its writable layer) when the task sets no storage_mb. */
      storageMb: z.number().int().positive().default(10_240),
      /** No new container starts while the Docker engine's disk has less than this available (0: not watched). */
      minHostFreeMb: z.number().int().nonnegative().default(2048),
      /**
       * Keep processes a command leaves running (servers a task starts in one command and uses in
       * the next). Off: after each command whatever it started is killed (fork bombs, nohup and
       * setsid daemons). A task can ask for it itself (Task.backgroundServices).
       */
      backgroundServices: z.boolean().default(false),
      /**
       * `task`: each task gets the network it asks for (Harbor's rule: public unless it forbids
       * it). `none`: no task gets a network, for hosts where tasks must stay offline; results
       * record the effective mode and verdicts say when a task ran without the network it asked for.
       */
      network: z.enum(['task', 'none']).default('task'),
      /**
       * Extra CA certificates trusted in every image built and every container started (for a
       * TLS-inspecting proxy): PEM files, or `host` for the host's bundle. See docs/harbor.md.
       */
      caCertificates: z.array(z.string()).default([]),
    })
    .prefault({}),
  /** Harbor's --timeout-multiplier and its per-phase forms: task timeouts are multiplied by these. */
  timeouts: z
    .object({
      multiplier: z.number().positive().default(1),
      agentMultiplier: z.number().positive().optional(),
      verifierMultiplier: z.number().positive().optional(),
      buildMultiplier: z.number().positive().optional(),
    })
    .prefault({}),
  images: z
    .object({
      /**
       * Base images a Dockerfile's FROM names, mapped to locally built ones. Keys may end in `*`.
       * Lets `FROM ubuntu:24.04` build on a machine that cannot pull (air-gapped clusters too).
       */
      baseImages: z.record(z.string(), z.string()).default({}),
    })
    .prefault({}),
  /** The statistics behind every interval and every run-to-run verdict (core/statistics.ts). */
  report: z
    .object({
      /** A scheduled run (or `compare`) calls a change a regression or an improvement only below this p-value. */
      regressionLevel: z.number().gt(0).lt(1).default(0.05),
    })
    .prefault({}),
  swebench: z
    .object({
      /** Keyed by the instance's `repo` (owner/name). */
      recipes: z.record(z.string(), SwebenchRecipeSchema).default({}),
    })
    .prefault({}),
});
export type Config = z.infer<typeof ConfigSchema>;

/** Where the Temporal Web UI is: the configured one, or the embedded dev server's; unknown otherwise. */
export const temporalUiUrl = (config: Config): string | undefined =>
  config.temporal.uiUrl?.replace(/\/+$/, '') ??
  (config.temporal.address ? undefined : `http://localhost:${config.temporal.devServer.uiPort}`);

/** A workflow's page in the Web UI. */
export const workflowPageUrl = (uiUrl: string, namespace: string, workflowId: string) =>
  `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;

/** Resolves a base image name through the map; `*` at the end of a key matches any suffix. */
export function mapBaseImage(name: string, map: Record<string, string>): string | undefined {
  if (map[name]) return map[name];
  let best: { len: number; to: string } | undefined;
  for (const [pattern, to] of Object.entries(map)) {
    if (!pattern.endsWith('*')) continue;
    const prefix = pattern.slice(0, -1);
    if (name.startsWith(prefix) && (!best || prefix.length > best.len)) best = { len: prefix.length, to };
  }
  return best?.to;
}
