// The cap on model calls in flight across one worker (worker.maxModelCallsInFlight), so a run's
// bursts (the first tournament round alone is 64 judge calls per task) stay under a provider's
// concurrency and rate limits. A call waits for a slot inside its activity, which heartbeats
// meanwhile; a cancelled activity leaves the queue without calling.
import { Context } from '@temporalio/activity';
import type { ModelClient } from '../core/model';

export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(readonly size: number) {
    this.free = size;
  }
  get inUse() {
    return this.size - this.free;
  }
  get queued() {
    return this.waiting.length;
  }
  async acquire(signal?: AbortSignal): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const take = () => {
        signal?.removeEventListener('abort', leave);
        resolve();
      };
      const leave = () => {
        const i = this.waiting.indexOf(take);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal?.reason ?? new Error('aborted'));
      };
      if (signal?.aborted) return leave();
      signal?.addEventListener('abort', leave, { once: true });
      this.waiting.push(take);
    });
  }
  release(): void {
    const next = this.waiting.shift();
    if (next)
      next(); // the slot passes straight to the next caller
    else this.free++;
  }
}

function activitySignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined; // not in an activity
  }
}

/** The client with at most `slots.size` calls in flight through it. */
export function limitInFlight(client: ModelClient, slots: Slots): ModelClient {
  return {
    async complete(req, opts = {}) {
      await slots.acquire(opts.signal ?? activitySignal());
      try {
        return await client.complete(req, opts);
      } finally {
        slots.release();
      }
    },
  };
}
