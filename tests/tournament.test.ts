// Property tests of Recursive Tournament Voting's pure core, over random populations, group
// sizes, targets and seeds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { breakTie, planRound, rng, roundSurvivors, tally, voteOrders, type RoundPlan } from '../core/tournament';

/** Plays a whole tournament with a judge that always prefers the higher-ranked candidate. */
function play(n: number, target: number, g: number, seed: number, rank: (c: string) => number = (c) => Number(c)) {
  const random = rng(seed);
  let population = Array.from({ length: n }, (_, i) => String(i));
  let lastByes = new Set<string>();
  const rounds: RoundPlan[] = [];
  while (population.length > target) {
    const plan = planRound(population, target, g, random, lastByes);
    rounds.push(plan);
    const winners = plan.groups.map((grp) => grp.reduce((a, b) => (rank(a) >= rank(b) ? a : b)));
    population = [...winners, ...plan.byes];
    lastByes = new Set(plan.byes);
  }
  return { survivors: population, rounds };
}

const sizes = fc.record({
  n: fc.integer({ min: 1, max: 64 }),
  g: fc.constantFrom(2, 3, 4, 8, 16),
  target: fc.integer({ min: 1, max: 16 }),
  seed: fc.integer(),
});

describe('tournament', () => {
  it('survivors come from the population, exactly min(target, n) of them', () => {
    fc.assert(
      fc.property(sizes, ({ n, g, target, seed }) => {
        const { survivors } = play(n, target, g, seed);
        expect(survivors).toHaveLength(Math.min(target, n));
        expect(new Set(survivors).size).toBe(survivors.length);
        for (const s of survivors) expect(Number(s)).toBeLessThan(n);
      }),
    );
  });

  it('every round partitions the population; groups eliminate exactly n - target in total', () => {
    fc.assert(
      fc.property(sizes, ({ n, g, target, seed }) => {
        const { rounds } = play(n, target, g, seed);
        let pop = n;
        let eliminated = 0;
        for (const r of rounds) {
          const members = [...r.groups.flat(), ...r.byes];
          expect(members).toHaveLength(pop);
          expect(new Set(members).size).toBe(pop);
          for (const grp of r.groups) expect(grp.length).toBeGreaterThanOrEqual(2);
          for (const grp of r.groups) expect(grp.length).toBeLessThanOrEqual(Math.max(g, 2));
          eliminated += r.groups.reduce((a, grp) => a + grp.length - 1, 0);
          pop = roundSurvivors(r);
        }
        expect(eliminated).toBe(Math.max(0, n - target));
      }),
    );
  });

  it('with G = 2 a round halves the population (rounded up) until the target stops it; n - target comparisons', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 128 }), fc.integer({ min: 1, max: 8 }), fc.integer(), (n, target, seed) => {
        const { rounds } = play(n, target, 2, seed);
        expect(rounds.reduce((a, r) => a + r.groups.length, 0)).toBe(Math.max(0, n - target));
        let pop = n;
        for (const r of rounds) {
          expect(roundSurvivors(r)).toBe(Math.max(target, Math.ceil(pop / 2)));
          pop = roundSurvivors(r);
        }
      }),
    );
  });

  it('the round that reaches the target makes every survivor a group winner, unless fewer than 2 per survivor are left', () => {
    fc.assert(
      fc.property(sizes, ({ n, g, target, seed }) => {
        const { rounds } = play(n, target, g, seed);
        const last = rounds.at(-1);
        if (!last) return;
        const before = last.groups.flat().length + last.byes.length;
        expect(last.byes.length).toBe(Math.max(0, 2 * target - before));
      }),
    );
  });

  it('v2 plans exactly what v1 planned for G = 2 (runs in flight replay either)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 16 }),
        fc.integer(),
        fc.array(fc.integer({ min: 0, max: 63 })),
        (n, target, seed, byes) => {
          const population = Array.from({ length: n }, (_, i) => `c${i}`);
          const lastByes = new Set(byes.map((b) => `c${b}`));
          const plan = (rule: 'v1' | 'v2') => planRound(population, target, 2, rng(seed), lastByes, rule);
          expect(plan('v2')).toEqual(plan('v1'));
        },
      ),
    );
  });

  it("the paper's defaults: 16 -> 8 -> 4 is 12 comparisons, 16 -> 1 is 15, in 2 and 4 rounds", () => {
    const toK = play(16, 4, 2, 7);
    expect(toK.rounds.map((r) => r.groups.length)).toEqual([8, 4]);
    const toOne = play(16, 1, 2, 7);
    expect(toOne.rounds.map((r) => r.groups.length)).toEqual([8, 4, 2, 1]);
    expect(play(16, 1, 16, 7).rounds.map((r) => r.groups.length)).toEqual([1]); // G = N: one flat comparison
  });

  it('a judge with known preferences makes the best candidate win', () => {
    fc.assert(
      fc.property(sizes, ({ n, g, seed }) => {
        const { survivors } = play(n, 1, g, seed);
        expect(survivors).toEqual([String(n - 1)]);
      }),
    );
  });

  it('the same seed gives the same bracket; another seed (usually) another', () => {
    fc.assert(
      fc.property(sizes, ({ n, g, target, seed }) => {
        expect(play(n, target, g, seed).rounds).toEqual(play(n, target, g, seed).rounds);
      }),
    );
    const a = JSON.stringify(play(32, 1, 2, 1).rounds);
    const differs = [2, 3, 4, 5].some((s) => JSON.stringify(play(32, 1, 2, s).rounds) !== a);
    expect(differs).toBe(true);
  });

  it('byes rotate: nobody sits out two rounds in a row while others could', () => {
    fc.assert(
      fc.property(sizes, ({ n, g, target, seed }) => {
        const { rounds } = play(n, target, g, seed, () => 0); // ties everywhere: the first of a group wins
        for (let i = 1; i < rounds.length; i++) {
          const before = new Set(rounds[i - 1]!.byes);
          const grouped = rounds[i]!.groups.flat().length;
          const again = rounds[i]!.byes.filter((b) => before.has(b));
          // Only when there are more earlier byes than seats in groups may one sit out again.
          expect(again.length).toBeLessThanOrEqual(Math.max(0, before.size - grouped));
        }
      }),
    );
  });

  it('every candidate is shown first equally often when V is a multiple of G', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 1, max: 4 }), (g, k) => {
        const group = Array.from({ length: g }, (_, i) => `c${i}`);
        const orders = voteOrders(group, g * k);
        for (const order of orders) expect([...order].sort()).toEqual([...group].sort());
        for (const c of group) expect(orders.filter((o) => o[0] === c)).toHaveLength(k);
      }),
    );
    expect(voteOrders(['a', 'b'], 4)).toEqual([
      ['a', 'b'],
      ['b', 'a'],
      ['a', 'b'],
      ['b', 'a'],
    ]);
  });

  it('tallies count votes, ignore abstentions, and break ties by an extra vote, then by the seed', () => {
    expect(tally(['a', 'b'], ['a', 'b', 'a', null])).toMatchObject({
      kind: 'winner',
      winner: 'a',
      counts: { a: 2, b: 1 },
    });
    expect(tally(['a', 'b'], ['a', 'b', null, null])).toMatchObject({ kind: 'tie', tied: ['a', 'b'] });
    expect(tally(['a', 'b', 'c'], [null, null])).toMatchObject({ kind: 'tie', tied: ['a', 'b', 'c'] });
    expect(breakTie(['a', 'b'], 'b', rng(1))).toEqual({ winner: 'b', how: 'extra-vote' });
    const r1 = breakTie(['a', 'b'], null, rng(42));
    expect(r1.how).toBe('random');
    expect(breakTie(['a', 'b'], null, rng(42))).toEqual(r1);
  });
});
