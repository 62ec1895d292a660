// The Anthropic Messages API through @anthropic-ai/sdk.
import Anthropic from '@anthropic-ai/sdk';
import type { ModelConfig } from '../../core/config';
import type { ModelReply, Usage } from '../../core/model';
import { memoByKey, type Adapter } from './adapter';

export function anthropicAdapter(config: ModelConfig): Adapter {
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
          // No req.sampling: API version 2026-10-21 (what this SDK sends) rejects temperature,
          // top_p and top_k with a 400, even at default values (core/model.ts SAMPLING_ACCEPTED;
          // run.json records that they were not sent).
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
