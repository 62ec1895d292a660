// Recursive Tournament Voting in workflow code: rounds planned by core/tournament.ts, every group
// of a round and every vote of a group judged in parallel (one activity a vote), ties settled by
// one extra vote and then the seeded random source. The bracket records who met whom, each vote,
// and why a tie or a bye happened.
import { patched, proxyActivities } from '@temporalio/workflow';
import type { ModelActivities } from '../activities';
import type { BatchSettings, ModelRetry } from '../core/settings';
import { shortHash } from '../core/task';
import {
  breakTie,
  planRound,
  rng,
  shuffle,
  tally,
  voteOrders,
  type Bracket,
  type BracketGroup,
} from '../core/tournament';
import { modelOptions } from './activityOptions';
import { answerInBatch } from './batch';

export interface TournamentSpec {
  runDir: string;
  taskId: string;
  /**
   * The tournament's role in the run (`it0-select-4`, `it1-final`): names its bracket and seeds
   * its random stream, so `select` with the run's settings plays the run's own bracket again.
   */
  id: string;
  /** A selection's tournaments are stored under its folder; the run's own under the task's. */
  selectId?: string;
  candidates: string[];
  target: number;
  groupSize: number;
  votes: number;
  seed: number;
  judgeInput: 'summaries' | 'trajectories';
  /** Votes through the Message Batches API (a round's votes in one batch). */
  batch?: BatchSettings;
}

/** Tournament rules of runs started before v2 (random tie-vote order, no needless byes). */
export const RTV_V2 = 'rtv-v2';

export async function runTournament(spec: TournamentSpec, modelRetry: ModelRetry): Promise<Bracket> {
  const judge = proxyActivities<ModelActivities>(modelOptions(modelRetry));
  const v2 = patched(RTV_V2);
  // Each tournament draws from its own stream: same seed and id, same bracket.
  const random = rng(spec.seed ^ parseInt(shortHash(`${spec.taskId}\0${spec.id}`), 16));
  const { runDir: _runDir, taskId: _taskId, selectId: _selectId, ...shape } = spec;
  const bracket: Bracket = { ...shape, rounds: [], winners: [] };
  const where = { runDir: spec.runDir, taskId: spec.taskId, tournament: spec.id, selectId: spec.selectId };

  let population = [...spec.candidates];
  let lastByes = new Set<string>();
  const vote = (key: string, order: string[], shared: boolean) =>
    judge.judgeVote
      .executeWithOptions({ summary: `judge ${key}: ${order.join(' vs ')}` }, [
        { ...where, key, order, judgeInput: spec.judgeInput, shared },
      ])
      .then(
        (v) => v.choice,
        () => null,
      ); // a vote whose call keeps failing is an abstention

  for (let round = 0; population.length > spec.target; round++) {
    const plan = planRound(population, spec.target, spec.groupSize, random, lastByes, v2 ? 'v2' : 'v1');
    const orders = plan.groups.map((members) => voteOrders(members, spec.votes));
    // How many votes of a group show each prompt: caching one pays only when another shows it too
    // (a tie's extra vote reads the entry its group's votes wrote, when they were marked).
    const same = (a: string[], b: string[]) => a.join('\0') === b.join('\0');
    const shown = (g: number, order: string[]) => orders[g]!.filter((o) => same(o, order)).length;
    // A round's votes in one batch when the run asks for it; the votes below then read its answers.
    await answerInBatch(
      {
        runDir: spec.runDir,
        taskId: spec.taskId,
        key: `${spec.selectId ? `${spec.selectId}-` : ''}${spec.id}-r${round}`,
        jobs: orders.flatMap((os, g) =>
          os.map((order, v) => ({
            kind: 'vote' as const,
            tournament: spec.id,
            ...(spec.selectId ? { selectId: spec.selectId } : {}),
            key: `r${round}-g${g}-v${v}`,
            order,
            judgeInput: spec.judgeInput,
            shared: shown(g, order) > 1,
          })),
        ),
      },
      spec.batch,
      modelRetry,
    );
    const ballots = await Promise.all(
      plan.groups.map((_members, g) =>
        Promise.all(
          orders[g]!.map(async (order, v) => ({
            order,
            choice: await vote(`r${round}-g${g}-v${v}`, order, shown(g, order) > 1),
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
    // The extra vote shows the tied in a seeded random order (v1: group order, so a judge that
    // prefers the first position settled every tie for whoever the shuffle put first). Drawn in
    // group order before any vote is cast: the draw sequence never depends on timing.
    const tieOrders = tallies.map((t) => (t.kind === 'tie' ? (v2 ? shuffle(t.tied, random) : t.tied) : undefined));
    await answerInBatch(
      {
        runDir: spec.runDir,
        taskId: spec.taskId,
        key: `${spec.selectId ? `${spec.selectId}-` : ''}${spec.id}-r${round}-ties`,
        jobs: tieOrders.flatMap((order, g) =>
          order
            ? [
                {
                  kind: 'vote' as const,
                  tournament: spec.id,
                  ...(spec.selectId ? { selectId: spec.selectId } : {}),
                  key: `r${round}-g${g}-tie`,
                  order,
                  judgeInput: spec.judgeInput,
                  shared: shown(g, order) > 1,
                },
              ]
            : [],
        ),
      },
      spec.batch,
      modelRetry,
    );
    const extra = await Promise.all(
      tieOrders.map((order, g) =>
        order ? vote(`r${round}-g${g}-tie`, order, shown(g, order) > 1) : Promise.resolve(null),
      ),
    );
    // Random tie breaks in group order, after all votes, for the same reason.
    const groups = plan.groups.map((members, g): BracketGroup => {
      const t = tallies[g]!;
      if (t.kind === 'winner') return { members, votes: ballots[g]!, counts: t.counts, winner: t.winner };
      const broken = breakTie(t.tied, extra[g]!, random);
      const tie = { tied: t.tied, ...(v2 ? { order: tieOrders[g] } : {}), extraVote: extra[g]!, how: broken.how };
      return { members, votes: ballots[g]!, counts: t.counts, winner: broken.winner, tie };
    });
    bracket.rounds.push({ groups, byes: plan.byes });
    population = [...groups.map((g) => g.winner), ...plan.byes];
    lastByes = new Set(plan.byes);
  }
  bracket.winners = population;
  return bracket;
}
