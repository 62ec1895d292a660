// The model clients through the real SDKs (@anthropic-ai/sdk, openai) against the messages API
// test double: replies, usage and cost, stop reasons, and every failure kind the caller's retry
// policy depends on. No Docker or Temporal needed.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ModelConfigSchema, type ModelConfig } from '../core/config';
import { costOf, MODEL_ROLES, SAMPLING_ACCEPTED } from '../core/model';
import { log } from '../runtime/log';
import { createModelClient } from '../runtime/model';
import { classifyModelError, kindOfStatus, ModelError, parseRetryAfter } from '../runtime/model/errors';
import {
  errorsThen,
  estimateTokens,
  scriptedConversation,
  startMessagesApiDouble,
  type DoubleProvider,
  type MessagesApiDouble,
} from '../scripted-model/messagesApi';

const KEY_ENV = 'AGENTSCALE_TEST_MODEL_KEY';
const KEY = 'sk-ant-test-0123456789abcdef-SECRET';
const REQ = { system: 'You are terse.', messages: [{ role: 'user' as const, content: 'Say hello.' }] };

let double: MessagesApiDouble;
beforeAll(async () => {
  double = await startMessagesApiDouble();
});
afterAll(() => double.close());
afterEach(() => {
  double.calls.length = 0;
  delete process.env[KEY_ENV];
});

function config(provider: DoubleProvider, overrides: Partial<ModelConfig> = {}): ModelConfig {
  process.env[KEY_ENV] = KEY;
  // claude-haiku-4-5: priced in the default config, and not deprecated (the SDK warns on every call for those).
  return ModelConfigSchema.parse({
    provider,
    name: 'claude-haiku-4-5',
    baseUrl: double.baseUrl[provider],
    apiKeyEnv: KEY_ENV,
    ...overrides,
  });
}

/** The ModelError a call rejects with (fails the test when the call succeeds or throws something else). */
async function failure(p: Promise<unknown>): Promise<ModelError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ModelError);
  return e as ModelError;
}

describe('anthropic, through @anthropic-ai/sdk', () => {
  it('returns text, usage, cost from the configured prices, request id and latency', async () => {
    double.setReply(scriptedConversation(['Hello there.']));
    const cfg = config('anthropic', { maxTokens: 100 });
    const reply = await createModelClient(cfg).complete(REQ);

    const usage = {
      inputTokens: estimateTokens('You are terse.Say hello.'),
      outputTokens: estimateTokens('Hello there.'),
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    };
    expect(reply).toMatchObject({ text: 'Hello there.', stopReason: 'end_turn', model: 'claude-haiku-4-5', usage });
    expect(reply.costUsd).toBeCloseTo(costOf(usage, cfg.prices['claude-haiku-4-5'])!, 12);
    expect(reply.costUsd).toBeGreaterThan(0);
    expect(reply.requestId).toMatch(/^req_/);
    expect(reply.latencyMs).toBeGreaterThanOrEqual(0);

    // What went over the wire: one call (no SDK retries), the key, system, settings.
    expect(double.calls).toHaveLength(1);
    expect(double.calls[0]!.request).toMatchObject({
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
      system: 'You are terse.',
      maxTokens: 100,
      temperature: undefined,
      apiKey: KEY,
      messages: [{ role: 'user', content: 'Say hello.' }],
    });
  });

  it('sends no sampling parameters, which API version 2026-10-21 refuses', async () => {
    double.setReply(() => ({ text: 'hi' }));
    const cfg = config('anthropic');
    expect(SAMPLING_ACCEPTED.anthropic.sent).toBe(false);
    const reply = await createModelClient(cfg).complete({ ...REQ, sampling: { temperature: 0.5, topP: 0.9 } });
    expect(reply.text).toBe('hi');
    const body = double.calls[0]!.request!.body;
    expect(body).not.toHaveProperty('temperature');
    expect(body).not.toHaveProperty('top_p');
  });

  it('gives unknown cost (null, no crash) for a model without prices', async () => {
    double.setReply(() => ({ text: 'hi' }));
    const reply = await createModelClient(config('anthropic', { name: 'some-unpriced-model' })).complete(REQ);
    expect(reply.costUsd).toBeNull();
    expect(reply.model).toBe('some-unpriced-model');
  });

  it('reports a reply cut at max_tokens', async () => {
    double.setReply(() => ({ text: 'x'.repeat(500) }));
    const reply = await createModelClient(config('anthropic', { maxTokens: 10 })).complete(REQ);
    expect(reply.stopReason).toBe('max_tokens');
    expect(reply.text).toHaveLength(40);
    expect(reply.usage.outputTokens).toBe(10);
  });

  it('reports tool_use and keeps only the text blocks as text', async () => {
    double.setReply(() => ({ text: 'Let me look.', toolUse: { name: 'bash', input: { command: 'ls' } } }));
    const reply = await createModelClient(config('anthropic')).complete(REQ);
    expect(reply.stopReason).toBe('tool_use');
    expect(reply.text).toBe('Let me look.');
  });

  it('429 with retry-after: rate_limit, retryable, retryAfterMs; the SDK does not retry, the caller does', async () => {
    double.setReply(errorsThen(1, { status: 429, retryAfterSec: 7 }, { text: 'after the wait' }));
    const client = createModelClient(config('anthropic'));
    const err = await failure(client.complete(REQ));
    expect(err).toMatchObject({ kind: 'rate_limit', status: 429, retryAfterMs: 7000, retryable: true });
    expect(err.requestId).toMatch(/^req_/);
    expect(err.message).toMatch(/rate limited \(HTTP 429 rate_limit_error\)/);
    expect(double.calls).toHaveLength(1);

    expect((await client.complete(REQ)).text).toBe('after the wait');
    // The retry sent the same conversation state: the double can tell.
    expect(double.calls[1]!.conversationKey).toBe(double.calls[0]!.conversationKey);
    expect(double.calls.map((c) => c.status)).toEqual([429, 200]);
  });

  it('529: overloaded, retryable', async () => {
    double.setReply(() => ({ error: { status: 529 } }));
    const err = await failure(createModelClient(config('anthropic')).complete(REQ));
    expect(err).toMatchObject({ kind: 'overloaded', status: 529, retryable: true });
    expect(err.retryAfterMs).toBeUndefined();
    expect(err.message).toContain('overloaded_error');
  });

  it('500: server, retryable', async () => {
    double.setReply(() => ({ error: { status: 500, message: 'Internal server error' } }));
    const err = await failure(createModelClient(config('anthropic')).complete(REQ));
    expect(err).toMatchObject({ kind: 'server', status: 500, retryable: true });
  });

  it('missing key: auth, not retryable, names the variable, sends nothing', async () => {
    const cfg = config('anthropic');
    delete process.env[KEY_ENV];
    const err = await failure(createModelClient(cfg).complete(REQ));
    expect(err).toMatchObject({ kind: 'auth', retryable: false });
    expect(err.message).toContain(KEY_ENV);
    expect(double.calls).toHaveLength(0);
  });

  it('missing key with the default variable names ANTHROPIC_API_KEY', async () => {
    const saved = process.env.ANTHROPIC_API_KEY;
    delete process.env.ANTHROPIC_API_KEY;
    try {
      const err = await failure(
        createModelClient(ModelConfigSchema.parse({ baseUrl: double.baseUrl.anthropic })).complete(REQ),
      );
      expect(err.kind).toBe('auth');
      expect(err.message).toContain('ANTHROPIC_API_KEY');
    } finally {
      if (saved !== undefined) process.env.ANTHROPIC_API_KEY = saved;
    }
  });

  it('401 from the server: auth, not retryable, names the variable', async () => {
    double.setReply(() => ({ error: { status: 401, message: 'invalid x-api-key' } }));
    const err = await failure(createModelClient(config('anthropic')).complete(REQ));
    expect(err).toMatchObject({ kind: 'auth', status: 401, retryable: false });
    expect(err.message).toContain('authentication_error');
    expect(err.message).toContain(KEY_ENV);
  });

  it('400: invalid_request, not retryable', async () => {
    double.setReply(() => ({ error: { status: 400, message: 'messages: roles must alternate' } }));
    const err = await failure(createModelClient(config('anthropic')).complete(REQ));
    expect(err).toMatchObject({ kind: 'invalid_request', status: 400, retryable: false });
    expect(err.message).toContain('roles must alternate');
  });

  it('connection refused (closed port): connection, retryable', async () => {
    const gone = await startMessagesApiDouble();
    await gone.close();
    const err = await failure(
      createModelClient(config('anthropic', { baseUrl: gone.baseUrl.anthropic })).complete(REQ),
    );
    expect(err).toMatchObject({ kind: 'connection', retryable: true });
    expect(err.message).toMatch(/ECONNREFUSED|fetch failed|Connection error/);
  });

  it('no reply within timeoutSec: timeout, retryable', async () => {
    const slow = await startMessagesApiDouble({ latencyMs: 2000 });
    try {
      const started = Date.now();
      const err = await failure(
        createModelClient(config('anthropic', { baseUrl: slow.baseUrl.anthropic, timeoutSec: 0.3 })).complete(REQ),
      );
      expect(err).toMatchObject({ kind: 'timeout', retryable: true });
      expect(err.message).toContain('no reply within 0.3 s');
      expect(Date.now() - started).toBeLessThan(1500);
      expect(slow.calls).toHaveLength(1);
    } finally {
      await slow.close();
    }
  });

  it("a caller's abort: other, not retryable; AbortSignal.timeout: timeout", async () => {
    double.setReply(() => ({ text: 'late', delayMs: 2000 }));
    const client = createModelClient(config('anthropic'));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    expect(await failure(client.complete(REQ, { signal: controller.signal }))).toMatchObject({
      kind: 'other',
      retryable: false,
    });
    expect(await failure(client.complete(REQ, { signal: AbortSignal.timeout(100) }))).toMatchObject({
      kind: 'timeout',
      retryable: true,
    });
  });
});

describe('OpenAI-compatible servers, through openai', () => {
  it('returns text and usage; system goes first; a missing key is sent as "none"', async () => {
    double.setReply(scriptedConversation((req) => `echo: ${req.messages.at(-1)!.content}`));
    const cfg = config('openai', { name: 'qwen2.5-coder' });
    delete process.env[KEY_ENV];
    const reply = await createModelClient(cfg).complete({ ...REQ, sampling: { temperature: 0.7 } });
    expect(reply).toMatchObject({
      text: 'echo: Say hello.',
      stopReason: 'end_turn',
      model: 'qwen2.5-coder',
      costUsd: null,
      usage: {
        inputTokens: estimateTokens('You are terse.Say hello.'),
        outputTokens: estimateTokens('echo: Say hello.'),
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
      },
    });
    expect(reply.requestId).toMatch(/^req_/);
    const sent = double.calls[0]!.request!;
    expect(sent).toMatchObject({
      provider: 'openai',
      apiKey: 'none',
      system: 'You are terse.',
      maxTokens: 4096,
      temperature: 0.7,
      topP: undefined,
    });
    expect((sent.body.messages as { role: string }[]).map((m) => m.role)).toEqual(['system', 'user']);
  });

  it("each request carries its role's sampling; the defaults sample (temperature 1), never greedily", async () => {
    double.setReply(() => ({ text: 'ok' }));
    const defaults = config('openai');
    for (const role of MODEL_ROLES) expect(defaults.sampling[role]).toEqual({ temperature: 1 });
    const cfg = config('openai', {
      sampling: {
        agent: { temperature: 0.8 },
        summariser: { temperature: 0.2 },
        judge: { temperature: 1.1, topP: 0.9 },
      },
    });
    const client = createModelClient(cfg);
    for (const role of MODEL_ROLES) await client.complete({ ...REQ, sampling: cfg.sampling[role] });
    await createModelClient(defaults).complete({ ...REQ, sampling: defaults.sampling.agent });
    expect(double.calls.map((c) => [c.request!.temperature, c.request!.topP])).toEqual([
      [0.8, undefined],
      [0.2, undefined],
      [1.1, 0.9],
      [1, undefined],
    ]);
    expect(double.calls[2]!.request!.body).toMatchObject({ temperature: 1.1, top_p: 0.9 });
  });

  it('a config that still sets model.temperature is refused, naming where it went', () => {
    const parsed = ModelConfigSchema.safeParse({ temperature: 0 });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.message).toContain('model.sampling');
  });

  it('maps finish_reason length and tool_calls', async () => {
    const client = createModelClient(config('openai', { maxTokens: 5 }));
    double.setReply(() => ({ text: 'y'.repeat(100) }));
    expect(await client.complete(REQ)).toMatchObject({ stopReason: 'max_tokens', text: 'y'.repeat(20) });
    double.setReply(() => ({ toolUse: { name: 'bash', input: { command: 'ls' } } }));
    expect(await client.complete(REQ)).toMatchObject({ stopReason: 'tool_use', text: '' });
  });

  it('429 with retry-after: rate_limit with retryAfterMs', async () => {
    double.setReply(() => ({ error: { status: 429, retryAfterSec: 3 } }));
    const err = await failure(createModelClient(config('openai')).complete(REQ));
    expect(err).toMatchObject({ kind: 'rate_limit', status: 429, retryAfterMs: 3000, retryable: true });
    expect(err.requestId).toMatch(/^req_/);
  });
});

describe('the API key stays out of errors and logs', () => {
  it('appears in no error message, stack or log line, even when a server echoes it', async () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const level = log.level;
    log.level = 'debug';
    try {
      const errors: ModelError[] = [];
      for (const provider of ['anthropic', 'openai'] as const) {
        const client = createModelClient(config(provider));
        double.setReply((req) => ({ error: { status: 401, message: `invalid key: ${req.apiKey}` } }));
        errors.push(await failure(client.complete(REQ)));
        double.setReply(() => ({ error: { status: 429, retryAfterSec: 1, message: 'slow down' } }));
        errors.push(await failure(client.complete(REQ)));
        double.setReply(() => ({ text: 'fine' }));
        await client.complete(REQ);
      }
      const gone = await startMessagesApiDouble();
      await gone.close();
      errors.push(
        await failure(createModelClient(config('anthropic', { baseUrl: gone.baseUrl.anthropic })).complete(REQ)),
      );

      // The key did reach the double (the one place it should go)...
      expect(double.calls.some((c) => c.request?.apiKey === KEY)).toBe(true);
      expect(errors[0]!.message).toContain('[redacted]');
      // ...and nowhere else.
      for (const e of errors) {
        expect(e.message).not.toContain(KEY);
        expect(e.stack ?? '').not.toContain(KEY);
        expect(JSON.stringify(e)).not.toContain(KEY);
      }
      expect(written.join('')).toContain('model reply'); // the capture works
      expect(written.join('')).not.toContain(KEY);
    } finally {
      log.level = level;
      spy.mockRestore();
    }
  });
});

describe('error classification', () => {
  it('maps statuses to kinds', () => {
    const expected: Record<number, string> = {
      400: 'invalid_request',
      401: 'auth',
      403: 'auth',
      404: 'invalid_request',
      408: 'timeout',
      413: 'invalid_request',
      422: 'invalid_request',
      429: 'rate_limit',
      500: 'server',
      502: 'server',
      503: 'server',
      504: 'server',
      529: 'overloaded',
      409: 'other',
    };
    for (const [status, kind] of Object.entries(expected)) expect(kindOfStatus(Number(status))).toBe(kind);
  });

  it("classifies both SDKs' error classes", () => {
    const headers = new Headers({
      'retry-after-ms': '1500',
      'retry-after': '9',
      'request-id': 'req_a',
      'x-request-id': 'req_o',
    });
    const a = classifyModelError(
      new Anthropic.RateLimitError(
        429,
        { type: 'error', error: { type: 'rate_limit_error', message: 'slow' } },
        undefined,
        headers,
      ),
    );
    expect(a).toMatchObject({ kind: 'rate_limit', retryAfterMs: 1500, requestId: 'req_a' });
    const o = classifyModelError(
      new OpenAI.InternalServerError(503, { message: 'down', type: 'server_error' }, undefined, headers),
    );
    expect(o).toMatchObject({ kind: 'server', status: 503, requestId: 'req_o' });
    expect(o.message).toContain('down');
    expect(classifyModelError(new Anthropic.APIConnectionTimeoutError()).kind).toBe('timeout');
    expect(classifyModelError(new OpenAI.APIConnectionError({ message: 'Connection error.' })).kind).toBe('connection');
    expect(classifyModelError(new Anthropic.APIUserAbortError()).kind).toBe('other');
    expect(classifyModelError(new Error('boom'))).toMatchObject({ kind: 'other', retryable: false });
  });

  it('reads retry-after-ms, retry-after seconds and retry-after HTTP dates', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '250.4' }), now)).toBe(250);
    expect(parseRetryAfter(new Headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' }), now)).toBe(30_000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Tue, 31 Dec 2024 00:00:00 GMT' }), now)).toBe(0);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfter(new Headers(), now)).toBeUndefined();
  });
});

describe('the messages API test double validates like the real API', () => {
  const post = (path: string, body: unknown, headers: Record<string, string>) =>
    fetch(`${double.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const valid = { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] };
  const auth = { 'x-api-key': 'k', 'anthropic-version': '2026-10-21' };

  it('answers Anthropic requests in the API shape, errors included', async () => {
    double.setReply(() => ({ text: 'hello' }));
    const ok = await post('/v1/messages', valid, auth);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('request-id')).toMatch(/^req_/);
    expect(await ok.json()).toMatchObject({
      id: expect.stringMatching(/^msg_/),
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [{ type: 'text', text: 'hello' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 1, output_tokens: 2, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });

    const cases: [Record<string, unknown>, Record<string, string>, number, string, RegExp][] = [
      [valid, { 'anthropic-version': '2023-06-01' }, 401, 'authentication_error', /x-api-key/],
      [valid, { 'x-api-key': 'k' }, 400, 'invalid_request_error', /anthropic-version/],
      [{ ...valid, max_tokens: undefined }, auth, 400, 'invalid_request_error', /max_tokens/],
      [{ ...valid, messages: undefined }, auth, 400, 'invalid_request_error', /messages/],
      [{ ...valid, stream: true }, auth, 400, 'invalid_request_error', /streaming is not supported/],
      // API version 2026-10-21 rejects sampling parameters, even at their defaults.
      [{ ...valid, temperature: 1 }, auth, 400, 'invalid_request_error', /temperature: Extra inputs are not permitted/],
    ];
    for (const [body, headers, status, type, message] of cases) {
      const res = await post('/v1/messages', body, headers);
      expect(res.status).toBe(status);
      expect(await res.json()).toMatchObject({
        type: 'error',
        error: { type, message: expect.stringMatching(message) },
      });
    }
    // The older version still takes temperature.
    expect(
      (await post('/v1/messages', { ...valid, temperature: 1 }, { ...auth, 'anthropic-version': '2023-06-01' })).status,
    ).toBe(200);
  });

  it('answers OpenAI requests in the API shape, errors included', async () => {
    double.setReply(() => ({ text: 'hello' }));
    const ok = await post(
      '/v1/chat/completions',
      { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
      { authorization: 'Bearer x' },
    );
    expect(await ok.json()).toMatchObject({
      id: expect.stringMatching(/^chatcmpl-/),
      object: 'chat.completion',
      model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    });
    double.setReply(() => ({ error: { status: 429, retryAfterSec: 1 } }));
    const limited = await post('/v1/chat/completions', { model: 'm', messages: [] }, { authorization: 'Bearer x' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(await limited.json()).toMatchObject({
      error: { type: 'requests', code: 'rate_limit_exceeded', message: expect.any(String) },
    });
  });
});
