// `regrade`: a finished run's rollouts evaluated again with today's grader, no model call.
// SWE-bench rollouts from their stored diffs, in a fresh container as the harness does; container
// tasks by rebuilding the rollout's final state from its recorded commands or keystrokes (as a lost
// container is rebuilt) and running the tests there. Each verdict is written once (a retried or
// resumed regrade keeps it), beside the run's own in the regrade's folder.
import type { Config } from '../core/config';
import {
  regradeOutcome,
  renderVerdictChanges,
  verdictChanges,
  verdictOf,
  withVerdict,
  type Regraded,
  type Verdict,
  type VerdictChange,
} from '../core/regrade';
import { renderRunReport, type RunReport } from '../core/report';
import { byRolloutId, type RolloutResult } from '../core/rollout';
import {
  loadRunDataset,
  loadRunTask,
  readIfExists,
  readJson,
  readTextIfExists,
  writeFileAtomic,
  writeJson,
} from '../runtime/artifacts';
import { evaluateContainer, evaluatePatch, prepareSandbox, sandboxSpec } from '../runtime/evaluate';
import { graderVersion } from '../runtime/grader';
import { finishedRollouts } from '../runtime/rollouts';
import { regradeFolder, rolloutFolder } from '../runtime/runFolder';
import { createSandbox, removeSandbox } from '../runtime/sandbox';
import { guarded } from './failures';
import { composeRunReport } from './report';
import { withHeartbeat } from './heartbeat';
import { restoreFinalState } from './rollout';
import type { LabelsFor } from './sandbox';

export interface RegradeRef {
  runDir: string;
  runId: string;
  regradeId: string;
  taskId: string;
  rolloutId: string;
}

export interface RegradeSummary {
  rollouts: number;
  changes: VerdictChange[];
  report: RunReport;
}

export function createRegradeActivities(config: Config, labelsFor: LabelsFor) {
  const folder = (r: { runDir: string; regradeId: string }) => regradeFolder(r.runDir, r.regradeId);
  const write = (r: RegradeRef, g: Regraded) => {
    writeJson(folder(r).verdict(r.taskId, r.rolloutId), g);
    return g;
  };
  const stored = (r: RegradeRef) => readJson<RolloutResult>(rolloutFolder(r.runDir, r.taskId, r.rolloutId).result);

  return {
    /** The finished rollouts of each task, in order: what the regrade evaluates. */
    async regradePlan(input: {
      runDir: string;
      regradeId: string;
    }): Promise<{ taskId: string; rolloutIds: string[] }[]> {
      return loadRunDataset(folder(input).root).map((t) => ({
        taskId: t.id,
        rolloutIds: finishedRollouts(input.runDir, t.id)
          .sort(byRolloutId)
          .map((r) => r.rolloutId),
      }));
    },

    /** `jobId` is the regrade's workflow id: its containers are labelled with it, so `gc` keeps them while it runs. */
    async regradeRollout(input: RegradeRef & { jobId: string; image: string; name: string }): Promise<Regraded> {
      const done = readIfExists<Regraded>(folder(input).verdict(input.taskId, input.rolloutId));
      if (done) return done;
      const t = loadRunTask(folder(input).root, input.taskId);
      const result = stored(input);
      const original = rolloutFolder(input.runDir, input.taskId, input.rolloutId);
      const logDir = rolloutFolder(folder(input).root, input.taskId, input.rolloutId).evaluation;
      const base = {
        taskId: input.taskId,
        rolloutId: input.rolloutId,
        grader: graderVersion(t),
        before: verdictOf(result),
      };
      // A rollout whose sandbox failed has no final state to grade, as when it ran.
      if (result.exitStatus === 'SandboxError')
        return write(input, { ...base, evalError: 'not evaluated: the rollout ended in SandboxError' });
      const labels = labelsFor({ runId: input.jobId, taskId: input.taskId, attempt: `${input.rolloutId}-regrade` });
      const spec = sandboxSpec(t, config, input.image, input.name, labels);
      return guarded(() =>
        withHeartbeat(async () => {
          let verdict: Verdict;
          if (t.verifier.kind === 'swebench') {
            const patch = readTextIfExists(original.patch) ?? '';
            verdict = patch.trim()
              ? await evaluatePatch(t, patch, spec, config, logDir)
              : { passed: false, reason: 'empty patch' };
          } else {
            const { containerId } = await createSandbox(spec);
            try {
              await prepareSandbox(t, containerId, config);
              await restoreFinalState(config, t, containerId, original);
              verdict = await evaluateContainer(t, containerId, logDir, config);
            } finally {
              await removeSandbox(input.name);
            }
          }
          return write(input, {
            ...base,
            passed: verdict.passed,
            reward: verdict.reward,
            reason: verdict.reason,
          });
        }),
      );
    },

    /** The tests could not be run for this rollout (after the activity's retries). */
    async recordRegradeError(input: RegradeRef & { error: string }): Promise<Regraded> {
      const t = loadRunTask(folder(input).root, input.taskId);
      return write(input, {
        taskId: input.taskId,
        rolloutId: input.rolloutId,
        grader: graderVersion(t),
        before: verdictOf(stored(input)),
        evalError: input.error,
      });
    },

    /**
     * The run's report again with the new verdicts (the stored brackets pick the same rollouts, so no
     * judge is asked), and the verdicts that changed, in the regrade's results.json and results.md.
     */
    async writeRegradeReport(input: {
      runDir: string;
      runId: string;
      regradeId: string;
      errors: { taskId: string; error: string }[];
    }): Promise<RegradeSummary> {
      const f = folder(input);
      const taskIds = loadRunDataset(f.root).map((t) => t.id);
      const regraded = taskIds.flatMap((id) =>
        finishedRollouts(input.runDir, id)
          .sort(byRolloutId)
          .flatMap((r) => readIfExists<Regraded>(f.verdict(id, r.rolloutId)) ?? []),
      );
      const verdictOfRollout = new Map(regraded.map((g) => [`${g.taskId}\0${g.rolloutId}`, g]));
      const { report } = composeRunReport(input.runDir, input.runId, taskIds, input.errors, {
        rollout: (r) => {
          const g = verdictOfRollout.get(`${r.taskId}\0${r.rolloutId}`);
          return g ? withVerdict(r, g) : r;
        },
        outcome: (t) =>
          regradeOutcome(t, new Map(regraded.filter((g) => g.taskId === t.taskId).map((g) => [g.rolloutId, g]))),
      });
      const changes = verdictChanges(regraded);
      writeJson(f.results, {
        ...report,
        regrade: { id: input.regradeId, graders: regraded.map((g) => g.grader), changes },
      });
      writeFileAtomic(
        f.table,
        `${renderRunReport(report)}\n\n${renderVerdictChanges(
          changes,
          regraded.map((g) => g.grader),
        )}\n`,
      );
      return { rollouts: regraded.length, changes, report };
    },
  };
}
