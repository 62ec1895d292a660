// The activities a worker registers, one file per concern: sandbox.ts (task images and
// containers), rollout.ts (an agent's steps and its record), scaling.ts (summaries, judge votes,
// brackets), validate.ts (oracle and null attempts), select.ts, report.ts, schedule.ts and
// regrade.ts. Each is one
// retryable step: it reads the task from the run folder by id (claim-check), does its work,
// writes to the run folder and returns a small result. Built from the worker's config so limits,
// image maps and recipes come from one place.
import type { Config } from '../core/config';
import type { ModelClient } from '../core/model';
import { createModelClient } from '../runtime/model';
import { createRegradeActivities } from './regrade';
import { createBudgetActivities } from './budget';
import { limitInFlight, Slots } from './modelLimit';
import { createBatchActivities } from './batch';
import { createReportActivities } from './report';
import { createRolloutActivities } from './rollout';
import { containerLabels, createSandboxActivities } from './sandbox';
import { createScalingActivities } from './scaling';
import { createScheduleActivities } from './schedule';
import { createSelectActivities } from './select';
import { createValidateActivities } from './validate';

export { WORKER_ID } from './sandbox';

/**
 * @param server the `serverKey` of the Temporal server these activities work for; containers
 *   carry it so that `gc` judges them by the runs of the right server.
 */
export function createActivities(config: Config, server: string) {
  const labelsFor = containerLabels(server);
  // One frozen model plays agent, summariser and judge; its client is made on first use.
  // Every model call of this worker shares one cap on calls in flight (rate limits).
  let client: ModelClient | undefined;
  const model = () =>
    (client ??= limitInFlight(createModelClient(config.model), new Slots(config.worker.maxModelCallsInFlight)));
  return {
    ...createSandboxActivities(config, labelsFor),
    ...createRolloutActivities(config, labelsFor, model),
    ...createScalingActivities(config, model),
    ...createBatchActivities(config),
    ...createValidateActivities(config, labelsFor),
    ...createSelectActivities(),
    ...createReportActivities(),
    ...createBudgetActivities(),
    ...createScheduleActivities(config),
    ...createRegradeActivities(config, labelsFor),
  };
}

export type Activities = ReturnType<typeof createActivities>;

// Activities by the role a workflow calls them in; each role has its own timeouts and retries
// (workflows/activityOptions.ts), so a workflow's proxy for one role cannot call another's.

/** Container lifecycle and the work done in containers outside an agent's steps. */
export type SandboxActivities = Pick<
  Activities,
  | 'prepareImage'
  | 'startSandbox'
  | 'removeSandbox'
  | 'removeRunContainers'
  | 'runSolution'
  | 'evaluateContainer'
  | 'evaluatePatch'
  | 'replaySteps'
  | 'replayKeystrokes'
  | 'collectPatch'
  | 'evaluateRollout'
  | 'regradeRollout'
>;
/** An agent's command, or the terminal agent's keystrokes, run in its container. */
export type ExecActivities = Pick<Activities, 'execStep' | 'keystrokeStep' | 'startTerminal'>;
/** Calls to the model API: retried as rate limits and overloads ask. */
export type ModelActivities = Pick<
  Activities,
  'modelTurn' | 'summarize' | 'judgeVote' | 'submitBatch' | 'pollBatch' | 'cancelBatch' | 'collectBatch'
>;
/** Reads and writes of the run folder: records, outcomes, reports. */
export type RecordActivities = Pick<
  Activities,
  | 'initRollout'
  | 'finishRollout'
  | 'finishedRollouts'
  | 'recordVerdict'
  | 'writeValidationReport'
  | 'recordTaskScaling'
  | 'recordBracket'
  | 'bracketCost'
  | 'budgetSpent'
  | 'loadTaskOutcome'
  | 'recordSelection'
  | 'writeSelectReport'
  | 'writeRunReport'
  | 'startScheduledRun'
  | 'compareWithPrevious'
  | 'regradePlan'
  | 'recordRegradeError'
  | 'writeRegradeReport'
>;

type Roles = SandboxActivities & ExecActivities & ModelActivities & RecordActivities;
/** Compiles only while every activity has a role above. */
export const everyActivityHasARole: [Exclude<keyof Activities, keyof Roles>] extends [never] ? true : never = true;
