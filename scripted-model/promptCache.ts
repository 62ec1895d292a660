// TEST DOUBLE of prompt caching, by the rules Anthropic documents for the Messages API, so that
// tests and benchmarks see the accounting a real key would:
// - the prompt is tools, then system, then messages, as a sequence of content blocks; a block
//   marked with cache_control ends a cacheable prefix (at most 4 marks: a 5th is a 400);
// - a request reads the longest prefix that an earlier request wrote within its lifetime (5
//   minutes, or 1 hour with ttl "1h"), looking for one at every block up to 20 blocks back from
//   each of its breakpoints; a read refreshes the entry's lifetime at no cost;
// - it writes the prefix up to each of its breakpoints beyond what it read, unless that prefix
//   is shorter than the model's minimum cacheable length (then it is ordinary input);
// - an entry becomes readable only once the response that wrote it has begun (parallel requests
//   do not see each other's writes);
// - usage: input_tokens counts what comes after the last written or read prefix,
//   cache_creation_input_tokens what was written (split by lifetime in cache_creation),
//   cache_read_input_tokens what was read; the three add up to the prompt's tokens.
// The OpenAI side caches automatically, as OpenAI documents: prefixes of 1024 tokens or more, in
// 128-token steps, reported as prompt_tokens_details.cached_tokens.
import { createHash } from 'node:crypto';
import { MAX_BREAKPOINTS, minCacheableTokens } from '../core/cache';

export const LOOKBACK_BLOCKS = 20;
const TTL_MS = { '5m': 5 * 60_000, '1h': 60 * 60_000 } as const;
type Ttl = keyof typeof TTL_MS;

export interface CacheUsage {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

interface Block {
  /** Where the block is (tool, system, a message's role): part of the prefix's identity, not of its length. */
  label: string;
  /** What the block adds to the prompt, as the model reads it (cache marks left out). */
  text: string;
  ttl?: Ttl;
}

/** The prompt as blocks, in the API's order: tools, system, messages. */
function blocksOf(body: Record<string, unknown>): Block[] {
  const blocks: Block[] = [];
  const push = (b: unknown, label: string) => {
    if (typeof b === 'string') return blocks.push({ label, text: b });
    const o = b as { cache_control?: { type?: string; ttl?: string }; text?: string; [k: string]: unknown };
    const { cache_control, ...rest } = o;
    blocks.push({
      label,
      text: typeof rest.text === 'string' && rest.type === 'text' ? rest.text : JSON.stringify(rest),
      ...(cache_control ? { ttl: cache_control.ttl === '1h' ? '1h' : '5m' } : {}),
    });
  };
  for (const t of (body.tools as unknown[] | undefined) ?? []) push(t, 'tool:');
  const system = body.system;
  if (typeof system === 'string') push(system, 'system:');
  else if (Array.isArray(system)) system.forEach((b) => push(b, 'system:'));
  for (const m of (body.messages as { role: string; content: unknown }[] | undefined) ?? []) {
    if (typeof m.content === 'string') push(m.content, `${m.role}:`);
    else if (Array.isArray(m.content)) m.content.forEach((b, i) => push(b, i === 0 ? `${m.role}:` : ''));
  }
  return blocks;
}

/** Deterministic stand-in for a tokenizer: about four characters per token (as the double's usage). */
const tokensOf = (chars: number) => Math.floor(chars / 4);

export interface PromptCache {
  /** A 400 message when the request's marks break the API's rules, else undefined. */
  check(body: Record<string, unknown>): string | undefined;
  /**
   * Usage of an Anthropic request, looked up when it arrives; `commit` makes its writes readable,
   * called when its response begins.
   */
  anthropic(body: Record<string, unknown>, totalTokens: number): { usage: CacheUsage; commit(): void };
  /** cached_tokens of an OpenAI-compatible request (automatic caching), likewise. */
  openai(
    model: string,
    messages: { role: string; content: string }[],
    totalTokens: number,
  ): { cached: number; commit(): void };
  /** Entries alive now (for tests). */
  size(): number;
}

export function createPromptCache(now: () => number = Date.now): PromptCache {
  const entries = new Map<string, { expires: number; ttl: Ttl }>();
  const alive = (key: string) => {
    const e = entries.get(key);
    if (e && e.expires > now()) return e;
    if (e) entries.delete(key);
    return undefined;
  };
  const prefixKeys = (model: string, blocks: { label: string; text: string }[]) => {
    const h = createHash('sha256').update(model);
    let n = 0;
    return blocks.map((b) => {
      h.update(`\u0000${b.label}\u0000${b.text}`);
      n += b.text.length;
      return { key: h.copy().digest('hex'), chars: n };
    });
  };

  return {
    check(body) {
      const marks = blocksOf(body).filter((b) => b.ttl);
      if (marks.length > MAX_BREAKPOINTS)
        return `A maximum of ${MAX_BREAKPOINTS} blocks with cache_control may be provided. Found ${marks.length}.`;
      const firstShort = marks.findIndex((b) => b.ttl === '5m');
      if (firstShort >= 0 && marks.slice(firstShort).some((b) => b.ttl === '1h'))
        return 'cache_control: a ttl of "1h" must come before any ttl of "5m"';
      return undefined;
    },

    anthropic(body, totalTokens) {
      const model = String(body.model);
      const blocks = blocksOf(body);
      const keys = prefixKeys(model, blocks);
      const marks = blocks.flatMap((b, i) => (b.ttl ? [i] : []));
      // The longest prefix written earlier, found from any breakpoint within the lookback.
      let read = -1;
      for (const m of marks)
        for (let j = m; j >= Math.max(0, m - LOOKBACK_BLOCKS + 1); j--)
          if (j > read && alive(keys[j]!.key)) {
            read = j;
            break;
          }
      const min = minCacheableTokens(model);
      const readTokens = read >= 0 ? tokensOf(keys[read]!.chars) : 0;
      if (read >= 0) {
        const e = alive(keys[read]!.key)!;
        e.expires = now() + TTL_MS[e.ttl]; // a read refreshes the lifetime
      }
      const written = { '5m': 0, '1h': 0 };
      const writes: { key: string; ttl: Ttl }[] = [];
      let upTo = readTokens;
      for (const m of marks) {
        const end = tokensOf(keys[m]!.chars);
        if (m <= read || end < min) continue;
        const ttl = blocks[m]!.ttl!;
        written[ttl] += end - upTo;
        upTo = end;
        writes.push({ key: keys[m]!.key, ttl });
      }
      const creation = written['5m'] + written['1h'];
      return {
        usage: {
          input_tokens: Math.max(0, totalTokens - readTokens - creation),
          cache_creation_input_tokens: creation,
          cache_read_input_tokens: readTokens,
          cache_creation: { ephemeral_5m_input_tokens: written['5m'], ephemeral_1h_input_tokens: written['1h'] },
        },
        commit() {
          for (const w of writes) {
            const e = alive(w.key);
            entries.set(w.key, { ttl: w.ttl, expires: Math.max(e?.expires ?? 0, now() + TTL_MS[w.ttl]) });
          }
        },
      };
    },

    openai(model, messages, totalTokens) {
      const keys = prefixKeys(
        model,
        messages.map((m) => ({ label: m.role, text: m.content })),
      );
      let cached = 0;
      for (const k of keys) if (alive(`oa:${k.key}`)) cached = tokensOf(k.chars);
      cached = cached >= 1024 ? Math.floor(cached / 128) * 128 : 0;
      return {
        cached: Math.min(cached, totalTokens),
        commit() {
          for (const k of keys)
            if (tokensOf(k.chars) >= 1024) entries.set(`oa:${k.key}`, { ttl: '5m', expires: now() + TTL_MS['5m'] });
        },
      };
    },

    size: () => [...entries.keys()].filter((k) => alive(k)).length,
  };
}
