// Where prompt-cache breakpoints go, per kind of call. The Messages API caches the prefix of a
// request (tools, then system, then messages) up to a block marked with cache_control: a later
// request whose prefix up to one of its own breakpoints was written within the cache's lifetime
// reads it at 0.1x the input price instead of paying for it again. At most 4 breakpoints per
// request; a prefix shorter than the model's minimum is simply not cached.
//
// Each call kind is laid out static-first so that its repeated part really is a shared prefix:
// - agent steps: system, the task prompt (with a PDR rollout's context summaries at its end),
//   then the conversation. Breakpoints on the task prompt (shared by every rollout of a task
//   given the same summaries) and on the last message, moving forward each step as
//   mini-swe-agent's set_cache_control("default_end") moves it; the previous step's breakpoint
//   is two blocks back, well within the API's 20-block lookback, so each step reads all but
//   its newest reply and observation. The first step of rollouts sharing a task prompt is sent
//   by one of them first and by the others once it has answered (activities/rollout.ts), so
//   they read the prompt it wrote.
// - summaries: system, the trajectory prompt, then retries. A trajectory is summarised once
//   unless the answer is invalid, so the first call carries no mark (a write costs 1.25x input
//   and nothing would read it); from the first retry on, the trajectory prompt and the last
//   message are marked, and every later retry reads the trajectory instead of paying for it.
// - judge votes: system, the task and instructions, then the candidates in the vote's order,
//   then the question. A mark after the task part (shared by every vote of the tournament) and
//   one at the end of the prompt (shared by the votes of a group that show the same order:
//   V / G of them with the rotated orders of core/tournament.ts). The rotation itself stays:
//   showing every vote the same order would trade the position-bias control for a cache hit.
//   A prompt no other vote shows is sent unmarked. Since an entry is readable only once the
//   response that wrote it has begun, the worker sends the first of identical prompts alone and
//   the others once it has answered (activities/scaling.ts cacheWarmGate).
import type { ChatMessage } from './model';

/**
 * Lifetime of the marks of summaries and votes: their prefixes are read within seconds (the
 * retry, the other votes of the round), so the cheaper write (1.25x, not 2x) always pays.
 * Agent steps use model.cache.ttl, as a step may wait minutes on its container.
 */
export const SHORT_TTL = '5m' as const;

/** The API's limit on cache_control blocks in one request. */
export const MAX_BREAKPOINTS = 4;

/**
 * Minimum cacheable prefix per model, in tokens (Anthropic's prompt-caching documentation): a
 * shorter prefix is processed without caching, without an error.
 */
export function minCacheableTokens(model: string): number {
  if (/opus-4-[56]|haiku-4-5/.test(model)) return 4096;
  if (/haiku-3/.test(model)) return 2048;
  return 1024;
}

/** The conversation with a breakpoint at the end of its first user message and of its last message. */
export function markConversation(messages: readonly ChatMessage[]): ChatMessage[] {
  const first = messages.findIndex((m) => m.role === 'user');
  const last = messages.length - 1;
  return messages.map((m, i) => (i === first || i === last ? { ...m, cacheAt: [m.content.length] } : m));
}

/**
 * A judge prompt with a breakpoint where the candidates begin (the shared task part) and at its
 * end. `candidatesAt` is the offset of the first candidate in the prompt (-1: not found, end only).
 */
export function markJudgePrompt(prompt: string, candidatesAt: number): ChatMessage {
  const at = candidatesAt > 0 ? [candidatesAt, prompt.length] : [prompt.length];
  return { role: 'user', content: prompt, cacheAt: at };
}

/**
 * The breakpoints a request will carry: each message split into text blocks at its `cacheAt`
 * offsets, every block that ends at one marked. When there are more than MAX_BREAKPOINTS the
 * earliest marks are kept except the first (the most widely shared prefix) and the last ones
 * (the longest prefix, which the next request reads): the first and the last three.
 */
export function textBlocks(
  messages: readonly ChatMessage[],
): { role: ChatMessage['role']; blocks: { text: string; cache: boolean }[] }[] {
  const all = messages.flatMap((m, i) =>
    [...new Set(m.cacheAt ?? [])]
      .filter((at) => at > 0 && at <= m.content.length)
      .sort((a, b) => a - b)
      .map((at) => ({ i, at })),
  );
  const kept = all.length <= MAX_BREAKPOINTS ? all : [all[0]!, ...all.slice(-(MAX_BREAKPOINTS - 1))];
  return messages.map((m, i) => {
    const cuts = kept.filter((k) => k.i === i).map((k) => k.at);
    const blocks: { text: string; cache: boolean }[] = [];
    let from = 0;
    for (const at of cuts) {
      blocks.push({ text: m.content.slice(from, at), cache: true });
      from = at;
    }
    if (from < m.content.length || blocks.length === 0) blocks.push({ text: m.content.slice(from), cache: false });
    return { role: m.role, blocks };
  });
}
