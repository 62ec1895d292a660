// The Message Batches API (Anthropic): many Messages requests in one, answered within 24 hours at
// half the price. Entries are the same request bodies direct calls send (anthropicParams), so a
// batch caches and answers as the direct calls would; results come back as JSONL, matched to
// their requests by custom_id, each `succeeded`, `errored`, `canceled` or `expired`.
import type { ModelConfig } from '../../core/config';
import { costOf, type ModelReply, type ModelRequest } from '../../core/model';
import { anthropicParams, anthropicReply, anthropicSdk } from './anthropic';
import { classifyModelError, ModelError } from './errors';

export interface BatchStatus {
  id: string;
  /** `ended` once every entry has a result (succeeded, errored, canceled or expired). */
  status: 'in_progress' | 'canceling' | 'ended';
  counts: { processing: number; succeeded: number; errored: number; canceled: number; expired: number };
}

/** An entry's outcome: a reply (priced at the batch discount), or why there is none. */
export type BatchEntryResult =
  | { customId: string; type: 'succeeded'; reply: ModelReply }
  | { customId: string; type: 'errored' | 'canceled' | 'expired'; detail?: string };

export interface BatchClient {
  create(entries: { customId: string; request: ModelRequest }[]): Promise<BatchStatus>;
  retrieve(id: string): Promise<BatchStatus>;
  cancel(id: string): Promise<BatchStatus>;
  results(id: string): Promise<BatchEntryResult[]>;
}

/** custom_id must match ^[a-zA-Z0-9_-]{1,64}$. */
export const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;

export function createBatchClient(config: ModelConfig): BatchClient {
  if (config.provider !== 'anthropic')
    throw new ModelError(
      `model.batch: the Message Batches API is Anthropic's; provider ${config.provider} has none`,
      'invalid_request',
    );
  const keyEnv = config.apiKeyEnv ?? 'ANTHROPIC_API_KEY';
  const sdk = anthropicSdk(config);
  const client = () => {
    const key = process.env[keyEnv];
    if (!key) throw new ModelError(`anthropic batches: no API key; set the environment variable ${keyEnv}`, 'auth');
    return sdk(key);
  };
  const where = `anthropic batches (${config.name})`;
  const status = (b: {
    id: string;
    processing_status: BatchStatus['status'];
    request_counts: BatchStatus['counts'];
  }): BatchStatus => ({ id: b.id, status: b.processing_status, counts: b.request_counts });
  const wrap = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      throw classifyModelError(e, where);
    }
  };
  return {
    create: (entries) =>
      wrap(async () => {
        for (const e of entries) if (!CUSTOM_ID.test(e.customId)) throw new Error(`bad custom_id ${e.customId}`);
        const b = await client().messages.batches.create({
          requests: entries.map((e) => ({ custom_id: e.customId, params: anthropicParams(config, e.request) })),
        });
        return status(b);
      }),
    retrieve: (id) => wrap(async () => status(await client().messages.batches.retrieve(id))),
    cancel: (id) => wrap(async () => status(await client().messages.batches.cancel(id))),
    results: (id) =>
      wrap(async () => {
        const out: BatchEntryResult[] = [];
        for await (const r of await client().messages.batches.results(id)) {
          if (r.result.type === 'succeeded') {
            const raw = anthropicReply(r.result.message);
            const usage = { ...raw.usage, batchedCalls: 1 };
            out.push({
              customId: r.custom_id,
              type: 'succeeded',
              reply: {
                ...raw,
                usage,
                costUsd: costOf(usage, config.prices[config.name], { batch: true }),
                latencyMs: 0,
              },
            });
          } else {
            const detail = r.result.type === 'errored' ? JSON.stringify(r.result.error) : undefined;
            out.push({ customId: r.custom_id, type: r.result.type, ...(detail ? { detail } : {}) });
          }
        }
        return out;
      }),
  };
}
