// What the rest of the system knows about a language model: a conversation in, a reply with its
// usage and cost out. Providers are adapters behind this (runtime/model.ts).
import type { ModelConfig, Prices, Sampling } from './config';

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
  /**
   * Prompt caching: offsets into `content` where a cacheable prefix ends (content.length: the
   * whole message). Providers with explicit breakpoints (Anthropic) split the message into text
   * blocks there and mark each; the text the model reads is unchanged. See core/cache.ts.
   */
  cacheAt?: number[];
}

/** Who is asking: each role has its own sampling (config model.sampling). */
export const MODEL_ROLES = ['agent', 'summariser', 'judge'] as const;
export type ModelRole = (typeof MODEL_ROLES)[number];

export interface ModelRequest {
  system: string;
  messages: ChatMessage[];
  /** The role's sampling; a provider whose API refuses these leaves them out (SAMPLING_ACCEPTED). */
  sampling?: Sampling;
  /** Cache lifetime of this request's breakpoints; model.cache.ttl when absent (core/cache.ts). */
  cacheTtl?: '5m' | '1h';
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
  /** Input read at the full price (Anthropic's input_tokens: after the last cache breakpoint). */
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  /** Every token written to the cache, at either lifetime. */
  cacheWriteTokens: number;
  /** The part of cacheWriteTokens written with the 1-hour lifetime (priced at 2x input, not 1.25x). */
  cacheWrite1hTokens?: number;
  /** Calls made through the Message Batches API (their tokens are priced at half). */
  batchedCalls?: number;
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

export const addUsage = (a: Usage, b: Usage | undefined): Usage => {
  if (!b) return a;
  const sum: Usage = {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
  };
  // The optional counts appear only where some call had them, so sums of older records keep their shape.
  const w1h = (a.cacheWrite1hTokens ?? 0) + (b.cacheWrite1hTokens ?? 0);
  if (w1h || a.cacheWrite1hTokens !== undefined || b.cacheWrite1hTokens !== undefined) sum.cacheWrite1hTokens = w1h;
  const batched = (a.batchedCalls ?? 0) + (b.batchedCalls ?? 0);
  if (batched) sum.batchedCalls = batched;
  return sum;
};

/** Sums costs where unknown (null) is contagious: a total with an unknown part is unknown. */
export const addCost = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a + b);

/** The Message Batches API bills every token kind at half the price of the same call made directly. */
export const BATCH_DISCOUNT = 0.5;

/**
 * Dollars for one call's usage. A cache price the table lacks is the API's documented multiple of
 * the input price (read 0.1x, 5-minute write 1.25x, 1-hour write 2x), never the input price: a
 * table that names only input and output still prices cache tokens as they are billed.
 */
export function costOf(usage: Usage, prices: Prices | undefined, opts: { batch?: boolean } = {}): number | null {
  if (!prices) return null;
  const perToken = (perMTok: number) => perMTok / 1_000_000;
  const input = prices.inputPerMTok;
  const write1h = Math.min(usage.cacheWrite1hTokens ?? 0, usage.cacheWriteTokens);
  const full =
    usage.inputTokens * perToken(input) +
    usage.outputTokens * perToken(prices.outputPerMTok) +
    usage.cacheReadTokens * perToken(prices.cacheReadPerMTok ?? input * 0.1) +
    (usage.cacheWriteTokens - write1h) * perToken(prices.cacheWritePerMTok ?? input * 1.25) +
    write1h * perToken(prices.cacheWrite1hPerMTok ?? input * 2);
  return opts.batch ? full * BATCH_DISCOUNT : full;
}
