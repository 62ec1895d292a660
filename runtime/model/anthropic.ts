// The Anthropic Messages API through @anthropic-ai/sdk.
import Anthropic from '@anthropic-ai/sdk';
import { textBlocks } from '../../core/cache';
import type { ModelConfig } from '../../core/config';
import type { ModelReply, ModelRequest, Usage } from '../../core/model';
import { memoByKey, type Adapter, type RawReply } from './adapter';

type Params = Anthropic.MessageCreateParamsNonStreaming;

/**
 * The request body of one call, shared by direct calls and batch entries so that both send (and
 * cache) exactly the same prefix. With caching on (model.cache), the messages' cache offsets
 * become text blocks marked with cache_control at the configured lifetime; the text is unchanged.
 */
export function anthropicParams(config: ModelConfig, req: ModelRequest): Params {
  const cache = config.cache.enabled;
  const control =
    (req.cacheTtl ?? config.cache.ttl) === '1h'
      ? { type: 'ephemeral' as const, ttl: '1h' as const }
      : { type: 'ephemeral' as const };
  const messages = cache
    ? textBlocks(req.messages).map(({ role, blocks }) =>
        blocks.length === 1 && !blocks[0]!.cache
          ? { role, content: blocks[0]!.text }
          : {
              role,
              content: blocks.map((b) => ({
                type: 'text' as const,
                text: b.text,
                ...(b.cache ? { cache_control: control } : {}),
              })),
            },
      )
    : req.messages.map((m) => ({ role: m.role, content: m.content }));
  return {
    model: config.name,
    max_tokens: config.maxTokens,
    // No req.sampling: API version 2026-10-21 (what this SDK sends) rejects temperature,
    // top_p and top_k with a 400, even at default values (core/model.ts SAMPLING_ACCEPTED;
    // run.json records that they were not sent).
    // The API rejects an empty system text block; no system prompt means no field.
    ...(req.system ? { system: req.system } : {}),
    messages,
  };
}

/** What a Messages API reply (direct or a batch entry's) means to the rest of the system. */
export function anthropicReply(msg: Anthropic.Message, requestId?: string): RawReply {
  const u = msg.usage;
  const usage: Usage = {
    inputTokens: u.input_tokens ?? 0,
    outputTokens: u.output_tokens ?? 0,
    cacheReadTokens: u.cache_read_input_tokens ?? 0,
    cacheWriteTokens: u.cache_creation_input_tokens ?? 0,
    // The 1-hour part is priced at 2x input, the 5-minute part at 1.25x.
    ...(u.cache_creation?.ephemeral_1h_input_tokens
      ? { cacheWrite1hTokens: u.cache_creation.ephemeral_1h_input_tokens }
      : {}),
  };
  return {
    text: msg.content.map((b) => (b.type === 'text' ? b.text : '')).join(''),
    stopReason: anthropicStopReason(msg.stop_reason),
    usage,
    model: msg.model,
    requestId,
  };
}

export function anthropicSdk(config: ModelConfig) {
  return memoByKey(
    (apiKey) => new Anthropic({ apiKey, baseURL: config.baseUrl, maxRetries: 0, timeout: config.timeoutSec * 1000 }),
  );
}

export function anthropicAdapter(config: ModelConfig): Adapter {
  const keyEnv = config.apiKeyEnv ?? 'ANTHROPIC_API_KEY';
  const sdk = anthropicSdk(config);
  return {
    keyEnv,
    key: () => process.env[keyEnv] || undefined,
    async call(key, req, signal) {
      const msg = await sdk(key).messages.create(anthropicParams(config, req), { signal });
      return anthropicReply(msg, msg._request_id ?? undefined);
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
