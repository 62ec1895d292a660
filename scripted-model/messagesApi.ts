// TEST DOUBLE of the model APIs: a local HTTP server speaking Anthropic's Messages API
// (`POST /v1/messages`) and the OpenAI-compatible Chat Completions API (`POST /v1/chat/completions`),
// non-streaming. These machines cannot reach a real model API, so tests point the real SDKs at this
// server. It validates requests and shapes replies and errors the way the real APIs document them,
// so that code passing against it behaves the same with a real key. Replies are scripted per test.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPromptCache, type CacheUsage, type PromptCache } from './promptCache';

export type DoubleProvider = 'anthropic' | 'openai';

/** What a scripted reply function sees of one request (both APIs normalised to one shape). */
export interface DoubleRequest {
  provider: DoubleProvider;
  model: string;
  system: string;
  /** Content flattened to text (text blocks joined; tool results as their text or JSON). */
  messages: { role: string; content: string }[];
  maxTokens: number | undefined;
  temperature: number | undefined;
  topP: number | undefined;
  /** The key as sent (x-api-key or Authorization: Bearer), so tests can assert where it went. */
  apiKey: string | undefined;
  /** Position of this request among all requests the double received, from 0. */
  callIndex: number;
  /** Stable hash of system + messages: the same conversation state sent twice has the same key. */
  conversationKey: string;
  body: Record<string, unknown>;
}

/** Stop reasons in Anthropic's vocabulary; the OpenAI side maps them to finish_reason. */
export type DoubleStopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal' | 'pause_turn';

export type DoubleResponse = (
  | { text: string; stopReason?: DoubleStopReason }
  | { toolUse: { name: string; input: Record<string, unknown> }; text?: string }
  | { error: { status: number; type?: string; message?: string; retryAfterSec?: number } }
) & { /** Extra latency for this reply, on top of the double's fixed latency. */ delayMs?: number };

export type DoubleReplyFn = (req: DoubleRequest) => DoubleResponse | Promise<DoubleResponse>;

export interface CallRecord {
  at: number;
  provider: DoubleProvider;
  path: string;
  model?: string;
  conversationKey?: string;
  /** HTTP status sent; 0 when the client went away before the reply (e.g. its timeout fired). */
  status: number;
  /** When the reply was sent (absent while there is none). */
  answeredAt?: number;
  request?: DoubleRequest;
}

/** A Message Batch as the double holds it (Anthropic's Message Batches API). */
export interface DoubleBatch {
  id: string;
  createdAt: number;
  customIds: string[];
  status: 'in_progress' | 'canceling' | 'ended';
  results: Map<string, unknown>;
}

export interface MessagesApiDouble {
  /** Root, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Batches created, in order (tests count submissions). */
  batches: DoubleBatch[];
  /** Holds new and pending batches in_progress until released (tests kill workers meanwhile). */
  holdBatches(hold: boolean): void;
  /** The prompt cache (tests read its size). */
  cache: PromptCache;
  /** What to pass as the SDKs' baseURL: Anthropic's SDK appends /v1/messages, OpenAI's appends /chat/completions. */
  baseUrl: Record<DoubleProvider, string>;
  calls: CallRecord[];
  setReply(fn: DoubleReplyFn): void;
  close(): Promise<void>;
}

export interface MessagesApiDoubleOptions {
  reply?: DoubleReplyFn;
  /** Fixed latency before every reply, ms. */
  latencyMs?: number;
  /** Port on 127.0.0.1; a free one when absent. */
  port?: number;
  /** The keys the double accepts; any other is refused with 401, as the real APIs do. Absent: any key. */
  apiKeys?: string[];
  /** The models it serves (the models endpoints, and a 404 for others). Absent: any model. */
  models?: string[];
  /** The prompt cache's clock (benchmarks simulate waits between steps without waiting). */
  now?: () => number;
  /** Entries of a batch that expire instead of being answered (by custom_id). */
  batchExpire?: (customId: string) => boolean;
}

/** Deterministic stand-in for a tokenizer: about four characters per token. */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

export async function startMessagesApiDouble(options: MessagesApiDoubleOptions = {}): Promise<MessagesApiDouble> {
  let reply: DoubleReplyFn = options.reply ?? (() => ({ text: 'ok' }));
  const calls: CallRecord[] = [];
  // Aborted on close, so replies waiting out their latency do not keep the server open.
  const closing = new AbortController();
  const cache = createPromptCache(options.now);
  const batches: DoubleBatch[] = [];
  let hold = false;
  const held = new Map<string, () => void>();

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent)
        send(res, 500, { type: 'error', error: { type: 'api_error', message: `test double crashed: ${String(e)}` } });
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const provider: DoubleProvider = path.startsWith('/v1/chat/') ? 'openai' : 'anthropic';
    const record: CallRecord = { at: Date.now(), provider, path, status: 0 };
    const callIndex = calls.push(record) - 1;
    const api = provider === 'openai' ? openaiApi : anthropicApi;
    const respond = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      record.answeredAt = Date.now();
      send(res, status, body, { [api.requestIdHeader]: `req_${randomBytes(12).toString('hex')}`, ...headers });
    };
    const fail = (status: number, message: string, type?: string, extraHeaders?: Record<string, string>) =>
      respond(status, api.error(status, message, type), extraHeaders);

    if (req.method === 'GET' && path.startsWith('/v1/models')) return models(req, path, respond, fail);
    if (path.startsWith('/v1/messages/batches')) return batchEndpoint(req, res, path, respond, fail);
    if (req.method !== 'POST' || (path !== '/v1/messages' && path !== '/v1/chat/completions')) {
      return fail(404, `${req.method} ${path} is not served by the messages API test double`);
    }
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(await readBody(req));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch {
      return fail(400, 'The request body is not valid JSON.');
    }

    const apiKey = keyOf(req);
    const problem = api.validate(req, body, apiKey) ?? refused(api, apiKey, body.model);
    if (problem) return fail(problem.status, problem.message, problem.type);

    const cacheProblem = provider === 'anthropic' ? cache.check(body) : undefined;
    if (cacheProblem) return fail(400, cacheProblem);

    const request = api.normalise(body, apiKey, callIndex);
    record.model = request.model;
    record.conversationKey = request.conversationKey;
    record.request = request;

    let scripted: DoubleResponse;
    try {
      scripted = await reply(request);
    } catch (e) {
      return fail(500, `test double reply script threw: ${e instanceof Error ? e.message : String(e)}`);
    }
    // The cache is looked up as the request is processed, and what it writes is readable once
    // its response begins: requests in flight together do not read each other's writes.
    const cached = 'error' in scripted ? undefined : lookUp(request);
    await sleep((options.latencyMs ?? 0) + (scripted.delayMs ?? 0), closing.signal);
    if (res.destroyed || closing.signal.aborted) return; // the client gave up (timeout, abort); status stays 0

    if ('error' in scripted) {
      const { status, type, message, retryAfterSec } = scripted.error;
      const headers: Record<string, string> =
        retryAfterSec !== undefined ? { 'retry-after': String(retryAfterSec) } : {};
      return fail(status, message ?? defaultErrorMessage(status), type, headers);
    }
    cached?.commit();
    respond(200, api.success(request, scripted, cached?.usage));
  }

  function lookUp(request: DoubleRequest): { usage: CacheUsage | number; commit(): void } {
    const total = inputTokens(request);
    if (request.provider === 'anthropic') return cache.anthropic(request.body, total);
    const c = cache.openai(request.model, [{ role: 'system', content: request.system }, ...request.messages], total);
    return { usage: c.cached, commit: c.commit };
  }

  // ---- Message Batches ------------------------------------------------------------------------

  const batchView = (b: DoubleBatch) => {
    const counts = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    for (const id of b.customIds) {
      const r = b.results.get(id) as { result: { type: keyof typeof counts } } | undefined;
      counts[r ? r.result.type : 'processing']++;
    }
    return {
      id: b.id,
      type: 'message_batch',
      processing_status: b.status,
      request_counts: counts,
      created_at: new Date(b.createdAt).toISOString(),
      expires_at: new Date(b.createdAt + 24 * 3600_000).toISOString(),
      ended_at: b.status === 'ended' ? new Date().toISOString() : null,
      cancel_initiated_at: null,
      archived_at: null,
      results_url: b.status === 'ended' ? `${url}/v1/messages/batches/${b.id}/results` : null,
    };
  };

  /** Answers a batch's entries one after another, as the double answers direct calls. */
  async function processBatch(
    b: DoubleBatch,
    entries: { custom_id: string; params: Record<string, unknown> }[],
    headers: http.IncomingHttpHeaders,
    apiKey: string | undefined,
  ) {
    if (hold) await new Promise<void>((resolve) => held.set(b.id, resolve));
    for (const e of entries) {
      if (b.status !== 'in_progress') {
        b.results.set(e.custom_id, { custom_id: e.custom_id, result: { type: 'canceled' } });
        continue;
      }
      if (options.batchExpire?.(e.custom_id)) {
        b.results.set(e.custom_id, { custom_id: e.custom_id, result: { type: 'expired' } });
        continue;
      }
      const errored = (status: number, message: string, type?: string) =>
        b.results.set(e.custom_id, {
          custom_id: e.custom_id,
          result: { type: 'errored', error: { type: 'error', error: anthropicApi.error(status, message, type) } },
        });
      const problem =
        anthropicApi.validate({ headers } as http.IncomingMessage, e.params, apiKey) ??
        (cache.check(e.params) ? { status: 400, message: cache.check(e.params)! } : undefined);
      if (problem) {
        errored(problem.status, problem.message, problem.type);
        continue;
      }
      const record: CallRecord = {
        at: Date.now(),
        provider: 'anthropic',
        path: `batch:${b.id}:${e.custom_id}`,
        status: 0,
      };
      const request = anthropicApi.normalise(e.params, apiKey, calls.push(record) - 1);
      Object.assign(record, { model: request.model, conversationKey: request.conversationKey, request });
      let scripted: DoubleResponse;
      try {
        scripted = await reply(request);
      } catch (err) {
        scripted = { error: { status: 500, message: `test double reply script threw: ${String(err)}` } };
      }
      if ('error' in scripted) {
        record.status = scripted.error.status;
        errored(
          scripted.error.status,
          scripted.error.message ?? defaultErrorMessage(scripted.error.status),
          scripted.error.type,
        );
        continue;
      }
      const cached = lookUp(request);
      cached.commit();
      record.status = 200;
      b.results.set(e.custom_id, {
        custom_id: e.custom_id,
        result: { type: 'succeeded', message: anthropicApi.success(request, scripted, cached.usage) },
      });
    }
    b.status = 'ended';
  }

  async function batchEndpoint(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
    respond: (status: number, body: unknown, headers?: Record<string, string>) => void,
    fail: (status: number, message: string, type?: string) => void,
  ): Promise<void> {
    const apiKey = keyOf(req);
    if (!apiKey) return fail(401, 'x-api-key header is required');
    const [, , , , id, action] = path.split('/'); // ['', 'v1', 'messages', 'batches', id?, action?]
    if (req.method === 'POST' && !id) {
      let body: { requests?: { custom_id?: unknown; params?: unknown }[] };
      try {
        body = JSON.parse(await readBody(req)) as typeof body;
      } catch {
        return fail(400, 'The request body is not valid JSON.');
      }
      const entries = body.requests;
      if (!Array.isArray(entries) || entries.length === 0)
        return fail(400, 'requests: at least one request is required');
      const ids = new Set<string>();
      for (const e of entries) {
        if (typeof e.custom_id !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(e.custom_id))
          return fail(400, `custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`);
        if (ids.has(e.custom_id)) return fail(400, `custom_id ${e.custom_id} is not unique within the batch`);
        if (typeof e.params !== 'object' || e.params === null) return fail(400, 'params: Field required');
        ids.add(e.custom_id);
      }
      const b: DoubleBatch = {
        id: `msgbatch_${randomBytes(12).toString('hex')}`,
        createdAt: Date.now(),
        customIds: [...ids],
        status: 'in_progress',
        results: new Map(),
      };
      batches.push(b);
      void processBatch(b, entries as { custom_id: string; params: Record<string, unknown> }[], req.headers, apiKey);
      return respond(200, batchView(b));
    }
    const b = batches.find((x) => x.id === id);
    if (!b) return fail(404, `message batch ${id ?? ''} not found`);
    if (req.method === 'GET' && !action) return respond(200, batchView(b));
    if (req.method === 'POST' && action === 'cancel') {
      if (b.status === 'in_progress') b.status = 'canceling';
      held.get(b.id)?.();
      return respond(200, batchView(b));
    }
    if (req.method === 'GET' && action === 'results') {
      if (b.status !== 'ended') return fail(400, `message batch ${b.id} is still processing`);
      const lines = b.customIds.map((cid) => JSON.stringify(b.results.get(cid))).join('\n');
      res.writeHead(200, {
        'content-type': 'application/binary',
        'request-id': `req_${randomBytes(12).toString('hex')}`,
      });
      res.end(lines);
      return;
    }
    return fail(404, `${req.method} ${path} is not served by the messages API test double`);
  }

  /** A wrong key or an unknown model, answered as each API answers them. */
  function refused(
    api: Api,
    apiKey: string | undefined,
    model: unknown,
  ): { status: number; message: string; type?: string } | undefined {
    if (apiKey && options.apiKeys && !options.apiKeys.includes(apiKey))
      return api === openaiApi
        ? { status: 401, message: `Incorrect API key provided: ${apiKey.slice(0, 3)}...${apiKey.slice(-4)}.` }
        : { status: 401, message: 'invalid x-api-key' };
    if (typeof model === 'string' && options.models && !options.models.includes(model))
      return api === openaiApi
        ? { status: 404, message: `The model \`${model}\` does not exist or you do not have access to it.` }
        : { status: 404, message: `model: ${model}` };
    return undefined;
  }

  /**
   * Anthropic's `GET /v1/models/{id}` and OpenAI's `GET /v1/models` (the Anthropic list too): the
   * cheap checks a client makes before real work. Keys are checked as for messages.
   */
  function models(
    req: http.IncomingMessage,
    path: string,
    respond: (status: number, body: unknown) => void,
    fail: (status: number, message: string) => void,
  ) {
    const apiKey = keyOf(req);
    const openai = !req.headers['anthropic-version'];
    const api = openai ? openaiApi : anthropicApi;
    if (!apiKey) return fail(401, openai ? "You didn't provide an API key." : 'x-api-key header is required');
    const id = decodeURIComponent(path.slice('/v1/models/'.length));
    const problem = refused(api, apiKey, path.startsWith('/v1/models/') ? id : undefined);
    if (problem) return fail(problem.status, problem.message);
    const created = '2026-01-01T00:00:00Z';
    const entry = (m: string) =>
      openai
        ? { id: m, object: 'model', created: Date.parse(created) / 1000, owned_by: 'test-double' }
        : { type: 'model', id: m, display_name: m, created_at: created };
    if (path.startsWith('/v1/models/')) return respond(200, entry(id));
    // Serving any model, it has none to list.
    const all = (options.models ?? []).map(entry);
    return respond(
      200,
      openai
        ? { object: 'list', data: all }
        : { data: all, has_more: false, first_id: all[0]?.id, last_id: all.at(-1)?.id },
    );
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    baseUrl: { anthropic: url, openai: `${url}/v1` },
    calls,
    batches,
    cache,
    holdBatches(h) {
      hold = h;
      if (!h) {
        for (const release of held.values()) release();
        held.clear();
      }
    },
    setReply(fn) {
      reply = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---- scripting helpers ------------------------------------------------------------------------

/** Replies with the steps in order (one per call), or computes the text from the request. */
export function scriptedConversation(steps: string[] | ((req: DoubleRequest) => string)): DoubleReplyFn {
  if (typeof steps === 'function') return (req) => ({ text: steps(req) });
  let next = 0;
  return () => {
    const text = steps[next++];
    if (text === undefined)
      throw new Error(`scripted conversation has ${steps.length} steps; call ${next} asked for more`);
    return { text };
  };
}

/** `n` failures with `error`, then `then` (a fixed reply or a reply function) for every later call. */
export function errorsThen(
  n: number,
  error: Extract<DoubleResponse, { error: unknown }>['error'],
  then: DoubleResponse | DoubleReplyFn,
): DoubleReplyFn {
  let failed = 0;
  return (req) => {
    if (failed < n) {
      failed++;
      return { error };
    }
    return typeof then === 'function' ? then(req) : then;
  };
}

// ---- the two APIs -----------------------------------------------------------------------------

interface Api {
  requestIdHeader: string;
  validate(
    req: http.IncomingMessage,
    body: Record<string, unknown>,
    apiKey: string | undefined,
  ): { status: number; message: string; type?: string } | undefined;
  normalise(body: Record<string, unknown>, apiKey: string | undefined, callIndex: number): DoubleRequest;
  /** `cached`: the prompt cache's usage (Anthropic) or cached tokens (OpenAI); none counts nothing cached. */
  success(
    req: DoubleRequest,
    reply: Exclude<DoubleResponse, { error: unknown }>,
    cached?: CacheUsage | number,
  ): unknown;
  error(status: number, message: string, type?: string): unknown;
}

const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

const anthropicApi: Api = {
  requestIdHeader: 'request-id',
  validate(req, body, apiKey) {
    // The API reads x-api-key first, else Authorization: Bearer (what @anthropic-ai/sdk 1.x sends).
    if (!apiKey) return { status: 401, message: 'x-api-key header is required' };
    if (!req.headers['anthropic-version']) return { status: 400, message: 'anthropic-version: header is required' };
    for (const field of ['model', 'max_tokens', 'messages']) {
      if (body[field] === undefined) return { status: 400, message: `${field}: Field required` };
    }
    if (typeof body.model !== 'string') return { status: 400, message: 'model: Input should be a valid string' };
    if (!Number.isInteger(body.max_tokens) || (body.max_tokens as number) < 1) {
      return { status: 400, message: 'max_tokens: Input should be a positive integer' };
    }
    if (!Array.isArray(body.messages) || body.messages.length === 0)
      return { status: 400, message: 'messages: at least one message is required' };
    // API version 2026-10-21 (sent by @anthropic-ai/sdk 1.x) removed the sampling parameters; older versions accept them.
    if (String(req.headers['anthropic-version']) >= '2026-10-21') {
      const sampling = ['temperature', 'top_p', 'top_k'].find((f) => body[f] !== undefined);
      if (sampling) return { status: 400, message: `${sampling}: Extra inputs are not permitted` };
    }
    if (body.stream === true)
      return { status: 400, message: 'stream: streaming is not supported by the messages API test double' };
    return undefined;
  },
  normalise(body, apiKey, callIndex) {
    const system = typeof body.system === 'string' ? body.system : flatten(body.system);
    const messages = (body.messages as { role: string; content: unknown }[]).map((m) => ({
      role: m.role,
      content: flatten(m.content),
    }));
    return request('anthropic', body, system, messages, body.max_tokens as number, apiKey, callIndex);
  },
  success(req, reply, cached) {
    const { text, stopReason } = cut(reply, req.maxTokens);
    const content: unknown[] = text ? [{ type: 'text', text }] : [];
    const cache: CacheUsage =
      typeof cached === 'object'
        ? cached
        : {
            input_tokens: inputTokens(req),
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
          };
    if ('toolUse' in reply)
      content.push({ type: 'tool_use', id: `toolu_${randomBytes(12).toString('hex')}`, ...reply.toolUse });
    return {
      id: `msg_${randomBytes(12).toString('hex')}`,
      type: 'message',
      role: 'assistant',
      model: req.model,
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      usage: { ...cache, output_tokens: outputTokens(text, reply) },
    };
  },
  error(status, message, type) {
    return {
      type: 'error',
      error: {
        type: type ?? ANTHROPIC_ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'),
        message,
      },
    };
  },
};

const FINISH_REASONS: Record<DoubleStopReason, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
  pause_turn: 'stop',
};

const openaiApi: Api = {
  requestIdHeader: 'x-request-id',
  validate(_req, body, apiKey) {
    // Local servers (vLLM, Ollama) ignore the key, but the SDK always sends one; its absence means a broken client.
    if (!apiKey)
      return {
        status: 401,
        message:
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth.",
      };
    if (typeof body.model !== 'string') return { status: 400, message: 'you must provide a model parameter' };
    if (!Array.isArray(body.messages)) return { status: 400, message: "Missing required parameter: 'messages'." };
    if (body.stream === true)
      return { status: 400, message: 'stream: streaming is not supported by the messages API test double' };
    return undefined;
  },
  normalise(body, apiKey, callIndex) {
    const all = (body.messages as { role: string; content: unknown }[]).map((m) => ({
      role: m.role,
      content: flatten(m.content),
    }));
    const system = all
      .filter((m) => m.role === 'system' || m.role === 'developer')
      .map((m) => m.content)
      .join('\n');
    const messages = all.filter((m) => m.role !== 'system' && m.role !== 'developer');
    const maxTokens = (body.max_completion_tokens ?? body.max_tokens) as number | undefined;
    return request('openai', body, system, messages, maxTokens, apiKey, callIndex);
  },
  success(req, reply, cached) {
    const { text, stopReason } = cut(reply, req.maxTokens);
    const message: Record<string, unknown> = { role: 'assistant', content: text || null, refusal: null };
    if ('toolUse' in reply) {
      message.tool_calls = [
        {
          id: `call_${randomBytes(12).toString('hex')}`,
          type: 'function',
          function: { name: reply.toolUse.name, arguments: JSON.stringify(reply.toolUse.input) },
        },
      ];
    }
    const prompt = inputTokens(req);
    const completion = outputTokens(text, reply);
    return {
      id: `chatcmpl-${randomBytes(12).toString('hex')}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: req.model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: FINISH_REASONS[stopReason] }],
      usage: {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        prompt_tokens_details: { cached_tokens: typeof cached === 'number' ? cached : 0 },
      },
    };
  },
  error(status, message, type) {
    const byStatus: Record<number, [string, string | null]> = {
      400: ['invalid_request_error', null],
      401: ['invalid_request_error', 'invalid_api_key'],
      404: ['invalid_request_error', 'model_not_found'],
      429: ['requests', 'rate_limit_exceeded'],
    };
    const [defaultType, code] = byStatus[status] ?? [status >= 500 ? 'server_error' : 'invalid_request_error', null];
    return { error: { message, type: type ?? defaultType, param: null, code } };
  },
};

// ---- details ----------------------------------------------------------------------------------

function request(
  provider: DoubleProvider,
  body: Record<string, unknown>,
  system: string,
  messages: DoubleRequest['messages'],
  maxTokens: number | undefined,
  apiKey: string | undefined,
  callIndex: number,
): DoubleRequest {
  const conversationKey = createHash('sha256').update(JSON.stringify({ system, messages })).digest('hex').slice(0, 16);
  const temperature = typeof body.temperature === 'number' ? body.temperature : undefined;
  const topP = typeof body.top_p === 'number' ? body.top_p : undefined;
  return {
    provider,
    model: body.model as string,
    system,
    messages,
    maxTokens,
    temperature,
    topP,
    apiKey,
    callIndex,
    conversationKey,
    body,
  };
}

/** The reply text after the max_tokens cut (about 4 chars a token), and the stop reason that goes with it. */
function cut(
  reply: Exclude<DoubleResponse, { error: unknown }>,
  maxTokens: number | undefined,
): { text: string; stopReason: DoubleStopReason } {
  const text = reply.text ?? '';
  const scripted: DoubleStopReason = 'toolUse' in reply ? 'tool_use' : (reply.stopReason ?? 'end_turn');
  if (maxTokens !== undefined && text.length > maxTokens * 4)
    return { text: text.slice(0, maxTokens * 4), stopReason: 'max_tokens' };
  return { text, stopReason: scripted };
}

function inputTokens(req: DoubleRequest): number {
  return estimateTokens(req.system + req.messages.map((m) => m.content).join(''));
}

function outputTokens(text: string, reply: Exclude<DoubleResponse, { error: unknown }>): number {
  return (
    estimateTokens(text) +
    ('toolUse' in reply ? estimateTokens(reply.toolUse.name + JSON.stringify(reply.toolUse.input)) : 0)
  );
}

/** Message content (a string or content blocks) as plain text. */
function flatten(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content === undefined || content === null ? '' : JSON.stringify(content);
  return content
    .map((b: { type?: string; text?: string; content?: unknown; input?: unknown }) =>
      b.type === 'text' ? (b.text ?? '') : b.type === 'tool_result' ? flatten(b.content) : JSON.stringify(b),
    )
    .join('');
}

/** The API key as sent: `x-api-key`, or `Authorization: Bearer` (what @anthropic-ai/sdk 1.x and openai send). */
function keyOf(req: http.IncomingMessage): string | undefined {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header) return header;
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) || undefined : undefined;
}

function defaultErrorMessage(status: number): string {
  if (status === 429) return 'Number of request tokens has exceeded your per-minute rate limit';
  if (status === 529) return 'Overloaded';
  if (status >= 500) return 'Internal server error';
  return `Request failed with status ${status}`;
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
