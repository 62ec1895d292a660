// Model clients: the provider backends (one file each) behind core/model.ts. A ModelRequest goes in, a ModelReply
// (text, normalised stop reason, usage, cost, request id, latency) comes out, and every failure
// leaves as a ModelError whose kind says what the caller should do about it.
//
// The SDKs never retry (maxRetries 0): retries belong to the caller (Temporal activity retries),
// where they are durable and visible in the workflow's history. A rate limit's retry-after is
// handed up as ModelError.retryAfterMs for the caller to wait out.
//
// Keys are read from the environment at call time, by the variable the config names; they never
// appear in config, messages, logs or anything a workflow carries.
import type { ModelConfig } from '../../core/config';
import { costOf, type ModelClient, type ModelReply } from '../../core/model';
import { log } from '../log';
import { anthropicAdapter } from './anthropic';
import { classifyModelError, DESCRIPTIONS, ModelError, withMessage } from './errors';
import { openaiAdapter } from './openai';

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
