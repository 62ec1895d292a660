// Property tests of Parallel-Distill-Refine's pure rules (core/pdr.ts), over random settings: what
// each iteration runs, judges, keeps, and hands the next one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  contextFor,
  iterationRolloutIds,
  judgedCandidates,
  needsSummaries,
  producedNothing,
  taskRandom,
  tournamentId,
  tournamentTarget,
} from '../core/pdr';
import type { RolloutResult } from '../core/rollout';
import { scalingOf, type ContextMode, type ScalingSettings } from '../core/settings';
import { rng } from '../core/tournament';

const settings = fc.record({
  strategy: fc.constantFrom('rtv' as const, 'pdr' as const),
  n: fc.integer({ min: 1, max: 32 }),
  iterations: fc.integer({ min: 1, max: 4 }),
  k: fc.integer({ min: 1, max: 8 }),
  groupSize: fc.constantFrom(2, 4, 8),
  votes: fc.integer({ min: 1, max: 8 }),
  context: fc.constantFrom<ContextMode>('select-K', 'random-K', 'own', 'none'),
  judgeInput: fc.constantFrom('summaries' as const, 'trajectories' as const),
  seed: fc.integer(),
});

const rollout = (rolloutId: string, steps: number, patchBytes?: number): RolloutResult => ({
  taskId: 't',
  rolloutId,
  exitStatus: 'Submitted',
  steps,
  apiCalls: steps,
  costUsd: 0,
  patchBytes,
  sandboxRestarts: 0,
  durationMs: 0,
});

describe('PDR rules', () => {
  it('each iteration runs N rollouts with ids unique across the whole run', () => {
    fc.assert(
      fc.property(settings, (s) => {
        const all = Array.from({ length: s.iterations }, (_, t) => iterationRolloutIds(s, t));
        for (const ids of all) expect(ids).toHaveLength(s.n);
        expect(new Set(all.flat()).size).toBe(s.n * s.iterations);
      }),
    );
  });

  it('the last iteration selects exactly one; earlier ones K for select-K, none otherwise', () => {
    fc.assert(
      fc.property(settings, (s) => {
        for (let t = 0; t < s.iterations; t++) {
          const target = tournamentTarget(s, t);
          if (t === s.iterations - 1) expect(target).toBe(1);
          else expect(target).toBe(s.context === 'select-K' ? s.k : 0);
        }
      }),
    );
  });

  it('tournament ids are distinct within a run (each seeds its own random stream)', () => {
    fc.assert(
      fc.property(settings, (s) => {
        const ids = Array.from({ length: s.iterations }, (_, t) => tournamentId(s, t));
        expect(new Set(ids).size).toBe(ids.length);
      }),
    );
  });

  it('summaries are made whenever a judge reads them or the next iteration needs them', () => {
    fc.assert(
      fc.property(settings, (s) => {
        for (let t = 0; t < s.iterations; t++) {
          const judgedOnSummaries = tournamentTarget(s, t) > 0 && s.judgeInput === 'summaries';
          const carried = t < s.iterations - 1 && s.context !== 'none';
          if (judgedOnSummaries || carried) expect(needsSummaries(s, t)).toBe(true);
          // Trajectory judging with nothing carried forward pays for no summary.
          if (s.judgeInput === 'trajectories' && !carried) expect(needsSummaries(s, t)).toBe(false);
        }
      }),
    );
  });

  it('sample is one iteration without summaries or selection', () => {
    const s = scalingOf({
      strategy: 'sample',
      n: 5,
      taskConcurrency: 1,
      limits: { stepLimit: 1, costLimitUsd: 0, formatErrorLimit: 1 },
      commandTimeoutSec: 1,
      modelRetry: { maxAttempts: 1, initialIntervalSec: 1, maxIntervalSec: 1 },
    });
    expect(s).toMatchObject({ strategy: 'sample', n: 5, iterations: 1 });
    expect(iterationRolloutIds(s, 0)).toEqual(['it0-r0', 'it0-r1', 'it0-r2', 'it0-r3', 'it0-r4']);
    expect(tournamentTarget(s, 0)).toBe(0);
    expect(needsSummaries(s, 0)).toBe(false);
  });

  it('judges every rollout that produced something, and all of them when none did', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ steps: fc.integer({ min: 0, max: 3 }), patch: fc.integer({ min: 0, max: 2 }) }), {
          minLength: 1,
          maxLength: 20,
        }),
        fc.constantFrom('patch' as const, 'container' as const),
        (shapes, grading) => {
          const rs = shapes.map((x, i) => rollout(`r${i}`, x.steps, x.patch));
          const { candidates, dropped } = judgedCandidates(rs, grading);
          expect([...candidates, ...dropped].sort()).toEqual(rs.map((r) => r.rolloutId).sort());
          const productive = rs.filter((r) => !producedNothing(r, grading)).map((r) => r.rolloutId);
          expect(candidates).toEqual(productive.length ? productive : rs.map((r) => r.rolloutId));
          for (const id of dropped)
            expect(
              producedNothing(
                rs.find((r) => r.rolloutId === id)!,
                grading,
              ),
            ).toBe(true);
        },
      ),
    );
  });

  it('context: select-K hands every rollout the winners, own its own position, random-K K distinct earlier ones', () => {
    fc.assert(
      fc.property(settings, fc.integer({ min: 1, max: 16 }), (s, prevN) => {
        const previous = {
          rollouts: Array.from({ length: prevN }, (_, i) => rollout(`it0-r${i}`, 1, 1)),
          selected: ['it0-r0'],
        };
        const random = rng(s.seed);
        for (let i = 0; i < s.n; i++) {
          const ctx = contextFor(s, previous, i, random);
          const earlier = new Set(previous.rollouts.map((r) => r.rolloutId));
          for (const id of ctx) expect(earlier.has(id)).toBe(true);
          if (s.context === 'select-K') expect(ctx).toEqual(previous.selected);
          if (s.context === 'none') expect(ctx).toEqual([]);
          if (s.context === 'own') expect(ctx).toEqual([`it0-r${i % prevN}`]);
          if (s.context === 'random-K') {
            expect(ctx).toHaveLength(Math.min(s.k, prevN));
            expect(new Set(ctx).size).toBe(ctx.length);
          }
        }
        // The first iteration has nothing before it.
        expect(contextFor(s, undefined, 0, random)).toEqual([]);
      }),
    );
  });

  it('random-K draws differ between rollouts but repeat for the same seed and task', () => {
    const s: ScalingSettings = {
      strategy: 'pdr',
      n: 8,
      iterations: 2,
      k: 2,
      groupSize: 2,
      votes: 1,
      context: 'random-K',
      judgeInput: 'summaries',
      seed: 3,
    };
    const previous = { rollouts: Array.from({ length: 8 }, (_, i) => rollout(`it0-r${i}`, 1)), selected: [] };
    const draw = (taskId: string) => {
      const random = taskRandom(s, taskId);
      return Array.from({ length: s.n }, (_, i) => contextFor(s, previous, i, random).join(','));
    };
    expect(draw('task-a')).toEqual(draw('task-a'));
    expect(new Set(draw('task-a')).size).toBeGreaterThan(1);
    expect(draw('task-a')).not.toEqual(draw('task-b'));
  });
});
