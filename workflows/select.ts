// `select`: the tournaments of a finished run played again on its stored rollouts and summaries,
// with another group size, vote count, seed or judge input, and no new rollouts. Each iteration's
// selection (K, or 1 for the last) is re-run over the same candidates, so a researcher can study
// selection without paying for rollouts again. A `sample` run works too: its N rollouts become one
// iteration, and summaries are made where missing.
import { executeChild, patched, proxyActivities } from '@temporalio/workflow';
import type { ModelActivities, RecordActivities } from '../activities';
import { addCost } from '../core/model';
import {
  curvePoint,
  judgedCandidates,
  kPoint,
  subsample,
  type CurvePoint,
  type KPoint,
  type TaskScalingResult,
} from '../core/pdr';
import type { ScalingReport } from '../core/scalingReport';
import type { JudgeInput, ModelRetry } from '../core/settings';
import type { TaskRef } from '../core/task';
import { modelOptions, recordOptions } from './activityOptions';
import { failureOf } from './failures';
import { runTournament } from './tournament';
import { slidingWindow } from './window';

export interface SelectSpec {
  groupSize: number;
  votes: number;
  seed: number;
  judgeInput: JudgeInput;
  /** Scaling curve: population sizes to sub-sample from the last iteration, and draws per size. */
  sizes?: number[];
  repeats?: number;
  /** Sel-K against K: each iteration's rollouts narrowed to each of these K, without new rollouts. */
  ks?: number[];
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

/** Selections started before it seeded each tournament by the select id and stored it with the run's. */
export const SELECT_SEEDED_BY_ROLE = 'select-seeded-by-role';

const record = proxyActivities<RecordActivities>(recordOptions);

export async function selectRun(input: SelectRunInput): Promise<ScalingReport> {
  const errors: { taskId: string; error: string }[] = [];
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
        (e) => void errors.push({ taskId: task.id, error: failureOf(e).message }),
      ),
    { onEnd: () => {} },
  );
  return record.writeSelectReport.executeWithOptions({ summary: 'write the selection report' }, [
    {
      runDir: input.runDir,
      selectId: input.selectId,
      taskIds: input.tasks.map((t) => t.id),
      spec: input.spec,
      errors,
    },
  ]);
}

export async function selectTask(input: SelectRunInput & { task: TaskRef }): Promise<void> {
  const { task, spec } = input;
  const model = proxyActivities<ModelActivities>(modelOptions(input.modelRetry));
  const original = await record.loadTaskOutcome({ runDir: input.runDir, taskId: task.id });
  const cost: TaskScalingResult['cost'] = { agent: original.cost.agent, summary: 0, judge: 0 };
  const iterations: TaskScalingResult['iterations'] = [];

  /** Plays one tournament, records its bracket and adds its votes to the judge's cost. */
  const play = async (where: { id: string; selectId?: string }, candidates: string[], target: number) => {
    const ref = { runDir: input.runDir, taskId: task.id, selectId: where.selectId };
    const bracket = await runTournament(
      {
        ...ref,
        id: where.id,
        candidates,
        target,
        groupSize: spec.groupSize,
        votes: spec.votes,
        seed: spec.seed,
        judgeInput: spec.judgeInput,
      },
      input.modelRetry,
    );
    await record.recordBracket.executeWithOptions({ summary: `bracket ${bracket.id}` }, [{ ...ref, bracket }]);
    cost.judge = addCost(cost.judge, await record.bracketCost({ ...ref, tournament: bracket.id }));
    return bracket;
  };

  const byRole = patched(SELECT_SEEDED_BY_ROLE);
  for (const it of original.iterations) {
    const last = it.iteration === original.iterations.length - 1;
    // The same selection the run made at this point: K to carry forward, or the final one.
    const target = it.tournament?.target ?? (last ? 1 : it.selected.length);
    if (target === 0) {
      iterations.push({ ...it, selected: [], bracket: undefined });
      continue;
    }
    const ids = it.rollouts.map((r) => r.rolloutId);
    if (spec.judgeInput === 'summaries') {
      const made = await Promise.all(
        ids.map((rolloutId) =>
          model.summarize.executeWithOptions({ summary: `summarise ${rolloutId}` }, [
            { runDir: input.runDir, taskId: task.id, rolloutId },
          ]),
        ),
      );
      // Only summaries made now cost this selection anything; the run paid for its own.
      for (const m of made) if (m.made) cost.summary = addCost(cost.summary, m.costUsd);
    }
    const { candidates, dropped } = judgedCandidates(it.rollouts, task.grading);
    // The tournament keeps the role (and so the random stream) it had in the run: with the run's
    // settings, the run's own bracket. Its files go to the selection's folder.
    const role = it.tournament?.id ?? (last ? `it${it.iteration}-final` : `it${it.iteration}-select-${target}`);
    const where = byRole ? { id: role, selectId: input.selectId } : { id: `${input.selectId}-it${it.iteration}` };
    const bracket = await play(where, candidates, target);
    iterations.push({ ...it, dropped, selected: bracket.winners, bracket });
  }

  // Final against N without new rollouts: the final tournament over seeded sub-samples of the
  // last iteration's rollouts, `repeats` times per size, all at once.
  const population = original.iterations.at(-1)?.rollouts ?? [];
  const draws = (spec.sizes ?? []).flatMap((n) =>
    n > population.length ? [] : Array.from({ length: spec.repeats ?? 1 }, (_, repeat) => ({ n, repeat })),
  );
  const curve = await Promise.all(
    draws.map(async ({ n, repeat }): Promise<CurvePoint> => {
      const sample = subsample(population, n, spec.seed, `${task.id}\0${n}\0${repeat}`);
      const { candidates } = judgedCandidates(sample, task.grading);
      const bracket = await play({ id: `curve-n${n}-r${repeat}`, selectId: input.selectId }, candidates, 1);
      return curvePoint(n, repeat, sample, bracket.winners[0]);
    }),
  );

  // Sel-K against K: every iteration's population narrowed to each K (the run's own K plays the
  // run's own bracket again), so the K carried forward can be chosen without new rollouts.
  const selections = iterations.flatMap((it) =>
    (spec.ks ?? []).flatMap((k) => (k < it.rollouts.length ? [{ it, k }] : [])),
  );
  const byK = await Promise.all(
    selections.map(async ({ it, k }): Promise<KPoint> => {
      const { candidates } = judgedCandidates(it.rollouts, task.grading);
      const bracket = await play({ id: `it${it.iteration}-select-${k}`, selectId: input.selectId }, candidates, k);
      return kPoint(it, k, bracket.winners);
    }),
  );

  const result: TaskScalingResult = {
    taskId: task.id,
    iterations,
    final: iterations.at(-1)?.selected[0],
    cost,
    ...(curve.length ? { curve } : {}),
    ...(byK.length ? { byK } : {}),
  };
  await record.recordSelection.executeWithOptions({ summary: `final pick: ${result.final ?? 'none'}` }, [
    { runDir: input.runDir, selectId: input.selectId, result },
  ]);
}
