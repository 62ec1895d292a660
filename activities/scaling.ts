// The model calls of test-time scaling: summarising a rollout and one judge vote. Both read only
// what the judge may see (the rollout's prompt, replies and observations; other summaries) and
// never the evaluation folder or a result's verdict, and both are idempotent by their file in the
// run folder, so a retry never pays twice for a finished call.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { judgePrompt, judgeRetryMessage, parseJudgeAnswer, type JudgeCandidate } from '../core/judge';
import { markConversation, markJudgePrompt, SHORT_TTL } from '../core/cache';
import { addCost, addUsage, emptyUsage, type ChatMessage, type ModelReply, type Usage } from '../core/model';
import {
  parseSummary,
  renderSummary,
  renderTrajectory,
  summaryPrompt,
  summaryRetryMessage,
  type Summary,
} from '../core/summary';
import type { Config } from '../core/config';
import type { ModelClient } from '../core/model';
import type { TaskScalingResult } from '../core/pdr';
import type { RolloutResult } from '../core/rollout';
import { sumTokens, type StageTokens } from '../core/scalingReport';
import { bracketStats, type Bracket } from '../core/tournament';
import { loadRunTask, readIfExists, writeJson } from '../runtime/artifacts';
import { storedSteps } from '../runtime/rollouts';
import { batchFolder, rolloutFolder, taskFolder, tournamentFolder } from '../runtime/runFolder';
import { toFailure } from './failures';
import { withHeartbeat } from './heartbeat';

export interface StoredSummary {
  rolloutId: string;
  summary?: Summary;
  /** What the judge and the next iteration read. */
  text: string;
  /** The model never produced a valid summary: `text` is a plain fallback. */
  fallback: boolean;
  attempts: number;
  costUsd: number | null;
  /** Tokens of every attempt (absent in runs made before it was recorded). */
  usage?: Usage;
}

export interface StoredVote {
  order: string[];
  choice: string | null;
  costUsd: number | null;
  usage?: Usage;
}

/** Where a vote or bracket of a tournament is stored: the run's own, or a selection's. */
interface TournamentRef {
  runDir: string;
  taskId: string;
  tournament: string;
  selectId?: string;
}

/** The steps of a rollout as the summariser and a trajectory judge see them. */
function trajectorySteps(runDir: string, taskId: string, rolloutId: string) {
  return storedSteps(rolloutFolder(runDir, taskId, rolloutId)).map(({ step, model, observation }) => ({
    step,
    reply: model.reply.text,
    observation: observation?.message,
  }));
}

/**
 * Tokens by stage, from the run folder: the agent's from each rollout's result, the summaries'
 * and the judge's from their stored calls (a selection's from its own tournaments).
 */
export function stageTokens(runDir: string, outcomes: TaskScalingResult[], selectId?: string): StageTokens {
  const rollouts = outcomes.flatMap((t) => t.iterations.flatMap((it) => it.rollouts));
  const summaries = rollouts.map(
    (r) => readIfExists<StoredSummary>(rolloutFolder(runDir, r.taskId, r.rolloutId).summary)?.usage,
  );
  const votes = outcomes.flatMap((t) =>
    t.iterations.flatMap((it) => {
      if (!it.bracket) return [];
      const dir = tournamentFolder(runDir, { taskId: t.taskId, tournament: it.bracket.id, selectId }).votes;
      if (!existsSync(dir)) return [];
      return readdirSync(dir).map((f) => readIfExists<StoredVote>(path.join(dir, f))?.usage);
    }),
  );
  return { agent: sumTokens(rollouts.map((r) => r.usage)), summary: sumTokens(summaries), judge: sumTokens(votes) };
}

const markLast = (messages: ChatMessage[]): ChatMessage[] =>
  messages.map((m, i) => (i === messages.length - 1 ? { ...m, cacheAt: [m.content.length] } : m));

/** The prompts of summaries and votes, as the direct calls and the batch entries both send them. */
export function scalingPrompts(config: Config) {
  const budget = config.scaling.trajectoryChars;
  const { summary: summaryTemplates, judge: judgeTemplates } = config.scaling.templates;
  return {
    summaryConversation(input: { runDir: string; taskId: string; rolloutId: string }) {
      const task = loadRunTask(input.runDir, input.taskId);
      // The exit status is the agent's own (it submitted, or hit a limit), not a test result.
      const exitStatus =
        readIfExists<Pick<RolloutResult, 'exitStatus'>>(
          rolloutFolder(input.runDir, input.taskId, input.rolloutId).result,
        )?.exitStatus ?? 'unknown';
      const steps = trajectorySteps(input.runDir, input.taskId, input.rolloutId);
      const messages: ChatMessage[] = [
        {
          role: 'user',
          content: summaryPrompt(task.instruction, renderTrajectory(steps, budget), exitStatus, summaryTemplates),
        },
      ];
      return { messages, steps, exitStatus, system: summaryTemplates.system };
    },
    voteConversation(input: {
      runDir: string;
      taskId: string;
      order: string[];
      judgeInput: 'summaries' | 'trajectories';
      shared?: boolean;
    }) {
      const task = loadRunTask(input.runDir, input.taskId);
      const candidates: JudgeCandidate[] = input.order.map((id) => ({
        id,
        text:
          input.judgeInput === 'summaries'
            ? (readIfExists<StoredSummary>(rolloutFolder(input.runDir, input.taskId, id).summary)?.text ??
              '(no summary)')
            : renderTrajectory(
                trajectorySteps(input.runDir, input.taskId, id),
                Math.floor(budget / input.order.length),
              ),
      }));
      const prompt = judgePrompt(task.instruction, candidates, input.judgeInput, judgeTemplates);
      // A prompt no other vote shows would pay the write premium for nothing: no marks then.
      const messages: ChatMessage[] = [
        input.shared === false
          ? { role: 'user', content: prompt }
          : markJudgePrompt(prompt, prompt.indexOf('<attempt id="A">')),
      ];
      return { messages, candidates, system: judgeTemplates.system };
    },
  };
}

/**
 * Calls with the same prompt, one at a time until the first has its answer. The API makes a
 * cache entry readable only once the response that wrote it has begun, so the V votes of a
 * group, sent at once, would all pay to write the same prompt; gated, the first writes it and
 * the rest read it (at a tenth of the price), for one extra call's wait per round.
 */
export function cacheWarmGate() {
  const first = new Map<string, Promise<unknown>>();
  return async <T>(key: string, call: () => Promise<T>): Promise<T> => {
    const ahead = first.get(key);
    if (ahead) {
      await ahead.catch(() => undefined);
      return call();
    }
    const p = call();
    first.set(key, p);
    try {
      return await p;
    } finally {
      if (first.get(key) === p) first.delete(key);
    }
  };
}

export function createScalingActivities(config: Config, model: () => ModelClient) {
  const { summary: summaryTemplates, judge: judgeTemplates } = config.scaling.templates;
  const { summaryConversation, voteConversation } = scalingPrompts(config);
  const gated = config.model.cache.enabled && config.model.provider === 'anthropic';
  const warm = cacheWarmGate();

  return {
    async summarize(input: {
      runDir: string;
      taskId: string;
      rolloutId: string;
    }): Promise<{ fallback: boolean; costUsd: number | null; made: boolean }> {
      const file = rolloutFolder(input.runDir, input.taskId, input.rolloutId).summary;
      const done = readIfExists<StoredSummary>(file);
      // Made earlier (by this run, or by the run a selection replays): nothing new to pay for.
      if (done) return { fallback: done.fallback, costUsd: done.costUsd, made: false };
      const { messages, steps, exitStatus } = summaryConversation(input);
      let cost: number | null = 0;
      let usage = emptyUsage();
      let stored: StoredSummary | undefined;
      for (let attempt = 1; attempt <= config.scaling.summaryAttempts && !stored; attempt++) {
        // A first answer from a Message Batch (activities/batch.ts) stands for the first call.
        const reply =
          (attempt === 1 ? readIfExists<ModelReply>(batchFolder(input.runDir, input.taskId).reply(file)) : undefined) ??
          (await withHeartbeat(() =>
            model().complete({
              system: summaryTemplates.system,
              // A trajectory is summarised once unless the answer is invalid: marked from the first
              // retry on, so a valid first answer does not pay the cache-write premium for nothing.
              messages: attempt === 1 ? messages : markConversation(messages),
              sampling: config.model.sampling.summariser,
              cacheTtl: SHORT_TTL,
            }),
          ).catch((e) => {
            throw toFailure(e);
          }));
        cost = addCost(cost, reply.costUsd);
        usage = addUsage(usage, reply.usage);
        const parsed = parseSummary(reply.text);
        if (parsed.ok) {
          stored = {
            rolloutId: input.rolloutId,
            summary: parsed.summary,
            text: renderSummary(parsed.summary),
            fallback: false,
            attempts: attempt,
            costUsd: cost,
            usage,
          };
        } else {
          messages.push(
            { role: 'assistant', content: reply.text },
            {
              role: 'user',
              content: summaryRetryMessage(parsed.error, summaryTemplates),
            },
          );
        }
      }
      stored ??= {
        rolloutId: input.rolloutId,
        fallback: true,
        attempts: config.scaling.summaryAttempts,
        costUsd: cost,
        usage,
        text: `No valid summary could be made. The attempt took ${steps.length} steps and ended with ${exitStatus}. Its last reply:\n${steps.at(-1)?.reply.slice(0, 2000) ?? '(none)'}`,
      };
      writeJson(file, stored);
      return { fallback: stored.fallback, costUsd: cost, made: true };
    },

    /** A task's whole scaling outcome (iterations, brackets, final pick), for the report and `select`. */
    async recordTaskScaling(input: { runDir: string; result: { taskId: string } }): Promise<void> {
      writeJson(taskFolder(input.runDir, input.result.taskId).scaling, input.result);
    },

    /** The tournament's bracket: who met whom, every vote, ties and byes. */
    async recordBracket(input: { runDir: string; taskId: string; selectId?: string; bracket: Bracket }): Promise<void> {
      const file = tournamentFolder(input.runDir, { ...input, tournament: input.bracket.id }).bracket;
      writeJson(file, { ...input.bracket, stats: bracketStats(input.bracket) });
    },

    /** What a tournament's votes cost (null when the model has no price). */
    async bracketCost(input: TournamentRef): Promise<number | null> {
      const dir = tournamentFolder(input.runDir, input).votes;
      if (!existsSync(dir)) return 0;
      return readdirSync(dir).reduce<number | null>(
        (a, f) => addCost(a, readIfExists<StoredVote>(path.join(dir, f))?.costUsd ?? 0),
        0,
      );
    },

    /**
     * One judge vote over a group, candidates shown in `order`. A reply that names no candidate
     * is asked again once; then the vote is an abstention (null).
     */
    async judgeVote(
      input: TournamentRef & {
        key: string;
        order: string[];
        judgeInput: 'summaries' | 'trajectories';
        /** Whether another vote shows the same prompt (absent: assume so), and so whether caching it pays. */
        shared?: boolean;
      },
    ): Promise<StoredVote> {
      const file = tournamentFolder(input.runDir, input).vote(input.key);
      const done = readIfExists<StoredVote>(file);
      if (done) return done;
      const { messages, candidates } = voteConversation(input);
      let cost: number | null = 0;
      let usage = emptyUsage();
      let choice: string | null = null;
      for (let attempt = 1; attempt <= 2 && choice === null; attempt++) {
        const reply =
          (attempt === 1 ? readIfExists<ModelReply>(batchFolder(input.runDir, input.taskId).reply(file)) : undefined) ??
          (await withHeartbeat(() => {
            const call = () =>
              model().complete({
                system: judgeTemplates.system,
                // The first message keeps its task/candidates marks (core/cache.ts); a retry marks its end too.
                messages: messages.length > 1 ? markLast(messages) : messages,
                sampling: config.model.sampling.judge,
                cacheTtl: SHORT_TTL,
              });
            return gated && attempt === 1 && input.shared !== false
              ? warm(`${judgeTemplates.system}\0${messages[0]!.content}`, call)
              : call();
          }).catch((e) => {
            throw toFailure(e);
          }));
        cost = addCost(cost, reply.costUsd);
        usage = addUsage(usage, reply.usage);
        choice = parseJudgeAnswer(reply.text, candidates);
        if (choice === null) {
          messages.push(
            { role: 'assistant', content: reply.text },
            {
              role: 'user',
              content: judgeRetryMessage(candidates, judgeTemplates),
            },
          );
        }
      }
      const vote: StoredVote = { order: input.order, choice, costUsd: cost, usage };
      writeJson(file, vote);
      return vote;
    },
  };
}
