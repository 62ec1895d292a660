// Fail early: before a run starts anything, one free request shows that the model API answers,
// that it takes the configured key, and that it knows the model: Anthropic's
// `GET /v1/models/{model}` (no tokens billed), or an OpenAI-compatible server's `GET /v1/models`.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { ModelConfig } from '../core/config';
import { classifyModelError, withMessage } from './model/errors';

/** Undefined when the model answers; else one line saying what is wrong and what to do. */
export async function checkModel(config: ModelConfig): Promise<string | undefined> {
  const where = `${config.provider} model ${config.name}`;
  const keyEnv = config.apiKeyEnv ?? (config.provider === 'openai' ? 'OPENAI_API_KEY' : 'ANTHROPIC_API_KEY');
  const key = process.env[keyEnv] || undefined;
  // Local OpenAI-compatible servers usually take no key (runtime/model/openai.ts sends 'none').
  if (!key && config.provider !== 'openai') return `${where}: no API key: set the environment variable ${keyEnv}`;
  const timeout = Math.min(config.timeoutSec, 30) * 1000;
  try {
    if (config.provider === 'openai') {
      const sdk = new OpenAI({ apiKey: key ?? 'none', baseURL: config.baseUrl, maxRetries: 1, timeout });
      let ids: string[];
      try {
        ids = [];
        for await (const m of sdk.models.list()) ids.push(m.id);
      } catch (e) {
        // Some compatible servers have no models endpoint: the key is then checked by the first call.
        if (e instanceof OpenAI.NotFoundError) return undefined;
        throw e;
      }
      if (ids.length && !ids.includes(config.name))
        return `${where}: the server does not serve this model; it lists ${ids.slice(0, 8).join(', ')}${ids.length > 8 ? ', …' : ''} (model.name)`;
      return undefined;
    }
    const sdk = new Anthropic({ apiKey: key, baseURL: config.baseUrl, maxRetries: 1, timeout });
    await sdk.models.retrieve(config.name);
    return undefined;
  } catch (e) {
    let err = classifyModelError(e, where);
    if (err.kind === 'auth') err = withMessage(err, `${err.message} (the key is read from ${keyEnv})`);
    else if (err.status === 404) err = withMessage(err, `${err.message} (is model.name right?)`);
    // Servers may echo what they were sent; the key never travels on in a message.
    const line = key && key.length >= 8 ? err.message.split(key).join('[redacted]') : err.message;
    return line.split('\n')[0];
  }
}
