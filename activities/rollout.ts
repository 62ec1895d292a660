// The activities of one rollout: a step is a model turn and an exec, each idempotent by
// (rollout, step) through the rollout store; then the final state is collected and evaluated with
// the hidden tests, and the trajectory is written. The model client lives here, in the worker:
// the API key is read from the worker's environment and never leaves it.
import {
  formatErrorMessage,
  instancePrompt,
  observationMessage,
  parseReply,
  parseSubmission,
  type AgentConfig,
} from '../core/agent';
import { markConversation } from '../core/cache';
import type { Config } from '../core/config';
import type { ModelClient, Usage } from '../core/model';
import type { RolloutResult } from '../core/rollout';
import { contextText } from '../core/summary';
import type { Task } from '../core/task';
import { loadRunTask, readIfExists, readTextIfExists, writeFileAtomic, writeJson } from '../runtime/artifacts';
import { evaluateContainer, evaluatePatch, resolvedEnv, sandboxSpec, type Outcome } from '../runtime/evaluate';
import {
  buildTrajectory,
  completedSteps,
  conversationFor,
  storedSteps,
  finishedRollouts,
  writeResult,
  type StoredModelStep,
  type StoredObservation,
  type StoredPrompt,
} from '../runtime/rollouts';
import { rolloutFolder, type RolloutFolder } from '../runtime/runFolder';
import { diskGuard, execInSandbox } from '../runtime/sandbox';
import {
  completionConfirmation,
  incrementalOutput,
  limitOutput,
  parseTerminalReply,
  terminalFormatErrorMessage,
  terminalObservation,
  terminalPrompt,
  type AgentKind,
  type TerminalReply,
} from '../core/terminal';
import { capturePane, sendKeys, sessionAlive, startSession, tmuxIn, type Terminal } from '../runtime/tmux';
import { guarded, toFailure } from './failures';
import { cacheWarmGate } from './scaling';
import { withHeartbeat } from './heartbeat';
import type { LabelsFor } from './sandbox';

export interface RolloutRef {
  runDir: string;
  runId: string;
  taskId: string;
  rolloutId: string;
}

export interface TurnSummary {
  kind: 'action' | 'format_error';
  /** The command's first line, for the exec step's summary in the UI. */
  preview?: string;
  costUsd: number | null;
  usage?: Usage;
  stopReason: string;
  /** False when the reply came from the store (the call was made by an earlier attempt). */
  called: boolean;
}

export interface ExecSummary {
  exitCode: number;
  timedOut: boolean;
  submitted: boolean;
  outputBytes: number;
}

/**
 * The rollout's answer, stored as its patch: as in mini-swe-agent, what the agent submitted, i.e.
 * the output after the sentinel of its submitting command (`cat patch.txt`). That output was capped
 * in the observation, so the command runs again here, uncapped, in the container's final state.
 */
async function collect(t: Task, config: Config, containerId: string, p: RolloutFolder): Promise<string> {
  // The terminal agent submits no file: its answer is the repository's state, every change
  // staged and diffed as SWE-agent takes it (`git add -A && git diff --cached`).
  if (readIfExists<StoredPrompt>(p.prompt)?.agent === 'terminal') {
    const r = await execInSandbox({
      containerId,
      command: 'git add -A >/dev/null 2>&1 && git diff --cached',
      cwd: t.workdir ?? '/testbed',
      env: resolvedEnv(t, config, t.env),
      user: t.agent.user,
      timeoutSec: 120,
      outputCapBytes: 50_000_000,
    });
    if (r.exitCode !== 0) throw new Error(`git diff failed (exit ${r.exitCode}): ${r.output.slice(-500)}`);
    writeFileAtomic(p.patch, r.output);
    return r.output;
  }
  const command = completedSteps(p)
    .map((s) => s.observation)
    .find((o) => o.submitted)?.command;
  if (command === undefined) throw new Error(`${p.dir}: submitted, but no submitting step is stored`);
  const r = await execInSandbox({
    containerId,
    command,
    cwd: t.workdir ?? '/testbed',
    env: resolvedEnv(t, config, t.env),
    user: t.agent.user,
    timeoutSec: 120,
    outputCapBytes: 50_000_000,
  });
  const sub = parseSubmission(r.output, r.exitCode);
  if (!sub.submitted) throw new Error(`re-reading the submission failed (exit ${r.exitCode}): ${r.output.slice(-500)}`);
  writeFileAtomic(p.patch, sub.submission);
  return sub.submission;
}

/**
 * Re-runs a rollout's recorded commands (steps before `upTo`, all when absent) in a fresh
 * container, without asking the model again: how a lost container is rebuilt, and how `regrade`
 * restores a rollout's final state. Assumes the commands reproduce their effects, which file edits
 * and installs from a local cache do.
 */
export async function replayCommands(
  config: Config,
  t: Task,
  containerId: string,
  p: RolloutFolder,
  opts: { upTo?: number; timeoutSec: number; progress?: { replayed: number } },
): Promise<void> {
  const steps = completedSteps(p);
  for (const { observation } of steps.slice(0, (opts.upTo ?? steps.length + 1) - 1)) {
    if (observation.command === undefined || observation.submitted) continue;
    await execInSandbox({
      containerId,
      command: observation.command,
      cwd: t.workdir,
      env: resolvedEnv(t, config, t.env),
      user: t.agent.user,
      timeoutSec: opts.timeoutSec,
      outputCapBytes: 1024,
    });
    if (opts.progress) opts.progress.replayed++;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The terminal agent's keystroke batches of steps before `upTo` (all when absent), retyped with their waits. */
async function replayKeystrokeBatches(
  term: Terminal,
  p: RolloutFolder,
  opts: { upTo?: number; progress?: { replayed: number } },
): Promise<void> {
  const steps = completedSteps(p);
  for (const { observation } of steps.slice(0, (opts.upTo ?? steps.length + 1) - 1)) {
    for (const batch of observation.keystrokes ?? []) await typeBatch(term, batch);
    if (observation.keystrokes?.length && opts.progress) opts.progress.replayed++;
  }
}

/**
 * A finished rollout's final state rebuilt in a fresh container from what it recorded, with no
 * model call (`regrade`): the bash agent's commands run again, or the terminal agent's keystrokes
 * typed again into a new session.
 */
export async function restoreFinalState(config: Config, t: Task, containerId: string, p: RolloutFolder) {
  const steps = completedSteps(p);
  if (!steps.some((s) => s.observation.keystrokes?.length)) {
    await replayCommands(config, t, containerId, p, { timeoutSec: config.agent.commandTimeoutSec });
    return;
  }
  const term = await tmuxIn(config, containerId, t.agent.user);
  await startSession(term, { cwd: t.workdir, env: resolvedEnv(t, config, t.env) });
  await replayKeystrokeBatches(term, p, {});
}

/** One batch as Terminus types it: the keys, then what is left of its wait after sending them. */
async function typeBatch(term: Terminal, batch: { keystrokes: string; duration: number }) {
  const started = Date.now();
  await sendKeys(term, batch.keystrokes);
  const left = batch.duration * 1000 - (Date.now() - started);
  if (left > 0) await sleep(left);
}

/** The scrollback after the latest earlier step that typed anything (or when the session started). */
function previousBuffer(p: RolloutFolder, step: number): string | undefined {
  for (let s = step - 1; s >= 0; s--) {
    const b = readTextIfExists(p.buffer(s));
    if (b !== undefined) return b;
  }
  return undefined;
}

/**
 * Terminus's pending-completion flag before `step`: set by a reply that says task_complete,
 * cleared by one that does not; replies that did not parse leave it as it was.
 */
function pendingCompletion(p: RolloutFolder, step: number): boolean {
  let pending = false;
  for (const s of storedSteps(p)) {
    if (s.step >= step) break;
    const parsed = s.model.parsed as TerminalReply;
    if (parsed.kind === 'action') pending = parsed.taskComplete;
  }
  return pending;
}

const previewOf = (parsed: StoredModelStep['parsed']): string | undefined => {
  if (parsed.kind !== 'action') return undefined;
  if ('command' in parsed) return parsed.command.split('\n')[0]!.slice(0, 120);
  const typed = parsed.commands
    .map((c) => c.keystrokes)
    .join('')
    .trim();
  return (typed.split('\n')[0] ?? '').slice(0, 120) || (parsed.taskComplete ? '(task complete)' : '(wait)');
};

export function createRolloutActivities(
  config: Config,
  labelsFor: LabelsFor,
  model: () => ModelClient,
  agent: AgentConfig = config.agent,
) {
  const paths = (r: RolloutRef) => rolloutFolder(r.runDir, r.taskId, r.rolloutId);
  const gated = config.model.cache.enabled && config.model.provider === 'anthropic';
  const warm = cacheWarmGate();
  const task = (r: RolloutRef): Task => loadRunTask(r.runDir, r.taskId);
  const terminalOf = (t: Task, containerId: string) => tmuxIn(config, containerId, t.agent.user);

  return {
    /** Writes the prompts once; a retry or a resumed run keeps the first version. */
    async initRollout(input: RolloutRef & { contextFrom?: string[]; agent?: AgentKind }): Promise<void> {
      const p = paths(input);
      if (readIfExists(p.prompt)) return;
      // PDR: the summaries of the selected earlier rollouts (never their results) join the prompt.
      const summaries = (input.contextFrom ?? []).map((id) => {
        const s = readIfExists<{ text: string }>(rolloutFolder(input.runDir, input.taskId, id).summary);
        if (!s) throw new Error(`${input.rolloutId}: no summary of ${id} to give as context`);
        return s.text;
      });
      const context = contextText(summaries, config.scaling.templates.summary);
      if (input.agent === 'terminal') {
        // Terminus sends its prompt as the first user message, with no system prompt.
        const first = readIfExists<{ screen: string }>(p.terminal);
        if (!first) throw new Error(`${p.dir}: the terminal session's first screen is not stored`);
        writeJson(p.prompt, {
          system: '',
          instance: terminalPrompt(
            task(input),
            config.agent.templates.terminal,
            incrementalOutput(undefined, '', first.screen),
            context,
          ),
          contextFrom: input.contextFrom ?? [],
          model: config.model.name,
          agent: 'terminal',
        });
        return;
      }
      writeJson(p.prompt, {
        system: agent.templates.system,
        instance: instancePrompt(task(input), agent, context),
        contextFrom: input.contextFrom ?? [],
        model: config.model.name,
      });
    },

    async modelTurn(input: RolloutRef & { step: number }): Promise<TurnSummary> {
      const p = paths(input);
      const summarize = (s: StoredModelStep, called: boolean): TurnSummary => ({
        kind: s.parsed.kind,
        preview: previewOf(s.parsed),
        costUsd: s.reply.costUsd,
        usage: s.reply.usage,
        stopReason: s.reply.stopReason,
        called,
      });
      const done = readIfExists<StoredModelStep>(p.model(input.step));
      if (done) return summarize(done, false);

      const { prompt, messages } = conversationFor(p, input.step);
      const call = () =>
        model().complete({
          system: prompt.system,
          messages: markConversation(messages),
          sampling: config.model.sampling.agent,
        });
      // Rollouts of a task given the same summaries start with the same prompt: the first step of
      // one is sent alone, the others once it has answered, and read the prompt it wrote.
      const reply = await withHeartbeat(() =>
        gated && input.step === 1 ? warm(`${prompt.system}\0${prompt.instance}`, call) : call(),
      ).catch((e) => {
        throw toFailure(e);
      });
      const terminal = prompt.agent === 'terminal';
      const parsed = terminal
        ? parseTerminalReply(reply.text, reply.stopReason)
        : parseReply(reply.text, reply.stopReason);
      const stored: StoredModelStep = { step: input.step, reply, parsed };
      writeJson(p.model(input.step), stored);
      if (parsed.kind === 'format_error') {
        writeJson(p.observation(input.step), {
          step: input.step,
          message:
            'error' in parsed
              ? terminalFormatErrorMessage(parsed, config.model.maxTokens)
              : formatErrorMessage(parsed, agent),
        } satisfies StoredObservation);
      }
      return summarize(stored, true);
    },

    /** Runs the step's command. A retry after a crash runs it again in the same container. */
    async execStep(input: RolloutRef & { step: number; containerId: string }): Promise<ExecSummary> {
      const p = paths(input);
      const summarize = (o: StoredObservation): ExecSummary => ({
        exitCode: o.exitCode ?? -1,
        timedOut: !!o.timedOut,
        submitted: !!o.submitted,
        outputBytes: o.outputBytes ?? 0,
      });
      const done = readIfExists<StoredObservation>(p.observation(input.step));
      if (done) return summarize(done);
      const turn = readIfExists<StoredModelStep>(p.model(input.step));
      if (turn?.parsed.kind !== 'action') throw new Error(`${p.dir}: step ${input.step} has no action to run`);
      const t = task(input);
      return guarded(() =>
        withHeartbeat(async () => {
          const command = (turn.parsed as { command: string }).command;
          const r = await execInSandbox({
            containerId: input.containerId,
            command,
            cwd: t.workdir,
            env: resolvedEnv(t, config, t.env),
            user: t.agent.user,
            timeoutSec: agent.commandTimeoutSec,
            outputCapBytes: config.sandbox.outputCapBytes,
          });
          const sub = parseSubmission(r.output, r.exitCode);
          const obs: StoredObservation = {
            step: input.step,
            command,
            exitCode: r.exitCode,
            output: r.output,
            outputBytes: r.outputBytes,
            timedOut: r.timedOut,
            durationMs: r.durationMs,
            message: observationMessage(r, command, agent),
            submitted: sub.submitted,
          };
          writeJson(p.observation(input.step), obs);
          return summarize(obs);
        }),
      );
    },

    /**
     * Terminal agent: the tmux session in a (fresh) container, with the task's environment and
     * working folder. The first screen is stored once, for the first prompt; a rebuilt container
     * gets a new session and keeps the stored screen.
     */
    async startTerminal(input: RolloutRef & { containerId: string }): Promise<void> {
      const p = paths(input);
      const t = task(input);
      return guarded(() =>
        withHeartbeat(async () => {
          const term = await terminalOf(t, input.containerId);
          await startSession(term, { cwd: t.workdir, env: resolvedEnv(t, config, t.env) });
          if (readIfExists(p.terminal)) return;
          // Terminus reads the first screen at once; a shell prints its prompt within moments.
          await sleep(500);
          const buffer = await capturePane(term, true);
          const screen = await capturePane(term);
          writeFileAtomic(p.buffer(0), buffer);
          writeJson(p.terminal, { screen, tmux: term.tmux === 'tmux' ? 'image' : 'bundle' });
        }),
      );
    },

    /**
     * Terminal agent: the step's keystroke batches typed into the session, each followed by its
     * wait, then the screen read back. A retry after a crash types the batches again in the same
     * container (as the bash agent runs its command again).
     */
    async keystrokeStep(input: RolloutRef & { step: number; containerId: string }): Promise<ExecSummary> {
      const p = paths(input);
      const summarize = (o: StoredObservation): ExecSummary => ({
        exitCode: 0,
        timedOut: false,
        submitted: !!o.submitted,
        outputBytes: o.outputBytes ?? 0,
      });
      const done = readIfExists<StoredObservation>(p.observation(input.step));
      if (done) return summarize(done);
      const turn = readIfExists<StoredModelStep>(p.model(input.step));
      if (turn?.parsed.kind !== 'action' || !('commands' in turn.parsed))
        throw new Error(`${p.dir}: step ${input.step} has no keystrokes to type`);
      const reply = turn.parsed;
      const t = task(input);
      return guarded(() =>
        withHeartbeat(async () => {
          const started = Date.now();
          const term = await terminalOf(t, input.containerId);
          // The shell exited (`exit`, C-d): Terminus ends its loop there, and so does the rollout.
          if (!(await sessionAlive(term))) {
            const obs: StoredObservation = {
              step: input.step,
              message: 'The terminal session has ended.',
              keystrokes: [],
              submitted: true,
              durationMs: 0,
            };
            writeJson(p.observation(input.step), obs);
            return summarize(obs);
          }
          const disk = await diskGuard(input.containerId);
          for (const batch of reply.commands) await typeBatch(term, batch);
          // tmux bypasses the command server and its disk watchdog: the limit is checked per step.
          await disk.check();
          const buffer = await capturePane(term, true);
          const screen = await capturePane(term);
          const output = incrementalOutput(previousBuffer(p, input.step), buffer, screen);
          const pending = pendingCompletion(p, input.step);
          const obs: StoredObservation = {
            step: input.step,
            message:
              reply.taskComplete && !pending
                ? completionConfirmation(limitOutput(output))
                : terminalObservation(output, reply.warning),
            keystrokes: reply.commands,
            screen,
            terminalOutput: output,
            outputBytes: Buffer.byteLength(output),
            durationMs: Date.now() - started,
            taskComplete: reply.taskComplete,
            submitted: reply.taskComplete && pending,
          };
          writeFileAtomic(p.buffer(input.step), buffer);
          writeJson(p.observation(input.step), obs);
          return summarize(obs);
        }),
      );
    },

    /**
     * Terminal agent: a lost container rebuilt by typing the rollout's earlier keystrokes again,
     * each batch with its recorded wait, without asking the model (the same assumption as
     * replaySteps: what was typed reproduces its effects).
     */
    async replayKeystrokes(input: RolloutRef & { containerId: string; upTo: number }): Promise<{ replayed: number }> {
      const progress = { replayed: 0 };
      return guarded(() =>
        withHeartbeat(
          async () => {
            const term = await terminalOf(task(input), input.containerId);
            await replayKeystrokeBatches(term, paths(input), { upTo: input.upTo, progress });
            return { replayed: progress.replayed };
          },
          () => ({ replayed: progress.replayed }),
        ),
      );
    },

    /**
     * A lost container (a graceful worker stop removes its containers) is rebuilt by re-running
     * the rollout's earlier commands in a fresh one (replayCommands).
     */
    async replaySteps(input: RolloutRef & { containerId: string; upTo: number }): Promise<{ replayed: number }> {
      const progress = { replayed: 0 };
      return guarded(() =>
        withHeartbeat(
          async () => {
            await replayCommands(config, task(input), input.containerId, paths(input), {
              upTo: input.upTo,
              timeoutSec: agent.commandTimeoutSec,
              progress,
            });
            return { replayed: progress.replayed };
          },
          () => ({ replayed: progress.replayed }),
        ),
      );
    },

    /**
     * SWE-bench: the rollout's answer, its diff, taken from its container once the agent is done
     * (before the hidden tests: what the judge may know of a rollout comes from the rollout).
     */
    async collectPatch(input: RolloutRef & { containerId: string }): Promise<{ patchBytes: number }> {
      const p = paths(input);
      const done = readTextIfExists(p.patch);
      if (done !== undefined) return { patchBytes: Buffer.byteLength(done) };
      return guarded(() =>
        withHeartbeat(async () => ({
          patchBytes: Buffer.byteLength(await collect(task(input), config, input.containerId, p)),
        })),
      );
    },

    /**
     * The hidden tests, after the agent is done. Harbor and Terminal-Bench: in the agent's own
     * container (its final state is the answer). SWE-bench: the agent's diff, taken from the
     * container, applied in a fresh one as the official harness does.
     */
    async evaluateRollout(
      input: RolloutRef & { containerId?: string; image: string; sandboxName: string; submitted: boolean },
    ): Promise<Outcome & { patchBytes?: number }> {
      const p = paths(input);
      const t = task(input);
      const logDir = p.evaluation;
      return guarded(() =>
        withHeartbeat(async () => {
          if (t.verifier.kind !== 'swebench') {
            if (!input.containerId) throw new Error('no container to evaluate');
            return evaluateContainer(t, input.containerId, logDir, config);
          }
          // As in mini-swe-agent, only a submission counts: a rollout that hit a limit has an empty patch.
          // The patch is collected before (collectPatch), or here for rollouts started before that.
          let patch = readTextIfExists(p.patch);
          if (patch === undefined)
            patch = input.submitted && input.containerId ? await collect(t, config, input.containerId, p) : '';
          if (!patch.trim()) {
            const report = {
              patch_is_None: false,
              patch_exists: false,
              patch_successfully_applied: false,
              resolved: false,
              infra_failure: false,
            };
            return {
              passed: false,
              reason: input.submitted ? 'empty patch' : 'not submitted (empty patch)',
              report,
              durationMs: 0,
              patchBytes: 0,
            };
          }
          const labels = labelsFor({ runId: input.runId, taskId: input.taskId, attempt: `${input.rolloutId}-eval` });
          const outcome = await evaluatePatch(
            t,
            patch,
            sandboxSpec(t, config, input.image, input.sandboxName, labels),
            config,
            logDir,
          );
          return { ...outcome, patchBytes: Buffer.byteLength(patch) };
        }),
      );
    },

    /** Rollouts of a task that already have results (a continued run skips them). */
    async finishedRollouts(input: { runDir: string; taskId: string }): Promise<RolloutResult[]> {
      return finishedRollouts(input.runDir, input.taskId);
    },

    /** The rollout's result and its mini-swe-agent trajectory, written last. */
    async finishRollout(input: RolloutRef & { result: RolloutResult }): Promise<void> {
      const p = paths(input);
      writeJson(p.traj, buildTrajectory(p, input.result, readTextIfExists(p.patch) ?? ''));
      writeResult(p, input.result);
    },
  };
}

export type RolloutActivities = ReturnType<typeof createRolloutActivities>;
