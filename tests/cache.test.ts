// Prompt caching and Message Batches, through the real SDK against the messages API test double:
// where each kind of call puts its breakpoints (request snapshots), the double's accounting by
// the documented rules, checked against sums done by hand, and the batch endpoints. No Docker or
// Temporal needed.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { markConversation, markJudgePrompt, MAX_BREAKPOINTS, textBlocks } from '../core/cache';
import { ModelConfigSchema, type ModelConfig } from '../core/config';
import { judgePrompt } from '../core/judge';
import { costOf, type ChatMessage } from '../core/model';
import { cacheWarmGate } from '../activities/scaling';
import { createModelClient } from '../runtime/model';
import { createBatchClient } from '../runtime/model/batches';
import {
  startMessagesApiDouble,
  type DoubleProvider,
  type DoubleReplyFn,
  type MessagesApiDouble,
} from '../scripted-model/messagesApi';

const KEY_ENV = 'AGENTSCALE_TEST_CACHE_KEY';
let double: MessagesApiDouble;
let clock = 1_000_000;
const answer: DoubleReplyFn = (req) =>
  req.messages.at(-1)!.content.includes('FAIL') ? { error: { status: 400, message: 'bad entry' } } : { text: R };
beforeAll(async () => {
  double = await startMessagesApiDouble({
    now: () => clock,
    batchExpire: (id) => id.startsWith('expire'),
    reply: answer,
  });
  process.env[KEY_ENV] = 'sk-ant-test-cache';
});
afterAll(() => double.close());
afterEach(() => {
  double.calls.length = 0;
  clock += 2 * 3600_000; // every entry of the test before has expired
});

// 4 characters a token in the double: 100, 2000 and 100 tokens.
const SYSTEM = 'S'.repeat(400);
const INSTANCE = 'I'.repeat(8000);
const R = 'R'.repeat(400);
const OBS = 'O'.repeat(8000);

function config(
  provider: DoubleProvider,
  o: Partial<Omit<ModelConfig, 'cache'>> & { ttl?: '5m' | '1h'; cache?: boolean } = {},
) {
  const { ttl, cache, ...rest } = o;
  return ModelConfigSchema.parse({
    provider,
    name: 'claude-sonnet-4-6',
    baseUrl: double.baseUrl[provider],
    apiKeyEnv: KEY_ENV,
    cache: { enabled: cache ?? true, ttl: ttl ?? '5m' },
    ...rest,
  });
}

/** The conversation of agent step `step` (1-based), as the rollout activity builds it. */
const stepMessages = (step: number): ChatMessage[] => [
  { role: 'user', content: INSTANCE },
  ...Array.from({ length: step - 1 }, () => [
    { role: 'assistant' as const, content: R },
    { role: 'user' as const, content: OBS },
  ]).flat(),
];

type Block = { type: string; text: string; cache_control?: { type: string; ttl?: string } };
const sent = (i: number) => double.calls[i]!.request!.body as { system?: unknown; messages: { content: unknown }[] };
/** Per message: the lengths of its blocks and which are marked (a string content is one unmarked block). */
const marks = (i: number) =>
  sent(i).messages.map((m) =>
    typeof m.content === 'string'
      ? [`${m.content.length}`]
      : (m.content as Block[]).map(
          (b) => `${b.text.length}${b.cache_control ? `*${b.cache_control.ttl ?? '5m'}` : ''}`,
        ),
  );

describe('breakpoints per kind of call (request snapshots)', () => {
  it('agent steps: the task prompt and the last message, moving forward each step; the system prompt as sent', async () => {
    const model = createModelClient(config('anthropic'));
    for (const step of [1, 2, 3])
      await model.complete({ system: SYSTEM, messages: markConversation(stepMessages(step)) });
    expect(marks(0)).toEqual([['8000*5m']]);
    expect(marks(1)).toEqual([['8000*5m'], ['400'], ['8000*5m']]);
    expect(marks(2)).toEqual([['8000*5m'], ['400'], ['8000'], ['400'], ['8000*5m']]);
    expect(sent(2).system).toBe(SYSTEM);
  });

  it('judge votes: a mark where the candidates begin and one at the end; the text is unchanged', async () => {
    const prompt = judgePrompt(
      'Fix the bug.',
      [
        { id: 'x', text: 'A'.repeat(100) },
        { id: 'y', text: 'B'.repeat(100) },
      ],
      'summaries',
    );
    const at = prompt.indexOf('<attempt id="A">');
    await createModelClient(config('anthropic', { ttl: '1h' })).complete({
      system: 'judge',
      messages: [markJudgePrompt(prompt, at)],
    });
    expect(marks(0)).toEqual([[`${at}*1h`, `${prompt.length - at}*1h`]]);
    expect(double.calls[0]!.request!.messages[0]!.content).toBe(prompt);
  });

  it('summary retries: the trajectory prompt and the last message', () => {
    const msgs = markConversation([
      { role: 'user', content: 'trajectory' },
      { role: 'assistant', content: 'bad json' },
      { role: 'user', content: 'again' },
    ]);
    expect(msgs.map((m) => m.cacheAt)).toEqual([[10], undefined, [5]]);
  });

  it('caching off: no cache_control anywhere', async () => {
    await createModelClient(config('anthropic', { cache: false })).complete({
      system: SYSTEM,
      messages: markConversation(stepMessages(2)),
    });
    expect(JSON.stringify(sent(0))).not.toContain('cache_control');
  });

  it('never more than 4 breakpoints: the first and the last three are kept', () => {
    const msgs: ChatMessage[] = Array.from({ length: 6 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `m${i}`,
      cacheAt: [2],
    }));
    const kept = textBlocks(msgs).map((m) => m.blocks.some((b) => b.cache));
    expect(kept).toEqual([true, false, false, true, true, true]);
    expect(kept.filter(Boolean)).toHaveLength(MAX_BREAKPOINTS);
  });
});

describe('identical judge prompts', () => {
  it('the first is sent alone and the others once it has answered, so they read what it wrote', async () => {
    const model = createModelClient(config('anthropic'));
    const warm = cacheWarmGate();
    double.setReply(() => ({ text: R, delayMs: 200 }));
    try {
      const prompt = markJudgePrompt(INSTANCE, -1);
      const replies = await Promise.all(
        [1, 2, 3].map(() => warm(INSTANCE, () => model.complete({ system: SYSTEM, messages: [prompt] }))),
      );
      expect(replies.map((r) => [r.usage.cacheWriteTokens, r.usage.cacheReadTokens])).toEqual([
        [2100, 0],
        [0, 2100],
        [0, 2100],
      ]);
    } finally {
      double.setReply(answer);
    }
  });
});

describe('the double prices caching by the documented rules', () => {
  const prices = ModelConfigSchema.parse({}).prices['claude-sonnet-4-6']!;

  it('agent steps: written once, then read; cost by hand', async () => {
    const model = createModelClient(config('anthropic'));
    const r1 = await model.complete({ system: SYSTEM, messages: markConversation(stepMessages(1)) });
    const r2 = await model.complete({ system: SYSTEM, messages: markConversation(stepMessages(2)) });
    // Step 1: system + task = 2100 tokens, all written. Step 2: those 2100 read, reply + observation (2100) written.
    expect(r1.usage).toMatchObject({ inputTokens: 0, cacheWriteTokens: 2100, cacheReadTokens: 0, outputTokens: 100 });
    expect(r2.usage).toMatchObject({
      inputTokens: 0,
      cacheWriteTokens: 2100,
      cacheReadTokens: 2100,
      outputTokens: 100,
    });
    expect(r1.costUsd).toBeCloseTo((2100 * 3.75 + 100 * 15) / 1e6, 12);
    expect(r2.costUsd).toBeCloseTo((2100 * 0.3 + 2100 * 3.75 + 100 * 15) / 1e6, 12);
    expect(costOf(r2.usage, prices)).toBeCloseTo(r2.costUsd!, 12);
  });

  it('the 1-hour lifetime: written at 2x, still read after 30 minutes; 5 minutes: written again', async () => {
    for (const ttl of ['1h', '5m'] as const) {
      const model = createModelClient(config('anthropic', { ttl }));
      const a = await model.complete({ system: SYSTEM, messages: markConversation(stepMessages(1)) });
      clock += 30 * 60_000;
      const b = await model.complete({ system: SYSTEM, messages: markConversation(stepMessages(1)) });
      if (ttl === '1h') {
        expect(a.usage).toMatchObject({ cacheWriteTokens: 2100, cacheWrite1hTokens: 2100 });
        expect(a.costUsd).toBeCloseTo((2100 * 6 + 100 * 15) / 1e6, 12);
        expect(b.usage).toMatchObject({ cacheReadTokens: 2100, cacheWriteTokens: 0, inputTokens: 0 });
      } else {
        expect(b.usage).toMatchObject({ cacheReadTokens: 0, cacheWriteTokens: 2100 });
      }
      clock += 2 * 3600_000;
    }
  });

  it('a read refreshes the lifetime', async () => {
    const model = createModelClient(config('anthropic'));
    await model.complete({ system: SYSTEM, messages: markConversation(stepMessages(1)) });
    for (let i = 0; i < 3; i++) {
      clock += 4 * 60_000; // 12 minutes in all, never 5 without a read
      const r = await model.complete({ system: SYSTEM, messages: markConversation(stepMessages(1)) });
      expect(r.usage.cacheReadTokens).toBe(2100);
    }
  });

  it('below the minimum cacheable length nothing is written (Haiku 4.5: 4096 tokens)', async () => {
    const r = await createModelClient(config('anthropic', { name: 'claude-haiku-4-5' })).complete({
      system: SYSTEM,
      messages: markConversation(stepMessages(1)),
    });
    expect(r.usage).toMatchObject({ inputTokens: 2100, cacheWriteTokens: 0, cacheReadTokens: 0 });
  });

  it('requests in flight together do not read what the other writes', async () => {
    const model = createModelClient(config('anthropic'));
    double.setReply(() => ({ text: R, delayMs: 300 }));
    try {
      const rs = await Promise.all(
        [1, 2].map(() => model.complete({ system: SYSTEM, messages: markConversation(stepMessages(1)) })),
      );
      expect(rs.map((r) => r.usage.cacheWriteTokens)).toEqual([2100, 2100]);
      const after = await model.complete({ system: SYSTEM, messages: markConversation(stepMessages(1)) });
      expect(after.usage.cacheReadTokens).toBe(2100);
    } finally {
      double.setReply(answer);
    }
  });

  it('the OpenAI-compatible provider reports the cached tokens its endpoint returns', async () => {
    const model = createModelClient(config('openai'));
    const req = { system: SYSTEM, messages: stepMessages(1) };
    const a = await model.complete(req);
    const b = await model.complete(req);
    expect(a.usage).toMatchObject({ inputTokens: 2100, cacheReadTokens: 0 });
    // Automatic caching in 128-token steps: 2048 of the 2100 tokens.
    expect(b.usage).toMatchObject({ inputTokens: 52, cacheReadTokens: 2048 });
  });
});

describe('Message Batches', () => {
  it('answers by custom_id; errored and expired entries say so; replies are priced at half', async () => {
    const cfg = config('anthropic');
    const batches = createBatchClient(cfg);
    const req = (last: string) => ({ system: SYSTEM, messages: [{ role: 'user' as const, content: last }] });
    const created = await batches.create([
      { customId: 'ok-1', request: req(INSTANCE) },
      { customId: 'bad-2', request: req('FAIL please') },
      { customId: 'expire-3', request: req(INSTANCE) },
    ]);
    expect(created.status).toBe('in_progress');
    let status = created;
    while (status.status !== 'ended') status = await batches.retrieve(created.id);
    expect(status.counts).toMatchObject({ succeeded: 1, errored: 1, expired: 1, processing: 0 });
    const results = await batches.results(created.id);
    expect(results.map((r) => [r.customId, r.type])).toEqual([
      ['ok-1', 'succeeded'],
      ['bad-2', 'errored'],
      ['expire-3', 'expired'],
    ]);
    const ok = results[0]!;
    if (ok.type !== 'succeeded') throw new Error('unreachable');
    expect(ok.reply.text).toBe(R);
    expect(ok.reply.usage.batchedCalls).toBe(1);
    expect(ok.reply.costUsd).toBeCloseTo(((2100 * 3 + 100 * 15) / 1e6) * 0.5, 12);
  });

  it('a held batch stays in progress until released; cancel ends what is pending as canceled', async () => {
    const batches = createBatchClient(config('anthropic'));
    double.holdBatches(true);
    const b = await batches.create([
      { customId: 'a', request: { system: '', messages: [{ role: 'user', content: 'x' }] } },
    ]);
    expect((await batches.retrieve(b.id)).status).toBe('in_progress');
    await batches.cancel(b.id);
    double.holdBatches(false);
    let s = await batches.retrieve(b.id);
    while (s.status !== 'ended') s = await batches.retrieve(b.id);
    expect((await batches.results(b.id)).map((r) => r.type)).toEqual(['canceled']);
  });
});
