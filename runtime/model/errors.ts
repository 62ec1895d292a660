// Model API failures, sorted by what the caller should do about them: every error either SDK
// throws leaves as a ModelError whose kind says retry (with the server's retry-after) or stop.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { RETRYABLE_MODEL_ERRORS, type ModelErrorKind } from '../../core/model';

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

export const DESCRIPTIONS: Record<ModelErrorKind, string> = {
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

export function withMessage(err: ModelError, message: string, kind: ModelErrorKind = err.kind): ModelError {
  return new ModelError(message, kind, {
    status: err.status,
    retryAfterMs: err.retryAfterMs,
    requestId: err.requestId,
  });
}
