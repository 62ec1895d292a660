// Activity options by role, in one place. Workflows make one proxy per role they use, typed by
// the role's activities (activities/index.ts), so each call gets the timeouts and retries its kind
// of work needs: a model call waits out rate limits, a command gets its own timeout, a container
// step gives up on a lost container at once, a record write retries briefly.
import type { ActivityOptions } from '@temporalio/workflow';
import { FAILURE } from '../core/failures';
import type { ModelRetry } from '../core/settings';

/** Reads and writes of the run folder: short, idempotent, retried a few times. */
export const recordOptions: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
};

/**
 * Builds, container starts and removals, evaluations. Calls that take longer (an image build,
 * the hidden tests) set their own start-to-close timeout. A lost container is not retried here:
 * the workflow restarts the attempt in a fresh one.
 */
export const sandboxOptions: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [FAILURE.sandboxLost],
  },
};

/** An agent's command: its own timeout plus room for the round trip. */
export const execOptions = (commandTimeoutSec: number): ActivityOptions => ({
  ...sandboxOptions,
  startToCloseTimeout: `${commandTimeoutSec + 120} seconds`,
});

/** Model calls: rate limits and overloads are retried with backoff (at least the server's retry-after). */
export const modelOptions = (retry: ModelRetry): ActivityOptions => ({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: `${retry.initialIntervalSec} seconds`,
    maximumInterval: `${retry.maxIntervalSec} seconds`,
    backoffCoefficient: 2,
    maximumAttempts: retry.maxAttempts,
    nonRetryableErrorTypes: [FAILURE.modelFatal],
  },
});
