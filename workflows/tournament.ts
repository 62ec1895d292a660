// Recursive Tournament Voting in workflow code: rounds planned by core/tournament.ts, every group
// of a round and every vote of a group judged in parallel (one activity a vote), ties settled by
// one extra vote and then the seeded random source. The bracket records who met whom, each vote,
// and why a tie or a bye happened.
import { proxyActivities } from '@temporalio/workflow';
import type { ModelActivities } from '../activities';
import type { ModelRetry } from '../core/settings';
import { shortHash } from '../core/task';
import { breakTie, planRound, rng, tally, voteOrders, type Bracket, type BracketGroup } from '../core/tournament';
import { modelOptions } from './activityOptions';

export interface TournamentSpec {
  runDir: string;
  taskId: string;
  /** Names the tournament in the run folder and seeds it apart from the task's others. */
  id: string;
  candidates: string[];
  target: number;
  groupSize: number;
  votes: number;
  seed: number;
  judgeInput: 'summaries' | 'trajectories';
}

export async function runTournament(spec: TournamentSpec, modelRetry: ModelRetry): Promise<Bracket> {
  const judge = proxyActivities<ModelActivities>(modelOptions(modelRetry));
  // Each tournament draws from its own stream: same seed and id, same bracket.
  const random = rng(spec.seed ^ parseInt(shortHash(`${spec.taskId}\0${spec.id}`), 16));
  const { runDir: _runDir, taskId: _taskId, ...shape } = spec;
  const bracket: Bracket = { ...shape, rounds: [], winners: [] };

  let population = [...spec.candidates];
  let lastByes = new Set<string>();
  const vote = (key: string, order: string[]) =>
    judge.judgeVote
      .executeWithOptions({ summary: `judge ${key}: ${order.join(' vs ')}` }, [
        {
          runDir: spec.runDir,
          taskId: spec.taskId,
          tournament: spec.id,
          key,
          order,
          judgeInput: spec.judgeInput,
        },
      ])
      .then(
        (v) => v.choice,
        () => null,
      ); // a vote whose call keeps failing is an abstention

  for (let round = 0; population.length > spec.target; round++) {
    const plan = planRound(population, spec.target, spec.groupSize, random, lastByes);
    const ballots = await Promise.all(
      plan.groups.map((members, g) =>
        Promise.all(
          voteOrders(members, spec.votes).map(async (order, v) => ({
            order,
            choice: await vote(`r${round}-g${g}-v${v}`, order),
          })),
        ),
      ),
    );
    const tallies = plan.groups.map((members, g) =>
      tally(
        members,
        ballots[g]!.map((b) => b.choice),
      ),
    );
    const extra = await Promise.all(
      tallies.map((t, g) => (t.kind === 'tie' ? vote(`r${round}-g${g}-tie`, t.tied) : Promise.resolve(null))),
    );
    // Random tie breaks in group order, after all votes: the draw sequence never depends on timing.
    const groups = plan.groups.map((members, g): BracketGroup => {
      const t = tallies[g]!;
      if (t.kind === 'winner') return { members, votes: ballots[g]!, counts: t.counts, winner: t.winner };
      const broken = breakTie(t.tied, extra[g]!, random);
      return {
        members,
        votes: ballots[g]!,
        counts: t.counts,
        winner: broken.winner,
        tie: { tied: t.tied, extraVote: extra[g]!, how: broken.how },
      };
    });
    bracket.rounds.push({ groups, byes: plan.byes });
    population = [...groups.map((g) => g.winner), ...plan.byes];
    lastByes = new Set(plan.byes);
  }
  bracket.winners = population;
  return bracket;
}
