// Recursive Tournament Voting (method.md): split the population into groups of G, pick one winner
// per group by V votes of the judge, keep the winners, repeat until `target` remain. Pure: the
// bracket is planned here from a seed, the votes come from outside (model activities), the tally
// and tie rules are here. Same seed and same votes, same bracket, in a workflow or in `select`.

/** A small seeded PRNG (mulberry32): deterministic everywhere, unlike Math.random outside workflows. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export interface RoundPlan {
  groups: string[][];
  /** Advance unjudged: the population does not divide by G, or fewer eliminations are needed. */
  byes: string[];
}

/**
 * One round. Groups are formed from a seeded shuffle; only as many eliminations as needed to
 * reach `target` happen (a last group may be smaller than G); candidates that had a bye last round
 * are put into groups first, so nobody gets two byes in a row while others can take one.
 */
export function planRound(
  population: readonly string[],
  target: number,
  groupSize: number,
  random: () => number,
  lastByes: ReadonlySet<string> = new Set(),
): RoundPlan {
  if (groupSize < 2) throw new Error('group size must be at least 2');
  const excess = population.length - Math.max(target, 1);
  if (excess <= 0) return { groups: [], byes: [...population] };
  const full = Math.floor(population.length / groupSize);
  const perGroup = groupSize - 1;
  let sizes: number[];
  if (excess >= full * perGroup) {
    sizes = Array(full).fill(groupSize);
    // Too few for one full group (e.g. 3 candidates, G = 4): one group that removes just the excess.
    if (full === 0) sizes = [excess + 1];
  } else {
    sizes = Array(Math.floor(excess / perGroup)).fill(groupSize);
    if (excess % perGroup) sizes.push((excess % perGroup) + 1);
  }
  const shuffled = shuffle(population, random);
  // Those who just had a bye go first, so they are grouped; the rest keep their shuffled order.
  const ordered = [...shuffled.filter((c) => lastByes.has(c)), ...shuffled.filter((c) => !lastByes.has(c))];
  const groups: string[][] = [];
  let i = 0;
  for (const size of sizes) {
    groups.push(ordered.slice(i, i + size));
    i += size;
  }
  return { groups, byes: ordered.slice(i) };
}

/** Winners a round keeps: one per group plus every bye. */
export const roundSurvivors = (plan: RoundPlan) => plan.groups.length + plan.byes.length;

/**
 * Candidate order for each of V votes: rotated so each candidate is shown first equally often
 * (exactly so when V is a multiple of the group's size; for G = 2, half A,B and half B,A).
 */
export function voteOrders(group: readonly string[], votes: number): string[][] {
  return Array.from({ length: votes }, (_, v) => group.map((_, i) => group[(i + v) % group.length]!));
}

/** A vote: the candidate chosen, or null for an abstention (unparseable even after a retry). */
export type Vote = string | null;

export type Tally =
  | { kind: 'winner'; winner: string; counts: Record<string, number> }
  | { kind: 'tie'; tied: string[]; counts: Record<string, number> };

export function tally(group: readonly string[], votes: readonly Vote[]): Tally {
  const counts = Object.fromEntries(group.map((c) => [c, 0])) as Record<string, number>;
  for (const v of votes) if (v !== null && v in counts) counts[v]!++;
  const best = Math.max(...Object.values(counts));
  const top = group.filter((c) => counts[c] === best);
  return top.length === 1 ? { kind: 'winner', winner: top[0]!, counts } : { kind: 'tie', tied: top, counts };
}

/** Tie rule (method.md, ours): one extra vote among the tied; if still tied, a seeded random pick. */
export function breakTie(
  tied: readonly string[],
  extraVote: Vote,
  random: () => number,
): { winner: string; how: 'extra-vote' | 'random' } {
  if (extraVote !== null && tied.includes(extraVote)) return { winner: extraVote, how: 'extra-vote' };
  return { winner: tied[Math.floor(random() * tied.length)]!, how: 'random' };
}

export interface BracketGroup {
  members: string[];
  votes: { order: string[]; choice: Vote }[];
  counts: Record<string, number>;
  winner: string;
  tie?: { tied: string[]; extraVote: Vote; how: 'extra-vote' | 'random' };
}

/** A played tournament: who met whom, every vote, ties and byes (bracket.json). */
export interface Bracket {
  id: string;
  target: number;
  groupSize: number;
  votes: number;
  seed: number;
  judgeInput: 'summaries' | 'trajectories';
  candidates: string[];
  rounds: { groups: BracketGroup[]; byes: string[] }[];
  winners: string[];
}
