// Parallel-Distill-Refine for one task (method.md): iteration 0 runs N rollouts from scratch;
// their summaries are narrowed by Recursive Tournament Voting to K; each rollout of the next
// iteration starts in a fresh container with context chosen by the context mode; after the last
// iteration RTV narrows to one, and that rollout, unchanged, is the answer. Strategy `rtv` is T = 1.
//
// The workflow sees each rollout's hidden-test verdict (for the report), but hands the judge and
// the summariser only rollout ids: their activities read the trajectory and summaries, never the
// evaluation, so selection cannot see the tests.
import { executeChild, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AgentLimits } from '../core/agent';
import { addCost } from '../core/model';
import { shortHash, type TaskRef } from '../core/task';
import { rng, shuffle } from '../core/tournament';
import type { RolloutResult } from '../runtime/rollouts';
import { rollout, type ModelRetry } from './rollout';
import { prepareTask } from './prepareTask';
import { runTournament, type Bracket } from './tournament';

export type ContextMode = 'select-K' | 'random-K' | 'own' | 'none';

export interface ScalingSettings {
  strategy: 'rtv' | 'pdr';
  n: number;
  iterations: number;
  k: number;
  groupSize: number;
  votes: number;
  context: ContextMode;
  judgeInput: 'summaries' | 'trajectories';
  seed: number;
}

export interface TaskScalingInput {
  runId: string;
  runDir: string;
  task: TaskRef;
  scaling: ScalingSettings;
  limits: AgentLimits;
  commandTimeoutSec: number;
  wallTimeSec: number;
  modelRetry: ModelRetry;
}

export interface IterationOutcome {
  iteration: number;
  rollouts: RolloutResult[];
  /** Rollouts that produced nothing, left out of the tournament. */
  dropped: string[];
  /** select-K: the K carried forward (their summaries); the last iteration: the final pick. */
  selected: string[];
  bracket?: Bracket;
}

export interface TaskScalingResult {
  taskId: string;
  error?: string;
  iterations: IterationOutcome[];
  final?: string;
  /** Dollars by stage; null when a model in that stage has no price. */
  cost: { agent: number | null; summary: number | null; judge: number | null };
}

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '60 seconds', maximumAttempts: 10 },
});

/** Produced nothing: no step taken, or (repository tasks) an empty patch. Such rollouts are not judged. */
export const producedNothing = (r: Pick<RolloutResult, 'steps' | 'patchBytes'>, grading: TaskRef['grading']) =>
  r.steps === 0 || (grading === 'patch' && !r.patchBytes);

export async function taskScaling(input: TaskScalingInput): Promise<TaskScalingResult> {
  const { task, scaling: s } = input;
  const random = rng(s.seed ^ parseInt(shortHash(task.id), 16));
  const { image, done } = await prepareTask(input.runDir, task);

  const cost: TaskScalingResult['cost'] = { agent: 0, summary: 0, judge: 0 };
  const iterations: IterationOutcome[] = [];
  let previous: IterationOutcome | undefined;

  for (let t = 0; t < s.iterations; t++) {
    const last = t === s.iterations - 1;
    const ids = Array.from({ length: s.n }, (_, i) => `it${t}-r${i}`);
    const contexts = ids.map((_, i) => contextFor(previous, i));
    const rollouts = await Promise.all(
      ids.map(
        (rolloutId, i) =>
          done.get(rolloutId) ??
          executeChild(rollout, {
            workflowId: `${input.runId}/${task.id}/${rolloutId}`,
            staticSummary: `rollout ${rolloutId} of ${task.id}${contexts[i]!.length ? ` (context: ${contexts[i]!.join(', ')})` : ''}`,
            args: [
              {
                runDir: input.runDir,
                runId: input.runId,
                task,
                rolloutId,
                image,
                limits: input.limits,
                commandTimeoutSec: input.commandTimeoutSec,
                wallTimeSec: input.wallTimeSec,
                modelRetry: input.modelRetry,
                contextFrom: contexts[i],
              },
            ],
          }),
      ),
    );
    for (const r of rollouts) cost.agent = addCost(cost.agent, r.costUsd);

    // Summaries: what the judge compares and what the next iteration reads.
    const needSummaries = s.judgeInput === 'summaries' || (!last && s.context !== 'none');
    if (needSummaries) {
      const made = await Promise.all(
        ids.map((rolloutId) =>
          acts.summarize.executeWithOptions({ summary: `summarise ${rolloutId}` }, [
            { runDir: input.runDir, taskId: task.id, rolloutId },
          ]),
        ),
      );
      for (const m of made) cost.summary = addCost(cost.summary, m.costUsd);
    }

    const productive = rollouts.filter((r) => !producedNothing(r, task.grading)).map((r) => r.rolloutId);
    const candidates = productive.length ? productive : ids; // nothing produced anything: judge them all
    const dropped = ids.filter((id) => !candidates.includes(id));
    const outcome: IterationOutcome = { iteration: t, rollouts, dropped, selected: [] };
    const target = last ? 1 : s.context === 'select-K' ? s.k : 0;
    if (target > 0) {
      outcome.bracket = await runTournament(
        {
          runDir: input.runDir,
          taskId: task.id,
          id: last ? `it${t}-final` : `it${t}-select-${s.k}`,
          candidates,
          target,
          groupSize: s.groupSize,
          votes: s.votes,
          seed: s.seed,
          judgeInput: s.judgeInput,
        },
        input.modelRetry,
      );
      outcome.selected = outcome.bracket.winners;
      await acts.recordBracket.executeWithOptions({ summary: `bracket ${outcome.bracket.id}` }, [
        { runDir: input.runDir, taskId: task.id, bracket: outcome.bracket },
      ]);
      const votes = await acts.bracketCost({ runDir: input.runDir, taskId: task.id, tournament: outcome.bracket.id });
      cost.judge = addCost(cost.judge, votes);
    }
    iterations.push(outcome);
    previous = outcome;
  }
  const result: TaskScalingResult = { taskId: task.id, iterations, final: iterations.at(-1)?.selected[0], cost };
  // The brackets go to the run folder; the parent's history gets the outcome without them.
  await acts.recordTaskScaling.executeWithOptions({ summary: `final pick: ${result.final ?? 'none'}` }, [
    { runDir: input.runDir, result },
  ]);
  return { ...result, iterations: iterations.map(({ bracket: _bracket, ...it }) => it) };

  /** Which earlier rollouts' summaries rollout i of the next iteration is given. */
  function contextFor(prev: IterationOutcome | undefined, i: number): string[] {
    if (!prev) return [];
    switch (s.context) {
      case 'select-K':
        return prev.selected;
      // Each new rollout draws its own K, as the original PDR does.
      case 'random-K':
        return shuffle(
          prev.rollouts.map((r) => r.rolloutId),
          random,
        ).slice(0, s.k);
      // K = 1: the summary of the earlier attempt in the same position.
      case 'own':
        return [prev.rollouts[i % prev.rollouts.length]!.rolloutId];
      case 'none':
        return [];
    }
  }
}
