// What a provider backend implements: one call to its API, with the key handed in per call.
import type { ModelReply, ModelRequest } from '../../core/model';

/** Provider replies before cost and latency are added. */
export type RawReply = Omit<ModelReply, 'costUsd' | 'latencyMs'>;

export interface Adapter {
  /** The environment variable holding the key. */
  keyEnv: string;
  /** The key, or undefined when the provider cannot work without one and it is missing. */
  key(): string | undefined;
  call(key: string, req: ModelRequest, signal: AbortSignal | undefined): Promise<RawReply>;
}

/** One SDK client per key: the key is read per call, so a changed variable takes effect. */
export function memoByKey<T>(make: (key: string) => T): (key: string) => T {
  let last: { key: string; value: T } | undefined;
  return (key) => {
    if (last?.key !== key) last = { key, value: make(key) };
    return last.value;
  };
}
