// A rollout's record in the run folder. The conversation is never passed through workflow history:
// each step writes its model reply and its observation as files keyed by step number, so a retried
// activity finds the work already done (a model call is never paid twice for a finished step), and
// the next step rebuilds the conversation from disk.
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { ParsedReply } from '../core/agent';
import type { Keystrokes, TerminalReply } from '../core/terminal';
import type { AgentKind } from '../core/terminal';
import type { ChatMessage, ModelReply } from '../core/model';
import type { RolloutResult } from '../core/rollout';
import { readIfExists, readJson, writeJson } from './artifacts';
import { rolloutFolder, taskFolder, type RolloutFolder } from './runFolder';

export interface StoredPrompt {
  system: string;
  instance: string;
  model: string;
  /** Which agent played the rollout; absent: bash (rollouts recorded before there was a choice). */
  agent?: AgentKind;
}

export interface StoredModelStep {
  step: number;
  reply: ModelReply;
  /** The bash agent's parse (a command), or the terminal agent's (keystroke batches). */
  parsed: ParsedReply | TerminalReply;
}

export interface StoredObservation {
  step: number;
  /** The user message that answers the step: the command's output, or the format-error text. */
  message: string;
  command?: string;
  exitCode?: number;
  output?: string;
  outputBytes?: number;
  timedOut?: boolean;
  durationMs?: number;
  submitted?: boolean;
  submission?: string;
  /** Terminal agent: the batches typed, each with its wait (seconds), as sent. */
  keystrokes?: Keystrokes[];
  /** Terminal agent: the visible screen after the batches. */
  screen?: string;
  /** Terminal agent: what the scrollback gained, or the screen (Terminus's incremental output), uncapped. */
  terminalOutput?: string;
  /** Terminal agent: the reply said task_complete (a first one is asked again; two in a row end). */
  taskComplete?: boolean;
}

/** Every step with a model reply on disk, in order, with its observation when it has one. */
export function storedSteps(
  p: RolloutFolder,
): { step: number; model: StoredModelStep; observation?: StoredObservation }[] {
  const out: { step: number; model: StoredModelStep; observation?: StoredObservation }[] = [];
  for (let step = 1; ; step++) {
    const model = readIfExists<StoredModelStep>(p.model(step));
    if (!model) return out;
    out.push({ step, model, observation: readIfExists<StoredObservation>(p.observation(step)) });
  }
}

/** Steps that have both halves on disk, in order (a half-done step ends the list). */
export function completedSteps(p: RolloutFolder): { model: StoredModelStep; observation: StoredObservation }[] {
  const out: { model: StoredModelStep; observation: StoredObservation }[] = [];
  for (const { model, observation } of storedSteps(p)) {
    if (!observation) break;
    out.push({ model, observation });
  }
  return out;
}

/** The messages sent for `step`: the instance prompt, then each earlier step's reply and answer. */
export function conversationFor(p: RolloutFolder, step: number): { prompt: StoredPrompt; messages: ChatMessage[] } {
  const prompt = readJson<StoredPrompt>(p.prompt);
  const done = completedSteps(p);
  if (done.length < step - 1) {
    throw new Error(`${p.dir}: step ${step} needs steps 1..${step - 1} on disk, found ${done.length}`);
  }
  const messages: ChatMessage[] = [{ role: 'user', content: prompt.instance }];
  for (const { model, observation } of done.slice(0, step - 1)) {
    messages.push({ role: 'assistant', content: model.reply.text }, { role: 'user', content: observation.message });
  }
  return { prompt, messages };
}

/** The mini-swe-agent trajectory (`<id>.traj.json`), so its tools read our runs. */
export function buildTrajectory(p: RolloutFolder, result: RolloutResult, submission: string) {
  // A terminal rollout whose sandbox never started has no prompt: its first screen is part of it.
  const prompt = readIfExists<StoredPrompt>(p.prompt) ?? { system: '', instance: '', model: '', agent: 'terminal' };
  const messages: { role: string; content: string; extra?: Record<string, unknown> }[] = [
    { role: 'system', content: prompt.system },
    { role: 'user', content: prompt.instance },
  ];
  for (const { step, model, observation: obs } of storedSteps(p)) {
    messages.push({
      role: 'assistant',
      content: model.reply.text,
      extra: {
        step,
        usage: model.reply.usage,
        cost: model.reply.costUsd,
        stop_reason: model.reply.stopReason,
        request_id: model.reply.requestId,
      },
    });
    if (obs) {
      messages.push({
        role: 'user',
        content: obs.message,
        extra:
          obs.keystrokes !== undefined
            ? {
                keystrokes: obs.keystrokes,
                screen: obs.screen,
                task_complete: obs.taskComplete,
                duration_ms: obs.durationMs,
              }
            : obs.command === undefined
              ? { format_error: true }
              : { returncode: obs.exitCode, timed_out: obs.timedOut, duration_ms: obs.durationMs },
      });
    }
  }
  return {
    info: {
      exit_status: result.exitStatus,
      submission,
      model_stats: {
        instance_cost: result.costUsd ?? 0,
        api_calls: result.apiCalls,
        cost_known: result.costUsd !== null,
      },
      model: prompt.model,
      ...(prompt.agent ? { agent: prompt.agent } : {}),
      agentscale: { rollout_id: result.rolloutId, steps: result.steps, passed: result.passed, detail: result.detail },
    },
    messages,
    // The terminal agent's trajectory has the same messages; each observation's `extra` holds
    // its keystroke batches and the screen after them.
    trajectory_format: prompt.agent === 'terminal' ? 'agentscale-terminal-1' : 'mini-swe-agent-1',
  };
}

export const writeResult = (p: RolloutFolder, r: RolloutResult) => writeJson(p.result, r);

/** Rollout ids of a task that already have a result (a resumed run skips them). */
export function finishedRollouts(runDir: string, taskId: string): RolloutResult[] {
  const dir = taskFolder(runDir, taskId).rollouts;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((id) => readIfExists<RolloutResult>(rolloutFolder(runDir, taskId, id).result))
    .filter((r): r is RolloutResult => !!r);
}

/** The exit statuses `--retry-errors` reruns: the rollout did not get to finish on its merits. */
export const RETRYABLE_STATUSES = ['ModelError', 'SandboxError'] as const;

/**
 * Sets aside, for `run --retry-errors`, the rollouts of a stopped or finished run that ended in
 * ModelError or SandboxError: their folders move to `tasks/<task>/retried/<n>/rollouts/`, so the
 * continued run no longer finds their results and runs them again from the start. A task that
 * loses a rollout also has its tournaments and scaling outcome set aside beside them (their votes
 * compared the old rollouts); its rollouts that finished otherwise are kept as they are.
 */
export function setAsideErrored(
  runDir: string,
  taskIds: string[],
): { taskId: string; rolloutId: string; exitStatus: string }[] {
  const moved: { taskId: string; rolloutId: string; exitStatus: string }[] = [];
  const retryable = new Set<string>(RETRYABLE_STATUSES);
  for (const taskId of taskIds) {
    const errored = finishedRollouts(runDir, taskId).filter((r) => retryable.has(r.exitStatus));
    if (errored.length === 0) continue;
    const t = taskFolder(runDir, taskId);
    const retried = path.join(t.dir, 'retried');
    let n = 1;
    while (existsSync(path.join(retried, String(n)))) n++;
    const dest = path.join(retried, String(n));
    mkdirSync(path.join(dest, 'rollouts'), { recursive: true });
    for (const r of errored) {
      renameSync(rolloutFolder(runDir, taskId, r.rolloutId).dir, path.join(dest, 'rollouts', r.rolloutId));
      moved.push({ taskId, rolloutId: r.rolloutId, exitStatus: r.exitStatus });
    }
    const tournaments = path.join(t.dir, 'tournaments');
    if (existsSync(tournaments)) renameSync(tournaments, path.join(dest, 'tournaments'));
    if (existsSync(t.scaling)) renameSync(t.scaling, path.join(dest, 'scaling.json'));
  }
  return moved;
}
