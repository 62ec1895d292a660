// TEST DOUBLE of the model APIs: a local HTTP server speaking Anthropic's Messages API
// (`POST /v1/messages`) and the OpenAI-compatible Chat Completions API (`POST /v1/chat/completions`),
// non-streaming. These machines cannot reach a real model API, so tests point the real SDKs at this
// server. It validates requests and shapes replies and errors the way the real APIs document them,
// so that code passing against it behaves the same with a real key. Replies are scripted per test.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

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

export interface MessagesApiDouble {
  /** Root, e.g. http://127.0.0.1:41234 */
  url: string;
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
}

/** Deterministic stand-in for a tokenizer: about four characters per token. */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

export async function startMessagesApiDouble(options: MessagesApiDoubleOptions = {}): Promise<MessagesApiDouble> {
  let reply: DoubleReplyFn = options.reply ?? (() => ({ text: 'ok' }));
  const calls: CallRecord[] = [];
  // Aborted on close, so replies waiting out their latency do not keep the server open.
  const closing = new AbortController();

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
    const problem = api.validate(req, body, apiKey);
    if (problem) return fail(problem.status, problem.message, problem.type);

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
    await sleep((options.latencyMs ?? 0) + (scripted.delayMs ?? 0), closing.signal);
    if (res.destroyed || closing.signal.aborted) return; // the client gave up (timeout, abort); status stays 0

    if ('error' in scripted) {
      const { status, type, message, retryAfterSec } = scripted.error;
      const headers: Record<string, string> =
        retryAfterSec !== undefined ? { 'retry-after': String(retryAfterSec) } : {};
      return fail(status, message ?? defaultErrorMessage(status), type, headers);
    }
    respond(200, api.success(request, scripted));
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
  success(req: DoubleRequest, reply: Exclude<DoubleResponse, { error: unknown }>): unknown;
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
  success(req, reply) {
    const { text, stopReason } = cut(reply, req.maxTokens);
    const content: unknown[] = text ? [{ type: 'text', text }] : [];
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
      usage: {
        input_tokens: inputTokens(req),
        output_tokens: outputTokens(text, reply),
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
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
  success(req, reply) {
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
        prompt_tokens_details: { cached_tokens: 0 },
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
