// Model failures onto Temporal's retries: transient ones (429, 529, 5xx, timeouts) retry and
// honour retry-after; fatal ones (bad key, invalid request) stop at once.
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { FAILURE } from '../core/failures';
import { ModelError } from '../runtime/model';

export function modelFailure(e: unknown): unknown {
  if (!(e instanceof ModelError)) return e;
  if (e.retryable) {
    return ApplicationFailure.create({
      message: e.message,
      type: FAILURE.modelUnavailable,
      nonRetryable: false,
      // Routine (the model layer logs each at info): the SDK then logs the failed attempt at
      // debug instead of warning about it.
      category: ApplicationFailureCategory.BENIGN,
      nextRetryDelay: e.retryAfterMs !== undefined ? Math.max(e.retryAfterMs, 100) : undefined,
    });
  }
  return ApplicationFailure.create({ message: e.message, type: FAILURE.modelFatal, nonRetryable: true });
}
