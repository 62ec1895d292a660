// What the model bill comes to, with prompt caching off and on and with the Message Batches API off
// and on, for the same requests, next to what mini-swe-agent's caching policy would pay for them.
// The requests are the project's own prompts (agent templates, summary and judge prompts, the
// breakpoints of core/cache.ts) at realistic sizes, sent through the real SDK and this project's
// model client to the Messages-API test double, which prices caching by the API's documented rules
// (scripted-model/promptCache.ts) on a simulated clock, so waits between steps cost no time here.
// Figures are the test double's accounting at the configured list prices, not a real bill.
//   npx tsx scripts/bench-cost.ts [--steps 50] [--obs-tokens 2000] [--n 16] [--iterations 2] [--k 4]
//     [--group-size 2] [--votes 8] [--model claude-sonnet-4-6] [--ttl-rollouts 2]
import './bench-env';
import { cacheWarmGate } from '../activities/scaling';
import { render, TemplatesSchema } from '../core/agent';
import { markConversation, SHORT_TTL } from '../core/cache';
import { ModelConfigSchema, type ModelConfig } from '../core/config';
import { judgePrompt } from '../core/judge';
import { markJudgePrompt } from '../core/cache';
import { addCost, type ChatMessage, type ModelReply, type ModelRequest } from '../core/model';
import { contextText, renderTrajectory, summaryPrompt, SUMMARY_SYSTEM } from '../core/summary';
import { JUDGE_SYSTEM } from '../core/judge';
import { tally, voteOrders } from '../core/tournament';
import { createModelClient } from '../runtime/model';
import { createBatchClient } from '../runtime/model/batches';
import { startMessagesApiDouble } from '../scripted-model/messagesApi';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const sarg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const STEPS = arg('steps', 50);
const OBS = arg('obs-tokens', 2000);
const N = arg('n', 16);
const T = arg('iterations', 2);
const K = arg('k', 4);
const G = arg('group-size', 2);
const V = arg('votes', 8);
const MODEL = sarg('model', 'claude-sonnet-4-6');
const TTL_ROLLOUTS = arg('ttl-rollouts', 2);
/** The configured default lifetime (model.cache.ttl), used for the per-task figures. */
const DEFAULT_TTL = ModelConfigSchema.parse({}).cache.ttl;

let clock = 0;
const double = await startMessagesApiDouble({ latencyMs: 5, now: () => clock });
const templates = TemplatesSchema.parse({});

// Deterministic filler text: distinct per seed, about 4 characters a token in the double.
const filler = (tokens: number, seed: string) => {
  let s = '';
  for (let i = 0; s.length < tokens * 4; i++) s += `${seed}-${i} lorem ipsum dolor sit amet `;
  return s.slice(0, tokens * 4);
};
const TASK = `Fix the bug in the parser.\n${filler(600, 'issue')}`;
// The agent's reply (a thought and one command, ~150 tokens), unique per call; the judge names the
// lowest-numbered attempt it is shown (no ties); the summariser writes ~500 tokens.
double.setReply((req) => {
  if (req.system === JUDGE_SYSTEM) {
    const shown = [...(req.messages[0]?.content ?? '').matchAll(/<attempt id="([A-Z])">\nattempt (\d+)/g)];
    const best = shown.reduce((a, b) => (Number(b[2]) < Number(a[2]) ? b : a), shown[0]!);
    return { text: `The first attempt checked its change. <answer>${best[1]}</answer>` };
  }
  if (req.system === SUMMARY_SYSTEM) return { text: filler(500, `summary-${req.callIndex}`) };
  return { text: `THOUGHT: ${filler(130, `t${req.callIndex}`)}\n\n\`\`\`bash\nls -la src/${req.callIndex}\n\`\`\`` };
});

type Policy = 'off' | 'mini' | 'ours';
const configFor = (cache: boolean, ttl: '5m' | '1h' = '5m'): ModelConfig =>
  ModelConfigSchema.parse({ name: MODEL, baseUrl: double.baseUrl.anthropic, cache: { enabled: cache, ttl } });
/** mini-swe-agent's set_cache_control("default_end"): one mark, on the last message, default lifetime. */
const markLastOnly = (ms: ChatMessage[]): ChatMessage[] =>
  ms.map((m, i) => (i === ms.length - 1 ? { ...m, cacheAt: [m.content.length] } : m));

const instance = (context: string) =>
  render(templates.swebenchInstance, {
    task: TASK,
    workdir: '/testbed',
    command_timeout: 60,
    submit_command: 'echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && cat patch.txt',
    context: context ? `\n\n${context}` : '',
  });

interface Rollout {
  id: string;
  messages: ChatMessage[];
  cost: number | null;
}

/**
 * `rollouts` agents of one iteration, in parallel, for STEPS steps; before step s the clock moves
 * by gapSec(s) (the command's run time and the wait for a container), so a 5-minute entry can lapse.
 */
async function agents(
  policy: Policy,
  ttl: '5m' | '1h',
  ids: string[],
  context: string,
  gapSec: (step: number) => number,
): Promise<Rollout[]> {
  const model = createModelClient(configFor(policy !== 'off', policy === 'mini' ? '5m' : ttl));
  const rs: Rollout[] = ids.map((id) => ({ id, messages: [{ role: 'user', content: instance(context) }], cost: 0 }));
  const warm = cacheWarmGate();
  for (let step = 1; step <= STEPS; step++) {
    clock += gapSec(step) * 1000;
    await Promise.all(
      rs.map(async (r) => {
        const messages =
          policy === 'ours' ? markConversation(r.messages) : policy === 'mini' ? markLastOnly(r.messages) : r.messages;
        // As the rollout activity: with our marks, the first step of rollouts sharing a prompt goes first.
        const call = () => model.complete({ system: templates.system, messages });
        const reply = await (policy === 'ours' && step === 1 ? warm(r.messages[0]!.content, call) : call());
        r.cost = addCost(r.cost, reply.costUsd);
        const obs = render(templates.observation, { returncode: 0, output: filler(OBS, `${r.id}-obs${step}`) });
        r.messages.push({ role: 'assistant', content: reply.text }, { role: 'user', content: obs });
      }),
    );
  }
  return rs;
}

/** Model calls direct or as one batch; costs in call order. */
async function ask(requests: ModelRequest[], batch: boolean, cfg: ModelConfig, gate?: (r: ModelRequest) => string) {
  if (batch) {
    const client = createBatchClient(cfg);
    const b = await client.create(requests.map((request, i) => ({ customId: `e${i}`, request })));
    let s = b;
    while (s.status !== 'ended') s = await client.retrieve(b.id);
    const results = await client.results(b.id);
    return results.map((r) => {
      if (r.type !== 'succeeded') throw new Error(`batch entry ${r.customId} ${r.type}`);
      return r.reply;
    });
  }
  const model = createModelClient(cfg);
  const warm = cacheWarmGate();
  return Promise.all(
    requests.map((req) => {
      const call = () => model.complete(req);
      const key = gate?.(req);
      return key ? warm(key, call) : call();
    }),
  );
}
const sum = (rs: ModelReply[]) => rs.reduce<number | null>((a, r) => addCost(a, r.costUsd), 0);

/** Summaries of one iteration's rollouts (first attempts: valid answers, no retries). */
async function summaries(rs: Rollout[], batch: boolean, cfg: ModelConfig) {
  const reqs = rs.map((r) => {
    const steps = [];
    for (let i = 1; i < r.messages.length; i += 2)
      steps.push({ step: (i + 1) / 2, reply: r.messages[i]!.content, observation: r.messages[i + 1]?.content });
    return {
      system: SUMMARY_SYSTEM,
      messages: [
        { role: 'user' as const, content: summaryPrompt(TASK, renderTrajectory(steps, 120_000), 'Submitted') },
      ],
    };
  });
  const replies = await ask(reqs, batch, cfg);
  return { cost: sum(replies), texts: new Map(rs.map((r, i) => [r.id, replies[i]!.text])) };
}

/** A tournament from `candidates` down to `target` (G, V, rotated orders; votes of a round at once). */
async function tournament(
  candidates: string[],
  target: number,
  texts: Map<string, string>,
  batch: boolean,
  cfg: ModelConfig,
) {
  let population = [...candidates];
  let cost: number | null = 0;
  while (population.length > target) {
    const groups: string[][] = [];
    for (let i = 0; i < population.length; i += G) groups.push(population.slice(i, i + G));
    const byes = groups.filter((g) => g.length < 2).flat();
    const real = groups.filter((g) => g.length >= 2);
    const jobs = real.flatMap((members) =>
      voteOrders(members, V).map((order, _v, all) => {
        const prompt = judgePrompt(
          TASK,
          order.map((id) => ({ id, text: `attempt ${id.slice(1)}\n${texts.get(id)}` })),
          'summaries',
        );
        const shared = all.filter((o) => o.join() === order.join()).length > 1;
        const message: ChatMessage =
          cfg.cache.enabled && shared
            ? markJudgePrompt(prompt, prompt.indexOf('<attempt id="A">'))
            : { role: 'user', content: prompt };
        return { members, order, req: { system: JUDGE_SYSTEM, messages: [message], cacheTtl: SHORT_TTL } };
      }),
    );
    const replies = await ask(
      jobs.map((j) => j.req),
      batch,
      cfg,
      cfg.cache.enabled ? (r) => r.messages[0]!.content : undefined,
    );
    cost = addCost(cost, sum(replies));
    population = [
      ...real.map((members) => {
        const choices = jobs
          .map((j, i) => ({ j, choice: /<answer>([A-Z])<\/answer>/.exec(replies[i]!.text)?.[1] }))
          .filter((x) => x.j.members === members)
          .map((x) => x.j.order[x.choice!.charCodeAt(0) - 65] ?? null);
        const t = tally(members, choices);
        return t.kind === 'winner' ? t.winner : t.tied[0]!;
      }),
      ...byes,
    ];
  }
  return { cost, winners: population };
}

/** One task at the paper's setting: T iterations of N rollouts, summaries, RTV to K, then to one. */
async function task(policy: Policy, cache: boolean, batch: boolean) {
  clock += 3 * 3600_000; // nothing cached from the setting before
  const cfg = configFor(cache, DEFAULT_TTL);
  const stage = { agent: 0 as number | null, summaries: 0 as number | null, judge: 0 as number | null };
  let context = '';
  let rollouts = 0;
  for (let t = 0; t < T; t++) {
    const ids = Array.from({ length: N }, (_, i) => `r${t * N + i}`);
    const rs = await agents(policy, DEFAULT_TTL, ids, context, () => 30);
    rollouts += rs.length;
    for (const r of rs) stage.agent = addCost(stage.agent, r.cost);
    const s = await summaries(rs, batch, cfg);
    stage.summaries = addCost(stage.summaries, s.cost);
    const last = t === T - 1;
    const tr = await tournament(ids, last ? 1 : K, s.texts, batch, cfg);
    stage.judge = addCost(stage.judge, tr.cost);
    context = contextText(tr.winners.map((id) => s.texts.get(id)!));
  }
  return { ...stage, rollouts };
}

const money = (x: number | null) => (x === null ? 'unknown' : `$${x.toFixed(4)}`);
const ratio = (x: number | null, base: number | null) => (x === null || !base ? '-' : `${(x / base).toFixed(3)}x`);

console.log(
  `model ${MODEL} at the configured list prices (cache read 0.1x input, write 1.25x for 5 min, 2x for 1 h; batches 0.5x);` +
    ` figures from the Messages-API test double's accounting`,
);

// 1. Per rollout: caching policies and lifetimes, steps waiting on fast or slow containers.
const scenarios: [string, (s: number) => number][] = [
  ['steps 30 s apart', () => 30],
  ['1 step in 25 waits 6 min', (s) => (s % 25 === 0 ? 360 : 30)],
  ['1 step in 5 waits 6 min', (s) => (s % 5 === 0 ? 360 : 30)],
  ['every step waits 6 min', () => 360],
];
const rows: string[][] = [];
const perRollout = async (policy: Policy, ttl: '5m' | '1h') => {
  const out: (number | null)[] = [];
  for (const [, gap] of scenarios) {
    clock += 3 * 3600_000;
    const ids = Array.from({ length: TTL_ROLLOUTS }, (_, i) => `p${policy}${ttl}${i}`);
    const rs = await agents(policy, ttl, ids, '', gap);
    out.push(rs.reduce<number | null>((a, r) => addCost(a, r.cost), 0)! / rs.length);
  }
  return out;
};
const off = await perRollout('off', '5m');
for (const [name, policy, ttl] of [
  ['no caching', 'off', '5m'],
  ["mini-swe-agent's policy (last message, 5 min)", 'mini', '5m'],
  ['ours, 5 min', 'ours', '5m'],
  ['ours, 1 hour', 'ours', '1h'],
] as const) {
  const costs = policy === 'off' ? off : await perRollout(policy, ttl);
  rows.push([name, ...costs.map((c, i) => `${money(c)} (${ratio(c, off[i]!)})`)]);
}
console.log(
  `\nagent cost per rollout: ${STEPS} steps, ${OBS}-token observations, ${TTL_ROLLOUTS} rollouts in parallel`,
);
console.log(`| policy | ${scenarios.map(([n]) => n).join(' | ')} |`);
console.log(`|---|${scenarios.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);

// 2. Per task at the paper's setting, by stage.
console.log(
  `\nper task: N=${N}, T=${T}, K=${K}, G=${G}, V=${V}; ${STEPS}-step rollouts, steps 30 s apart; cache lifetime ${DEFAULT_TTL} (the default)`,
);
console.log('| setting | agent per rollout | agent | summaries | judge | summaries + judge | total |');
console.log('|---|---|---|---|---|---|---|');
const settings = [
  ['no caching, direct calls', 'off', false, false],
  ["mini-swe-agent's caching policy (agent steps), direct calls", 'mini', false, false],
  ['caching, direct calls', 'ours', true, false],
  ['no caching, batches', 'off', false, true],
  ['caching, batches', 'ours', true, true],
] as const;
let base: { sj: number | null; total: number | null; agent: number | null } | undefined;
for (const [name, policy, cache, batch] of settings) {
  const r = await task(policy, cache, batch);
  const sj = addCost(r.summaries, r.judge);
  const total = addCost(r.agent, sj);
  base ??= { sj, total, agent: r.agent };
  console.log(
    `| ${name} | ${money(r.agent === null ? null : r.agent / r.rollouts)} (${ratio(r.agent, base.agent)}) | ${money(r.agent)} | ${money(r.summaries)} | ${money(r.judge)} | ${money(sj)} (${ratio(sj, base.sj)}) | ${money(total)} (${ratio(total, base.total)}) |`,
  );
}
await double.close();
