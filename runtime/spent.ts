// What a run has spent so far, from its folder: every model call it recorded (agent steps,
// summaries, judge votes). A finished rollout's cost is its result's; a running one's is the sum
// of the steps it has been paid for, so budgets (core/budget.ts) see in-flight spending too.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Spent } from '../core/budget';
import type { RolloutResult } from '../core/rollout';
import { readIfExists } from './artifacts';
import { runFolder, taskFolder } from './runFolder';

const list = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
const cost = (file: string) => readIfExists<{ costUsd?: number | null }>(file)?.costUsd ?? 0;

/** Dollars recorded under one task folder (unpriced calls count as 0: a budget needs prices, checked at start). */
export function taskFolderSpent(dir: string): number {
  let total = 0;
  const rollouts = path.join(dir, 'rollouts');
  for (const r of list(rollouts)) {
    const rdir = path.join(rollouts, r);
    const result = readIfExists<RolloutResult>(path.join(rdir, 'result.json'));
    if (result) total += result.costUsd ?? 0;
    else
      for (const f of list(path.join(rdir, 'steps')))
        if (f.endsWith('.model.json'))
          total +=
            readIfExists<{ reply?: { costUsd?: number | null } }>(path.join(rdir, 'steps', f))?.reply?.costUsd ?? 0;
    total += cost(path.join(rdir, 'summary.json'));
  }
  const tournaments = path.join(dir, 'tournaments');
  for (const t of list(tournaments))
    for (const v of list(path.join(tournaments, t, 'votes'))) total += cost(path.join(tournaments, t, 'votes', v));
  return total;
}

export function spentOf(runDir: string, taskId: string): Spent {
  const tasks = path.dirname(runFolder(runDir).task(taskId).dir);
  let runUsd = 0;
  for (const t of list(tasks)) runUsd += taskFolderSpent(path.join(tasks, t));
  return { runUsd, taskUsd: taskFolderSpent(taskFolder(runDir, taskId).dir) };
}
