// The run folder's layout: every file a run, a validation or a selection writes has its path here,
// and nowhere else. A run folder is `<dataDir>/runs/<run-id>/`:
//
//   dataset.json  run.json  results.json  results.md  report.html  preds.json
//   rejected.json                                       tasks a partial dataset skipped
//   tasks/<task>/build.log  image-mappings.json  verdict.json  scaling.json
//   tasks/<task>/<attempt>/...                          validate's oracle and null attempts
//   tasks/<task>/rollouts/<rollout>/prompt.json  steps/NNNN.model.json  steps/NNNN.obs.json
//                                   steps/NNNN.buffer.txt                  terminal agent's scrollback
//                                   patch.diff  summary.json  result.json  <task>.traj.json
//                                   evaluation/...      the hidden tests' logs
//   tasks/<task>/tournaments/<id>/bracket.json  votes/<key>.json
//   tasks/<task>/batches/<key>.json  replies/<hash>.json  Message Batches: submitted, and answers
//                                                       waiting for their summary or vote
//   selections/<select-id>/results.json  results.md  tasks/<task>.json
//                          tasks/<task>/tournaments/<id>/bracket.json  votes/<key>.json
//   regrades/<regrade-id>/dataset.json  results.json  results.md
//                         tasks/<task>/build.log  rollouts/<rollout>/verdict.json  evaluation/...
//   (a regrade folder is laid out as a run folder for what it makes again: its tasks, their
//   images' build logs, each rollout's evaluation)
import path from 'node:path';
import type { Config } from '../core/config';
import { shortHash, slug } from '../core/task';
import { dataPaths } from './config';

/** Task folders are named by a slug of the id: ids may hold characters a file name cannot. */
const taskDirName = (taskId: string) => slug(taskId, 80);

export const runDirOf = (config: Config, runId: string) => path.join(dataPaths(config).runs, runId);

export function runFolder(runDir: string) {
  return {
    root: runDir,
    dataset: path.join(runDir, 'dataset.json'),
    run: path.join(runDir, 'run.json'),
    results: path.join(runDir, 'results.json'),
    table: path.join(runDir, 'results.md'),
    /** The report with charts, self-contained (core/reportHtml.ts). */
    html: path.join(runDir, 'report.html'),
    preds: path.join(runDir, 'preds.json'),
    /** Tasks a partial dataset skipped (unsupported or malformed), as verdicts: listed, never run. */
    rejected: path.join(runDir, 'rejected.json'),
    task: (taskId: string) => taskFolder(runDir, taskId),
    rollout: (taskId: string, rolloutId: string) => rolloutFolder(runDir, taskId, rolloutId),
    selection: (selectId: string) => selectionFolder(runDir, selectId),
    selections: path.join(runDir, 'selections'),
    regrade: (regradeId: string) => regradeFolder(runDir, regradeId),
  };
}

/** `regrade`'s folder: a run folder of its own (dataset.json, tasks/...) inside the run's. */
export function regradeFolder(runDir: string, regradeId: string) {
  const dir = path.join(runDir, 'regrades', regradeId);
  return {
    ...runFolder(dir),
    /** The new verdict of a rollout, with the old one and the grader's version. */
    verdict: (taskId: string, rolloutId: string) =>
      path.join(rolloutFolder(dir, taskId, rolloutId).dir, 'verdict.json'),
  };
}

/** A task's Message Batches (activities/batch.ts): one record per batch, and its answers by target file. */
export function batchFolder(runDir: string, taskId: string) {
  const dir = path.join(taskFolder(runDir, taskId).dir, 'batches');
  return {
    dir,
    record: (key: string) => path.join(dir, `${key}.json`),
    /** The batch's answer for the summary or vote stored at `target`, before that activity reads it. */
    reply: (target: string) => path.join(dir, 'replies', `${shortHash(path.relative(runDir, target))}.json`),
  };
}

export function taskFolder(runDir: string, taskId: string) {
  const dir = path.join(runDir, 'tasks', taskDirName(taskId));
  return {
    dir,
    buildLog: path.join(dir, 'build.log'),
    verdict: path.join(dir, 'verdict.json'),
    scaling: path.join(dir, 'scaling.json'),
    /** The image references mapped for the task's build (images.baseImages). */
    imageMappings: path.join(dir, 'image-mappings.json'),
    /** The images of the task's other compose services, by service name. */
    serviceImages: path.join(dir, 'service-images.json'),
    rollouts: path.join(dir, 'rollouts'),
    /** A validate attempt's logs (oracle, null). */
    attempt: (attempt: string) => path.join(dir, attempt),
    tournament: (id: string) => {
      const t = path.join(dir, 'tournaments', id);
      const votes = path.join(t, 'votes');
      return {
        dir: t,
        bracket: path.join(t, 'bracket.json'),
        votes,
        vote: (key: string) => path.join(votes, `${key}.json`),
      };
    },
  };
}

export function rolloutFolder(runDir: string, taskId: string, rolloutId: string) {
  const dir = path.join(taskFolder(runDir, taskId).rollouts, rolloutId);
  const pad = (n: number) => String(n).padStart(4, '0');
  return {
    dir,
    prompt: path.join(dir, 'prompt.json'),
    model: (step: number) => path.join(dir, 'steps', `${pad(step)}.model.json`),
    observation: (step: number) => path.join(dir, 'steps', `${pad(step)}.obs.json`),
    /** Terminal agent: the session's whole scrollback after the step (step 0: when it started). */
    buffer: (step: number) => path.join(dir, 'steps', `${pad(step)}.buffer.txt`),
    /** Terminal agent: the session's first screen and where its tmux came from, written once. */
    terminal: path.join(dir, 'terminal.json'),
    patch: path.join(dir, 'patch.diff'),
    summary: path.join(dir, 'summary.json'),
    evaluation: path.join(dir, 'evaluation'),
    traj: path.join(dir, `${taskId}.traj.json`),
    result: path.join(dir, 'result.json'),
  };
}
export type RolloutFolder = ReturnType<typeof rolloutFolder>;

export function selectionFolder(runDir: string, selectId: string) {
  const dir = path.join(runDir, 'selections', selectId);
  return {
    dir,
    results: path.join(dir, 'results.json'),
    table: path.join(dir, 'results.md'),
    task: (taskId: string) => path.join(dir, 'tasks', `${taskDirName(taskId)}.json`),
    tournament: (taskId: string, id: string) =>
      tournamentAt(path.join(dir, 'tasks', taskDirName(taskId), 'tournaments', id)),
  };
}

function tournamentAt(dir: string) {
  const votes = path.join(dir, 'votes');
  return {
    dir,
    bracket: path.join(dir, 'bracket.json'),
    votes,
    vote: (key: string) => path.join(votes, `${key}.json`),
  };
}

/** A tournament's folder: a selection's under the selection, the run's own under its task. */
export const tournamentFolder = (runDir: string, where: { taskId: string; tournament: string; selectId?: string }) =>
  where.selectId
    ? selectionFolder(runDir, where.selectId).tournament(where.taskId, where.tournament)
    : taskFolder(runDir, where.taskId).tournament(where.tournament);

/**
 * A schedule's folder, `<dataDir>/schedules/<id>/`: what it froze when it was created (the tasks,
 * the settings) and the runs it started, oldest first.
 */
export function scheduleFolder(config: Config, scheduleId: string) {
  const dir = path.join(dataPaths(config).schedules, scheduleId);
  return {
    dir,
    dataset: path.join(dir, 'dataset.json'),
    schedule: path.join(dir, 'schedule.json'),
    runs: path.join(dir, 'runs.json'),
  };
}
