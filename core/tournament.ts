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
 * How a round is planned. `v1`: every round eliminates as many as it can with groups of G, so
 * with G > 2 a round that reaches the target may carry candidates forward on a bye. `v2` (ours,
 * today's): the round that can reach the target splits the population into exactly `target`
 * groups, so every survivor won a group (byes remain only where fewer than two candidates per
 * survivor are left). Both are identical for G = 2.
 */
export type RoundRule = 'v1' | 'v2';

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
  rule: RoundRule = 'v2',
): RoundPlan {
  if (groupSize < 2) throw new Error('group size must be at least 2');
  const keep = Math.max(target, 1);
  const excess = population.length - keep;
  if (excess <= 0) return { groups: [], byes: [...population] };
  let sizes: number[];
  if (rule === 'v2' && population.length <= keep * groupSize) {
    // The round that reaches the target: `keep` groups share the population, sizes within one of
    // each other (larger first); a "group" of one is a bye.
    const base = Math.floor(population.length / keep);
    const larger = population.length % keep;
    sizes = Array.from({ length: keep }, (_, i) => base + (i < larger ? 1 : 0)).filter((n) => n >= 2);
  } else {
    const full = Math.floor(population.length / groupSize);
    const perGroup = groupSize - 1;
    if (excess >= full * perGroup) {
      sizes = Array(full).fill(groupSize);
      // Too few for one full group (e.g. 3 candidates, G = 4): one group that removes just the excess.
      if (full === 0) sizes = [excess + 1];
    } else {
      sizes = Array(Math.floor(excess / perGroup)).fill(groupSize);
      if (excess % perGroup) sizes.push((excess % perGroup) + 1);
    }
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
  /** A tie: the extra vote (shown in `order`, a seeded shuffle of the tied), then a seeded pick if needed. */
  tie?: { tied: string[]; order?: string[]; extraVote: Vote; how: 'extra-vote' | 'random' };
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

/** How a tournament's decisions were made: what a reader needs to trust (or distrust) its pick. */
export interface BracketStats {
  groups: number;
  /** Judge calls, the extra tie votes included. */
  votes: number;
  /** Votes that named no candidate (unparseable twice, or the call kept failing). */
  abstentions: number;
  ties: number;
  /** Ties that the extra vote settled, and those left to the seeded random pick. */
  tiesByExtraVote: number;
  tiesByRandom: number;
  /** Groups in which not a single vote was valid: their winner is a random pick. */
  groupsWithoutValidVote: number;
  /** Winners that reached the end on a bye in the last round, not by winning a group there. */
  winnersByBye: number;
}

export function bracketStats(b: Pick<Bracket, 'rounds' | 'winners'>): BracketStats {
  const groups = b.rounds.flatMap((r) => r.groups);
  const choices = groups.flatMap((g) => [...g.votes.map((v) => v.choice), ...(g.tie ? [g.tie.extraVote] : [])]);
  const lastByes = new Set(b.rounds.at(-1)?.byes ?? []);
  return {
    groups: groups.length,
    votes: choices.length,
    abstentions: choices.filter((c) => c === null).length,
    ties: groups.filter((g) => g.tie).length,
    tiesByExtraVote: groups.filter((g) => g.tie?.how === 'extra-vote').length,
    tiesByRandom: groups.filter((g) => g.tie?.how === 'random').length,
    groupsWithoutValidVote: groups.filter(
      (g) => g.votes.every((v) => v.choice === null) && (g.tie?.extraVote ?? null) === null,
    ).length,
    winnersByBye: b.winners.filter((w) => lastByes.has(w)).length,
  };
}

export const emptyBracketStats = (): BracketStats => ({
  groups: 0,
  votes: 0,
  abstentions: 0,
  ties: 0,
  tiesByExtraVote: 0,
  tiesByRandom: 0,
  groupsWithoutValidVote: 0,
  winnersByBye: 0,
});

export function addBracketStats(a: BracketStats, b: BracketStats): BracketStats {
  const out = { ...a };
  for (const k of Object.keys(out) as (keyof BracketStats)[]) out[k] += b[k];
  return out;
}
