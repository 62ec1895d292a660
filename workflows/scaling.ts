// One task's rollouts, for every strategy: Parallel-Distill-Refine (method.md), of which `rtv`
// (T = 1) and `sample` (T = 1, no selection) are special cases. Iteration 0 runs N rollouts from
// scratch; their summaries are narrowed by Recursive Tournament Voting to K; each rollout of the
// next iteration starts in a fresh container with the context core/pdr.ts chooses; after the last
// iteration RTV narrows to one, and that rollout, unchanged, is the answer. The rules are in
// core/pdr.ts; this file only orchestrates them.
//
// The workflow sees each rollout's hidden-test verdict (for the report), but hands the judge and
// the summariser only rollout ids: their activities read the trajectory and summaries, never the
// evaluation, so selection cannot see the tests.
import { defineQuery, patched, proxyActivities, setHandler, upsertMemo } from '@temporalio/workflow';
import type { ModelActivities, RecordActivities } from '../activities';
import type { AgentLimits } from '../core/agent';
import { capReached, hasBudget, type Budget, type BudgetStop } from '../core/budget';
import { MEMO_SUMMARY, taskMemo } from '../core/memo';
import { addCost } from '../core/model';
import {
  agentCost,
  contextFor,
  emptyCost,
  iterationRolloutIds,
  judgedCandidates,
  needsSummaries,
  taskRandom,
  tournamentId,
  tournamentTarget,
  type IterationOutcome,
  type TaskScalingResult,
} from '../core/pdr';
import type { RolloutResult } from '../core/rollout';
import type { ModelRetry, ScalingSettings } from '../core/settings';
import type { AgentKind } from '../core/terminal';
import type { TaskRef } from '../core/task';
import { modelOptions, recordOptions } from './activityOptions';
import { prepareTask } from './prepareTask';
import { runRolloutChild, type RolloutInput } from './rollout';
import { answerInBatch } from './batch';
import { runTournament } from './tournament';

export interface TaskScalingInput {
  runId: string;
  runDir: string;
  task: TaskRef;
  scaling: ScalingSettings;
  limits: AgentLimits;
  commandTimeoutSec: number;
  wallTimeSec: number;
  modelRetry: ModelRetry;
  /** Whether the server has our search attributes (rollouts are then findable by run, task, iteration, outcome). */
  searchAttributes?: boolean;
  /** The agent that plays the task's rollouts; absent: bash. */
  agent?: AgentKind;
  /** Cost caps: checked before each iteration's rollouts start. */
  budget?: Budget;
}

/** Task workflows started before cost caps were checked between iterations. */
export const BUDGET_CAPS_TASK = 'budget-caps-task';

/** Where a task workflow stands, for `status` and `watch` while its rollouts finish. */
export interface TaskProgress {
  taskId: string;
  iteration: number;
  rolloutsPlanned: number;
  rolloutsDone: number;
  rolloutsPassed: number;
  /** Dollars so far over all stages; null when a model has no price. */
  costUsd: number | null;
}

export const taskProgressQuery = defineQuery<TaskProgress>('taskProgress');

const record = proxyActivities<RecordActivities>(recordOptions);

/** What every rollout of a task is started with, but its id and context. */
export const rolloutBase = (input: TaskScalingInput, image: string): Omit<RolloutInput, 'rolloutId'> => ({
  runDir: input.runDir,
  runId: input.runId,
  task: input.task,
  image,
  limits: input.limits,
  commandTimeoutSec: input.commandTimeoutSec,
  wallTimeSec: input.wallTimeSec,
  modelRetry: input.modelRetry,
  ...(input.agent && input.agent !== 'bash' ? { agent: input.agent } : {}),
});

export async function taskScaling(input: TaskScalingInput): Promise<TaskScalingResult> {
  const { task, scaling: s } = input;
  const model = proxyActivities<ModelActivities>(modelOptions(input.modelRetry));
  const random = taskRandom(s, task.id);
  const { image, done } = await prepareTask(input.runDir, task);

  const cost = emptyCost();
  const iterations: IterationOutcome[] = [];
  let previous: IterationOutcome | undefined;
  const progress = { iteration: 0, rolloutsDone: 0, rolloutsPassed: 0, agentCost: 0 as number | null };
  setHandler(taskProgressQuery, () => ({
    taskId: task.id,
    iteration: progress.iteration,
    rolloutsPlanned: s.n * s.iterations,
    rolloutsDone: progress.rolloutsDone,
    rolloutsPassed: progress.rolloutsPassed,
    costUsd: [cost.agent, progress.agentCost, cost.summary, cost.judge].reduce<number | null>(addCost, 0),
  }));
  const counted = (r: RolloutResult) => {
    progress.rolloutsDone++;
    if (r.passed) progress.rolloutsPassed++;
    progress.agentCost = addCost(progress.agentCost, r.costUsd);
    return r;
  };

  const budget = hasBudget(input.budget) && patched(BUDGET_CAPS_TASK) ? input.budget : undefined;
  let budgetStop: BudgetStop | undefined;
  for (let t = 0; t < s.iterations; t++) {
    const ids = iterationRolloutIds(s, t);
    // Only where new rollouts would start: a continued run's finished iterations are read back.
    if (budget && ids.some((id) => !done.has(id))) {
      const spent = await record.budgetSpent.executeWithOptions({ summary: `cost so far, before iteration ${t}` }, [
        { runDir: input.runDir, taskId: task.id },
      ]);
      budgetStop = capReached(budget, spent, { taskId: task.id, iteration: t });
      if (budgetStop) break;
    }
    progress.iteration = t;
    const contexts = ids.map((_, i) => contextFor(s, previous, i, random));
    const rollouts = await Promise.all(
      ids.map((rolloutId, i) =>
        // A continued run skips rollouts that already have results.
        (done.has(rolloutId)
          ? Promise.resolve(done.get(rolloutId)!)
          : runRolloutChild({
              ...rolloutBase(input, image),
              rolloutId,
              contextFrom: contexts[i],
              ...(input.searchAttributes ? { searchAttributes: { strategy: s.strategy, iteration: t } } : {}),
            })
        ).then(counted),
      ),
    );
    cost.agent = addCost(cost.agent, agentCost(rollouts));
    progress.agentCost = 0; // now in cost.agent

    // Summaries: what the judge compares and what the next iteration reads.
    if (needsSummaries(s, t)) {
      await answerInBatch(
        {
          runDir: input.runDir,
          taskId: task.id,
          key: `summaries-it${t}`,
          jobs: ids.map((rolloutId) => ({ kind: 'summary' as const, rolloutId })),
        },
        s.batch,
        input.modelRetry,
      );
      const made = await Promise.all(
        ids.map((rolloutId) =>
          model.summarize.executeWithOptions({ summary: `summarise ${rolloutId}` }, [
            { runDir: input.runDir, taskId: task.id, rolloutId },
          ]),
        ),
      );
      for (const m of made) cost.summary = addCost(cost.summary, m.costUsd);
    }

    const { candidates, dropped } = judgedCandidates(rollouts, task.grading);
    const outcome: IterationOutcome = { iteration: t, rollouts, dropped, selected: [] };
    if (previous) outcome.contexts = Object.fromEntries(ids.map((id, i) => [id, contexts[i]!]));
    const target = tournamentTarget(s, t);
    if (target > 0) {
      outcome.bracket = await runTournament(
        {
          runDir: input.runDir,
          taskId: task.id,
          id: tournamentId(s, t),
          candidates,
          target,
          groupSize: s.groupSize,
          votes: s.votes,
          seed: s.seed,
          judgeInput: s.judgeInput,
          ...(s.batch ? { batch: s.batch } : {}),
        },
        input.modelRetry,
      );
      outcome.selected = outcome.bracket.winners;
      await record.recordBracket.executeWithOptions({ summary: `bracket ${outcome.bracket.id}` }, [
        { runDir: input.runDir, taskId: task.id, bracket: outcome.bracket },
      ]);
      const votes = await record.bracketCost({ runDir: input.runDir, taskId: task.id, tournament: outcome.bracket.id });
      cost.judge = addCost(cost.judge, votes);
    }
    iterations.push(outcome);
    previous = outcome;
  }
  const result: TaskScalingResult = {
    taskId: task.id,
    iterations,
    // Cut short by a cost cap: the last tournament (the one that picks the answer) never ran.
    final: budgetStop ? undefined : iterations.at(-1)?.selected[0],
    cost,
    ...(budgetStop ? { budgetStop } : {}),
  };
  // The brackets go to the run folder; the parent's history gets the outcome without them.
  await record.recordTaskScaling.executeWithOptions({ summary: `final pick: ${result.final ?? 'none'}` }, [
    { runDir: input.runDir, result },
  ]);
  if (patched(MEMO_SUMMARY)) upsertMemo(taskMemo(result));
  return { ...result, iterations: iterations.map(({ bracket: _bracket, ...it }) => it) };
}
