// `select`: the tournaments of a finished run played again on its stored rollouts and summaries,
// with another group size, vote count, seed or judge input, and no new rollouts. Each iteration's
// selection (K, or 1 for the last) is re-run over the same candidates, so a researcher can study
// selection without paying for rollouts again. A `sample` run works too: its N rollouts become one
// iteration, and summaries are made where missing.
import { executeChild, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { addCost } from '../core/model';
import type { ScalingReport } from '../core/report';
import type { TaskRef } from '../core/task';
import type { ModelRetry } from './rollout';
import { producedNothing, type TaskScalingResult } from './scaling';
import { runTournament } from './tournament';
import { slidingWindow } from './window';

export interface SelectSpec {
  groupSize: number;
  votes: number;
  seed: number;
  judgeInput: 'summaries' | 'trajectories';
}

export interface SelectRunInput {
  selectId: string;
  runId: string;
  runDir: string;
  tasks: TaskRef[];
  spec: SelectSpec;
  concurrency: number;
  modelRetry: ModelRetry;
}

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '60 seconds', maximumAttempts: 10 },
});

export async function selectRun(input: SelectRunInput): Promise<ScalingReport> {
  await slidingWindow(
    input.tasks,
    input.concurrency,
    (task) =>
      executeChild(selectTask, {
        workflowId: `${input.runId}/${input.selectId}/${task.id}`,
        staticSummary: `reselect ${task.id} (G=${input.spec.groupSize}, V=${input.spec.votes}, seed ${input.spec.seed})`,
        args: [{ ...input, task }],
      }).then(
        () => undefined,
        () => undefined,
      ),
    { onEnd: () => {} },
  );
  return acts.writeSelectReport.executeWithOptions({ summary: 'write the selection report' }, [
    { runDir: input.runDir, selectId: input.selectId, taskIds: input.tasks.map((t) => t.id), spec: input.spec },
  ]);
}

export async function selectTask(input: SelectRunInput & { task: TaskRef }): Promise<void> {
  const { task, spec } = input;
  const original = await acts.loadTaskOutcome({ runDir: input.runDir, taskId: task.id });
  const cost: TaskScalingResult['cost'] = { agent: original.cost.agent, summary: 0, judge: 0 };
  const iterations: TaskScalingResult['iterations'] = [];

  for (const it of original.iterations) {
    const last = it.iteration === original.iterations.length - 1;
    // The same selection the run made at this point: K to carry forward, or the final one.
    const target = last ? 1 : it.selected.length;
    if (target === 0) {
      iterations.push({ ...it, selected: [], bracket: undefined });
      continue;
    }
    const ids = it.rollouts.map((r) => r.rolloutId);
    if (spec.judgeInput === 'summaries') {
      const made = await Promise.all(
        ids.map((rolloutId) =>
          acts.summarize.executeWithOptions({ summary: `summarise ${rolloutId}` }, [
            { runDir: input.runDir, taskId: task.id, rolloutId },
          ]),
        ),
      );
      for (const m of made) cost.summary = addCost(cost.summary, m.costUsd);
    }
    const productive = it.rollouts.filter((r) => !producedNothing(r, task.grading)).map((r) => r.rolloutId);
    const candidates = productive.length ? productive : ids;
    const bracket = await runTournament(
      {
        runDir: input.runDir,
        taskId: task.id,
        id: `${input.selectId}-it${it.iteration}`,
        candidates,
        target,
        groupSize: spec.groupSize,
        votes: spec.votes,
        seed: spec.seed,
        judgeInput: spec.judgeInput,
      },
      input.modelRetry,
    );
    await acts.recordBracket.executeWithOptions({ summary: `bracket ${bracket.id}` }, [
      { runDir: input.runDir, taskId: task.id, bracket },
    ]);
    cost.judge = addCost(
      cost.judge,
      await acts.bracketCost({ runDir: input.runDir, taskId: task.id, tournament: bracket.id }),
    );
    iterations.push({
      ...it,
      dropped: ids.filter((id) => !candidates.includes(id)),
      selected: bracket.winners,
      bracket,
    });
  }
  const result: TaskScalingResult = { taskId: task.id, iterations, final: iterations.at(-1)?.selected[0], cost };
  await acts.recordSelection.executeWithOptions({ summary: `final pick: ${result.final ?? 'none'}` }, [
    { runDir: input.runDir, selectId: input.selectId, result },
  ]);
}
