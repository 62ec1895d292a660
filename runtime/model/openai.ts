// OpenAI-compatible chat completions through the openai SDK.
import OpenAI from 'openai';
import type { ModelConfig } from '../../core/config';
import type { ModelReply, Usage } from '../../core/model';
import { memoByKey, type Adapter } from './adapter';
import { ModelError } from './errors';

/**
 * OpenAI-compatible servers (vLLM, Ollama, llama.cpp's server, OpenAI itself). Local servers
 * usually need no key, so a missing key is sent as the placeholder 'none' (the SDK insists on
 * one) and a server that does check answers 401, which becomes an 'auth' ModelError.
 */
export function openaiAdapter(config: ModelConfig): Adapter {
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
          ...(req.sampling ? { temperature: req.sampling.temperature } : {}),
          ...(req.sampling?.topP !== undefined ? { top_p: req.sampling.topP } : {}),
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
