// TEST DOUBLE of a model acting as the bash agent, scripted per task: it recognises the task by
// its instruction in the first prompt and answers each turn from a behaviour (solve with the
// task's own reference solution, give up, break the format...). Rollouts of one task send the same
// first prompt, so the first call of each conversation is assigned the next behaviour in turn and
// tags its reply; later calls read the tag back from the conversation.
import { readFileSync } from 'node:fs';
import { PATCH_FILE, SUBMIT_SENTINEL, submitCommand } from '../core/agent';
import { JUDGE_SYSTEM } from '../core/judge';
import { SUMMARY_SYSTEM } from '../core/summary';
import type { Task } from '../core/task';
import { TERMINAL_PROMPT_MARK } from '../core/terminal';
import { keystrokes } from '../core/terminalCommands';
import type { DoubleReplyFn, DoubleRequest, DoubleResponse } from './messagesApi';
import { programOf, terminalReply } from './scriptedTerminal';

/** interact: run the program the task names and answer its questions (only a terminal can); badJson: terminal agent only (scriptedTerminal.ts), else solve. */
export type Behaviour = 'solve' | 'giveUp' | 'chatty' | 'wander' | 'fail' | 'interact' | 'badJson';

const say = (thought: string, command: string) => `THOUGHT: ${thought}\n\n\`\`\`bash\n${command}\n\`\`\``;

/** The reference solution as one command the agent can send. */
export function solutionCommand(task: Task): string {
  const s = task.solution;
  if (s.kind === 'patch')
    return `cd ${task.workdir ?? '/testbed'} && git apply <<'AGENTSCALE_PATCH'\n${s.patch.trimEnd()}\nAGENTSCALE_PATCH`;
  if (s.kind === 'script')
    return readFileSync(s.path, 'utf8')
      .replace(/^#!.*\n/, '')
      .trim();
  if (s.kind === 'commands') return `bash <<'AGENTSCALE_KEYS'\n${keystrokes(s.commands).trimEnd()}\nAGENTSCALE_KEYS`;
  throw new Error(`${task.id} has no reference solution to script`);
}

/** The reproduction script a solving SWE-bench rollout writes and leaves out of its patch. */
export const REPRO_SCRIPT = 'reproduce_issue.py';

/** How the agent submits: on SWE-bench, the patch file first, then the submission (core/agent.ts). */
function submitSteps(task: Task): string[] {
  return task.verifier.kind === 'swebench' ? [`git diff > ${PATCH_FILE}`, submitCommand(task)] : [submitCommand(task)];
}

/** Commands of each behaviour, in turn; the last one repeats. */
function plan(b: Behaviour, task: Task): string[] {
  switch (b) {
    case 'interact':
      // What works at a terminal fails in a fresh non-interactive shell: no tty to answer at.
      return ['ls -la', programOf(task), ...submitSteps(task)];
    case 'badJson':
    case 'solve':
      // On SWE-bench it also leaves a reproduction script behind, which its patch must not hold.
      return [
        'ls -la',
        solutionCommand(task),
        ...(task.verifier.kind === 'swebench' ? [`printf 'print("repro")\\n' > ${REPRO_SCRIPT}`] : []),
        ...submitSteps(task),
      ];
    case 'giveUp':
      return ['ls -la', ...submitSteps(task)];
    case 'wander':
      return ['ls -la', 'pwd', 'echo still looking'];
    case 'chatty':
    case 'fail':
      return [];
  }
}

/** The summary a scripted summariser writes: it names the plan it read in the trajectory. */
export function scriptedSummary(trajectory: string): string {
  const plan = /\[plan (\w+)\]/.exec(trajectory)?.[1] ?? 'unknown';
  const done = plan === 'solve';
  return JSON.stringify({
    hypotheses: [`plan ${plan}`],
    keyDecisions: [done ? 'applied a fix' : 'stopped early'],
    changes: done ? ['applied the fix'] : [],
    verification: [],
    progress: done ? 'done' : 'gave up',
    failureModes: done ? [] : ['no change made'],
    openIssues: [],
  });
}

/**
 * A judge with known preferences: the first attempt (in the order shown) whose text matches
 * `prefer`, else the first attempt. With rotated orders, a group with no preferred attempt ties.
 */
export function scriptedJudge(prompt: string, prefer: RegExp = /plan solve/): string {
  const attempts = [...prompt.matchAll(/<attempt id="([A-Z])">\n([\s\S]*?)\n<\/attempt>/g)].map((m) => ({
    letter: m[1]!,
    text: m[2]!,
  }));
  const pick = attempts.find((a) => prefer.test(a.text)) ?? attempts[0];
  return `Comparing the attempts... <answer>${pick?.letter ?? 'A'}</answer>`;
}

export interface ScriptedAgent {
  reply: DoubleReplyFn;
  /** Behaviour assigned to each conversation, in order of first calls, per task. */
  assigned: Map<string, Behaviour[]>;
}

/**
 * @param behaviours per task id, the behaviours handed out to its rollouts in turn (default: solve)
 */
export function scriptedAgent(
  tasks: Task[],
  behaviours: Record<string, Behaviour[]> = {},
  options: { prefer?: RegExp } = {},
): ScriptedAgent {
  const assigned = new Map<string, Behaviour[]>();
  const taskOf = (req: DoubleRequest) => tasks.find((t) => req.messages[0]?.content.includes(t.instruction.trim()));

  const reply: DoubleReplyFn = (req): DoubleResponse => {
    // The same model summarises and judges; its system prompt says which role it plays.
    if (req.system === SUMMARY_SYSTEM)
      return { text: `\`\`\`json\n${scriptedSummary(req.messages[0]?.content ?? '')}\n\`\`\`` };
    if (req.system === JUDGE_SYSTEM) return { text: scriptedJudge(req.messages[0]?.content ?? '', options.prefer) };
    const task = taskOf(req);
    if (!task) return { text: 'I do not know this task.' };
    const turns = req.messages.filter((m) => m.role === 'assistant');
    let behaviour: Behaviour;
    if (turns.length === 0) {
      const list = behaviours[task.id] ?? ['solve'];
      const given = assigned.get(task.id) ?? [];
      behaviour = list[given.length % list.length]!;
      assigned.set(task.id, [...given, behaviour]);
    } else {
      behaviour = (/\[plan (\w+)\]/.exec(turns[0]!.content)?.[1] as Behaviour | undefined) ?? 'solve';
    }
    if (behaviour === 'fail') return { error: { status: 500, type: 'api_error', message: 'scripted failure' } };
    // The terminal agent's first prompt (Terminus's): the same behaviours, played as keystrokes.
    if (req.messages[0]?.content.includes(TERMINAL_PROMPT_MARK) && behaviour !== 'chatty')
      return terminalReply(task, behaviour, req.messages);
    if (behaviour === 'chatty')
      return {
        text: `[plan chatty] I think the answer is to look around, but I will not say how (turn ${turns.length + 1}).`,
      };
    const steps = plan(behaviour, task);
    const command = steps[Math.min(turns.length, steps.length - 1)]!;
    const tag = turns.length === 0 ? `[plan ${behaviour}] ` : '';
    return {
      text: say(
        `${tag}step ${turns.length + 1} of my plan${command.includes(SUBMIT_SENTINEL) ? ': done, submitting' : ''}.`,
        command,
      ),
    };
  };
  return { reply, assigned };
}
