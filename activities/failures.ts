// Errors onto Temporal failures, in one place: what retrying can fix retries (with the server's
// retry-after for model calls); what it cannot (a lost container, a bad task, a refused model
// request) fails at once with a named type that workflows branch on.
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { FAILURE } from '../core/failures';
import { DatasetError } from '../core/task';
import { ImageError } from '../runtime/images';
import { ModelError } from '../runtime/model/errors';
import { SandboxGoneError, SandboxUnusableError } from '../runtime/sandbox';

/** A step that cannot be repeated safely was cut off (its worker died): the attempt restarts. */
export class InterruptedStepError extends Error {
  override name = 'InterruptedStepError';
}

export function toFailure(e: unknown): unknown {
  if (e instanceof SandboxGoneError || e instanceof InterruptedStepError) {
    return ApplicationFailure.create({ message: e.message, type: FAILURE.sandboxLost, nonRetryable: true });
  }
  if (e instanceof SandboxUnusableError) {
    return ApplicationFailure.create({ message: e.message, type: FAILURE.sandboxUnusable, nonRetryable: true });
  }
  if (e instanceof ImageError || e instanceof DatasetError) {
    return ApplicationFailure.create({ message: e.message, type: FAILURE.invalidTask, nonRetryable: true });
  }
  if (e instanceof ModelError) {
    if (!e.retryable) {
      return ApplicationFailure.create({ message: e.message, type: FAILURE.modelFatal, nonRetryable: true });
    }
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
  return e;
}

/** Runs fn with its errors mapped by toFailure. */
export async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toFailure(e);
  }
}
