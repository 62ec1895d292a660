// Model clients: the provider adapters behind core/model.ts. A ModelRequest goes in, a ModelReply
// (text, normalised stop reason, usage, cost, request id, latency) comes out, and every failure
// leaves as a ModelError whose kind says what the caller should do about it.
//
// The SDKs never retry (maxRetries 0): retries belong to the caller (Temporal activity retries),
// where they are durable and visible in the workflow's history. A rate limit's retry-after is
// handed up as ModelError.retryAfterMs for the caller to wait out.
//
// Keys are read from the environment at call time, by the variable the config names; they never
// appear in config, messages, logs or anything a workflow carries.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { ModelConfig } from '../core/config';
import {
  costOf,
  RETRYABLE_MODEL_ERRORS,
  type ModelErrorKind,
  type ModelReply,
  type ModelRequest,
  type Usage,
} from '../core/model';
import { log } from './log';

export interface ModelClient {
  complete(req: ModelRequest, opts?: { signal?: AbortSignal }): Promise<ModelReply>;
}

export class ModelError extends Error {
  override name = 'ModelError';
  kind: ModelErrorKind;
  status?: number;
  /** How long the server asked us to wait before retrying (retry-after-ms or retry-after). */
  retryAfterMs?: number;
  requestId?: string;

  constructor(
    message: string,
    kind: ModelErrorKind,
    details: { status?: number; retryAfterMs?: number; requestId?: string } = {},
  ) {
    super(message);
    this.kind = kind;
    if (details.status !== undefined) this.status = details.status;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.requestId !== undefined) this.requestId = details.requestId;
  }

  get retryable(): boolean {
    return RETRYABLE_MODEL_ERRORS.has(this.kind);
  }
}

/** Provider replies before cost and latency are added. */
type RawReply = Omit<ModelReply, 'costUsd' | 'latencyMs'>;

interface Adapter {
  /** The environment variable holding the key. */
  keyEnv: string;
  /** The key, or undefined when the provider cannot work without one and it is missing. */
  key(): string | undefined;
  call(key: string, req: ModelRequest, signal: AbortSignal | undefined): Promise<RawReply>;
}

export function createModelClient(config: ModelConfig): ModelClient {
  const adapter = config.provider === 'openai' ? openaiAdapter(config) : anthropicAdapter(config);
  const where = `${config.provider} model ${config.name}`;
  return {
    async complete(req, opts = {}) {
      const started = performance.now();
      const key = adapter.key();
      try {
        if (key === undefined) {
          throw new ModelError(`${where}: no API key; set the environment variable ${adapter.keyEnv}`, 'auth');
        }
        const raw = await adapter.call(key, req, opts.signal);
        const reply: ModelReply = {
          ...raw,
          costUsd: costOf(raw.usage, config.prices[config.name]),
          latencyMs: Math.round(performance.now() - started),
        };
        log.debug(
          {
            provider: config.provider,
            model: reply.model,
            requestId: reply.requestId,
            stopReason: reply.stopReason,
            usage: reply.usage,
            costUsd: reply.costUsd,
            latencyMs: reply.latencyMs,
          },
          'model reply',
        );
        return reply;
      } catch (e) {
        let err = classifyModelError(e, where);
        // A caller's AbortSignal.timeout() is a timeout, not a cancellation.
        const aborted = opts.signal?.aborted === true;
        if (aborted && (opts.signal?.reason as { name?: string } | undefined)?.name === 'TimeoutError') {
          err = withMessage(err, `${where}: ${DESCRIPTIONS.timeout}: no reply before the caller's deadline`, 'timeout');
        } else if (err.kind === 'timeout' && err.status === undefined) {
          err = withMessage(
            err,
            `${where}: ${DESCRIPTIONS.timeout}: no reply within ${config.timeoutSec} s (model.timeoutSec)`,
          );
        }
        if (err.kind === 'auth' && !err.message.includes(adapter.keyEnv)) {
          err = withMessage(err, `${err.message} (the key is read from the environment variable ${adapter.keyEnv})`);
        }
        // Servers may echo what they were sent; the key must not travel on in an error. (Keys too
        // short to be real ones are left alone: replacing every "k" would only garble the message.)
        if (key && key.length >= 8 && err.message.includes(key))
          err = withMessage(err, err.message.split(key).join('[redacted]'));
        // A cancelled call is the caller's doing, a retryable one routine; the rest need attention.
        const level = aborted ? 'debug' : err.retryable ? 'info' : 'warn';
        log[level](
          {
            provider: config.provider,
            model: config.name,
            kind: err.kind,
            status: err.status,
            requestId: err.requestId,
            retryAfterMs: err.retryAfterMs,
            latencyMs: Math.round(performance.now() - started),
          },
          err.message,
        );
        throw err;
      }
    },
  };
}

function anthropicAdapter(config: ModelConfig): Adapter {
  const keyEnv = config.apiKeyEnv ?? 'ANTHROPIC_API_KEY';
  const sdk = memoByKey(
    (apiKey) => new Anthropic({ apiKey, baseURL: config.baseUrl, maxRetries: 0, timeout: config.timeoutSec * 1000 }),
  );
  return {
    keyEnv,
    key: () => process.env[keyEnv] || undefined,
    async call(key, req, signal) {
      const msg = await sdk(key).messages.create(
        {
          model: config.name,
          max_tokens: config.maxTokens,
          // No temperature: API version 2026-10-21 (what this SDK sends) rejects temperature, top_p
          // and top_k with a 400, even at default values. config.temperature is for 'openai' only.
          // The API rejects an empty system text block; no system prompt means no field.
          ...(req.system ? { system: req.system } : {}),
          messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
        },
        { signal },
      );
      const usage: Usage = {
        inputTokens: msg.usage.input_tokens ?? 0,
        outputTokens: msg.usage.output_tokens ?? 0,
        cacheReadTokens: msg.usage.cache_read_input_tokens ?? 0,
        cacheWriteTokens: msg.usage.cache_creation_input_tokens ?? 0,
      };
      return {
        text: msg.content.map((b) => (b.type === 'text' ? b.text : '')).join(''),
        stopReason: anthropicStopReason(msg.stop_reason),
        usage,
        model: msg.model,
        requestId: msg._request_id ?? undefined,
      };
    },
  };
}

function anthropicStopReason(reason: string | null): ModelReply['stopReason'] {
  switch (reason) {
    case 'end_turn':
    case 'max_tokens':
    case 'stop_sequence':
    case 'tool_use':
      return reason;
    // The reply was cut because the context filled up: to the caller, the same as max_tokens.
    case 'model_context_window_exceeded':
      return 'max_tokens';
    default:
      return 'other';
  }
}

/**
 * OpenAI-compatible servers (vLLM, Ollama, llama.cpp's server, OpenAI itself). Local servers
 * usually need no key, so a missing key is sent as the placeholder 'none' (the SDK insists on
 * one) and a server that does check answers 401, which becomes an 'auth' ModelError.
 */
function openaiAdapter(config: ModelConfig): Adapter {
  const keyEnv = config.apiKeyEnv ?? 'OPENAI_API_KEY';
  const sdk = memoByKey(
    (apiKey) => new OpenAI({ apiKey, baseURL: config.baseUrl, maxRetries: 0, timeout: config.timeoutSec * 1000 }),
  );
  return {
    keyEnv,
    key: () => process.env[keyEnv] || 'none',
    async call(key, req, signal) {
      const completion = await sdk(key).chat.completions.create(
        {
          model: config.name,
          // max_tokens rather than max_completion_tokens: the one every compatible server reads.
          max_tokens: config.maxTokens,
          temperature: config.temperature,
          messages: [
            ...(req.system ? [{ role: 'system' as const, content: req.system }] : []),
            ...req.messages.map((m) => ({ role: m.role, content: m.content })),
          ],
        },
        { signal },
      );
      const choice = completion.choices[0];
      if (!choice) throw new ModelError(`${config.provider} model ${config.name}: the reply has no choices`, 'other');
      const cached = completion.usage?.prompt_tokens_details?.cached_tokens ?? 0;
      const usage: Usage = {
        // prompt_tokens includes cached tokens; Anthropic's input_tokens does not. Subtracting keeps
        // one meaning for inputTokens, so costOf never charges a cache hit twice.
        inputTokens: Math.max(0, (completion.usage?.prompt_tokens ?? 0) - cached),
        outputTokens: completion.usage?.completion_tokens ?? 0,
        cacheReadTokens: cached,
        cacheWriteTokens: 0,
      };
      return {
        text: choice.message.content ?? '',
        stopReason: openaiStopReason(choice.finish_reason),
        usage,
        model: completion.model,
        requestId: completion._request_id ?? undefined,
      };
    },
  };
}

function openaiStopReason(reason: string | null | undefined): ModelReply['stopReason'] {
  switch (reason) {
    case 'stop':
      return 'end_turn';
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    default:
      return 'other';
  }
}

/** One SDK client per key: the key is read per call, so a changed variable takes effect. */
function memoByKey<T>(make: (key: string) => T): (key: string) => T {
  let last: { key: string; value: T } | undefined;
  return (key) => {
    if (last?.key !== key) last = { key, value: make(key) };
    return last.value;
  };
}

// ---- errors -----------------------------------------------------------------------------------

const DESCRIPTIONS: Record<ModelErrorKind, string> = {
  rate_limit: 'rate limited',
  overloaded: 'the API is overloaded',
  server: 'server error',
  timeout: 'timed out',
  connection: 'could not connect',
  auth: 'authentication failed',
  invalid_request: 'invalid request',
  other: 'request failed',
};

export function kindOfStatus(status: number): ModelErrorKind {
  if (status === 429) return 'rate_limit';
  if (status === 529) return 'overloaded';
  if (status === 408) return 'timeout';
  if (status === 401 || status === 403) return 'auth';
  if (status === 400 || status === 404 || status === 413 || status === 422) return 'invalid_request';
  if (status >= 500) return 'server';
  return 'other';
}

/**
 * The server's requested wait: `retry-after-ms` (Anthropic and OpenAI send it), else `retry-after`
 * in seconds or as an HTTP date. Undefined when absent or unreadable.
 */
export function parseRetryAfter(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = Number(headers?.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const value = headers?.get('retry-after')?.trim();
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Maps anything either SDK throws to a ModelError. `where` (e.g. "anthropic model claude-…")
 * starts the message. Messages carry the server's explanation, never request headers.
 */
export function classifyModelError(e: unknown, where = 'model API'): ModelError {
  if (e instanceof ModelError) return e;
  const name = (e as { name?: string } | null)?.name;
  if (e instanceof Anthropic.APIUserAbortError || e instanceof OpenAI.APIUserAbortError || name === 'AbortError') {
    return new ModelError(`${where}: the request was aborted`, 'other');
  }
  if (
    e instanceof Anthropic.APIConnectionTimeoutError ||
    e instanceof OpenAI.APIConnectionTimeoutError ||
    name === 'TimeoutError'
  ) {
    return new ModelError(`${where}: ${DESCRIPTIONS.timeout}: no reply within the client timeout`, 'timeout');
  }
  if (e instanceof Anthropic.APIConnectionError || e instanceof OpenAI.APIConnectionError) {
    return new ModelError(`${where}: ${DESCRIPTIONS.connection}: ${causeChain(e)}`, 'connection');
  }
  if ((e instanceof Anthropic.APIError || e instanceof OpenAI.APIError) && e.status !== undefined) {
    const kind = kindOfStatus(e.status);
    const retryAfterMs = parseRetryAfter(e.headers);
    const requestId = e.requestID ?? undefined;
    const { type, message } = errorBody(e);
    const text =
      `${where}: ${DESCRIPTIONS[kind]} (HTTP ${e.status}${type ? ` ${type}` : ''}): ${message}` +
      (retryAfterMs !== undefined ? `; retry after ${retryAfterMs} ms` : '') +
      (requestId ? ` [request ${requestId}]` : '');
    return new ModelError(text, kind, { status: e.status, retryAfterMs, requestId });
  }
  const code = (e as { code?: string } | null)?.code;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ENOTFOUND') {
    return new ModelError(`${where}: ${DESCRIPTIONS.connection}: ${causeChain(e)}`, 'connection');
  }
  return new ModelError(`${where}: ${DESCRIPTIONS.other}: ${e instanceof Error ? e.message : String(e)}`, 'other');
}

/** The explanation in an error body: Anthropic's {type:'error', error:{type, message}} or OpenAI's {error:{message, type, code}}. */
function errorBody(e: InstanceType<typeof Anthropic.APIError> | InstanceType<typeof OpenAI.APIError>): {
  type?: string;
  message: string;
} {
  const body = e.error as { error?: { type?: string; message?: string }; type?: string; message?: string } | undefined;
  const inner = body?.error ?? body;
  const type = typeof inner?.type === 'string' && inner.type !== 'error' ? inner.type : undefined;
  const message = typeof inner?.message === 'string' && inner.message ? inner.message : e.message;
  return { type, message };
}

/** "fetch failed: connect ECONNREFUSED 127.0.0.1:9": what went wrong, down the cause chain. */
function causeChain(e: unknown): string {
  const parts: string[] = [];
  for (let cur: unknown = e, depth = 0; cur instanceof Error && depth < 4; cur = cur.cause, depth++) {
    const message = cur.message.replace(/\.$/, '');
    if (message && !parts.includes(message)) parts.push(message);
  }
  return parts.join(': ') || String(e);
}

function withMessage(err: ModelError, message: string, kind: ModelErrorKind = err.kind): ModelError {
  return new ModelError(message, kind, {
    status: err.status,
    retryAfterMs: err.retryAfterMs,
    requestId: err.requestId,
  });
}
