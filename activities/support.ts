// What every activity needs: heartbeats while it works, and failures sorted by kind so the
// workflow and Temporal's retry policy can tell "try again" from "this will never work".
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE } from '../core/failures';
import { DatasetError } from '../core/task';
import { ImageError } from '../runtime/images';
import { SandboxGoneError, SandboxUnusableError } from '../runtime/sandbox';

function inActivity(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called directly (tests, CLI), not as an activity
  }
}

/**
 * Runs fn, heartbeating every few seconds so a dead worker is noticed within the heartbeat
 * timeout, and gives up as soon as the activity is cancelled (workflow cancelled, worker
 * shutting down): whatever fn still runs is in a container that its owner removes.
 */
export async function withHeartbeat<T>(fn: () => Promise<T>, details?: () => unknown): Promise<T> {
  const ctx = inActivity();
  if (!ctx) return fn();
  // The first beat comes after 3 s, not at once: most steps end sooner, and every beat is a write
  // on the server.
  const timer = setInterval(() => ctx.heartbeat(details?.()), 3000);
  try {
    return await Promise.race([fn(), ctx.cancelled]);
  } finally {
    clearInterval(timer);
  }
}

/** The activity's retry attempt (1 on the first try). */
export const activityAttempt = () => inActivity()?.info.attempt ?? 1;

/** A step that cannot be repeated safely was cut off (its worker died): the attempt restarts. */
export class InterruptedStepError extends Error {
  override name = 'InterruptedStepError';
}

/** Converts known errors into non-retryable failures of a named type; others retry. */
export function classify(e: unknown): unknown {
  if (e instanceof SandboxGoneError || e instanceof InterruptedStepError)
    return ApplicationFailure.create({ message: e.message, type: FAILURE.sandboxLost, nonRetryable: true });
  if (e instanceof SandboxUnusableError)
    return ApplicationFailure.create({ message: e.message, type: FAILURE.sandboxUnusable, nonRetryable: true });
  if (e instanceof ImageError || e instanceof DatasetError) {
    return ApplicationFailure.create({ message: e.message, type: FAILURE.invalidTask, nonRetryable: true });
  }
  return e;
}

export async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw classify(e);
  }
}
