// Heartbeats while an activity works, so a dead worker is noticed within the heartbeat timeout,
// and cancellation, so a cancelled run or a stopping worker does not wait for a step to finish.
import { Context } from '@temporalio/activity';

function inActivity(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called directly (tests, CLI), not as an activity
  }
}

/**
 * Runs fn, heartbeating every few seconds, and gives up as soon as the activity is cancelled
 * (workflow cancelled, worker shutting down): whatever fn still runs is in a container that its
 * owner removes.
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
