// What the rest of the system knows about a language model: a conversation in, a reply with its
// usage and cost out. Providers are adapters behind this (runtime/model.ts).
import type { ModelConfig, Prices, Sampling } from './config';

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

/** Who is asking: each role has its own sampling (config model.sampling). */
export const MODEL_ROLES = ['agent', 'summariser', 'judge'] as const;
export type ModelRole = (typeof MODEL_ROLES)[number];

export interface ModelRequest {
  system: string;
  messages: ChatMessage[];
  /** The role's sampling; a provider whose API refuses these leaves them out (SAMPLING_ACCEPTED). */
  sampling?: Sampling;
}

/**
 * Whether a provider's API takes temperature and top_p. Anthropic's does not: @anthropic-ai/sdk
 * 1.x sends `anthropic-version: 2026-10-21`, which removed temperature, top_p and top_k from the
 * Messages API (a 400 "Extra inputs are not permitted", even at their default values; the SDK's
 * MessageCreateParams no longer has them), so Claude samples at its fixed default of 1.
 */
export const SAMPLING_ACCEPTED: Record<ModelConfig['provider'], { sent: boolean; why?: string }> = {
  anthropic: {
    sent: false,
    why: 'Messages API version 2026-10-21 (sent by @anthropic-ai/sdk 1.x) rejects temperature and top_p; the model samples at its default (temperature 1)',
  },
  openai: { sent: true },
};

/** A language model as agent, summariser and judge see it; providers implement it (runtime/model/). */
export interface ModelClient {
  complete(req: ModelRequest, opts?: { signal?: AbortSignal }): Promise<ModelReply>;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export interface ModelReply {
  text: string;
  /** The provider's stop reason, normalised: end_turn, max_tokens, stop_sequence, tool_use, other. */
  stopReason: 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'other';
  usage: Usage;
  /** Dollars; null when the model has no price in config (never a guess). */
  costUsd: number | null;
  model: string;
  requestId?: string;
  latencyMs: number;
}

/** Kinds of failure, by what the caller should do about them. */
export type ModelErrorKind =
  | 'rate_limit' // 429: retry after the server's retry-after
  | 'overloaded' // 529: retry with backoff
  | 'server' // 5xx: retry with backoff
  | 'timeout' // no answer in time: retry
  | 'connection' // could not reach the endpoint: retry
  | 'auth' // 401/403: a bad or missing key; fail fast
  | 'invalid_request' // 400/404/413/422: fail fast, retrying cannot help
  | 'other';

export const RETRYABLE_MODEL_ERRORS: ReadonlySet<ModelErrorKind> = new Set([
  'rate_limit',
  'overloaded',
  'server',
  'timeout',
  'connection',
]);

export const emptyUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 });

export const addUsage = (a: Usage, b: Usage | undefined): Usage =>
  b
    ? {
        inputTokens: a.inputTokens + b.inputTokens,
        outputTokens: a.outputTokens + b.outputTokens,
        cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
        cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
      }
    : a;

/** Sums costs where unknown (null) is contagious: a total with an unknown part is unknown. */
export const addCost = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a + b);

export function costOf(usage: Usage, prices: Prices | undefined): number | null {
  if (!prices) return null;
  const perToken = (perMTok: number | undefined, fallback: number) => (perMTok ?? fallback) / 1_000_000;
  return (
    usage.inputTokens * perToken(prices.inputPerMTok, 0) +
    usage.outputTokens * perToken(prices.outputPerMTok, 0) +
    usage.cacheReadTokens * perToken(prices.cacheReadPerMTok, prices.inputPerMTok) +
    usage.cacheWriteTokens * perToken(prices.cacheWritePerMTok, prices.inputPerMTok)
  );
}
