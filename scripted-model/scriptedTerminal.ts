// TEST DOUBLE of a model playing the terminal agent (Terminus's JSON protocol, core/terminal.ts):
// the same behaviours as the scripted bash agent, as keystroke batches. It reads the screen it is
// shown: it waits until what it started has finished, answers the questions an interactive
// program asks (`interact`), and confirms task completion when asked to, as Terminus requires.
import { readFileSync } from 'node:fs';
import type { Task } from '../core/task';
import type { Keystrokes } from '../core/terminal';
import type { DoubleResponse } from './messagesApi';

/**
 * solve: types the reference solution (as a script file) and runs it; giveUp: looks, then says
 * done; wander: never finishes; interact: runs the program the task names and answers its
 * arithmetic questions read off the screen; badJson: two malformed replies, then solves.
 */
export type TerminalBehaviour = 'solve' | 'giveUp' | 'wander' | 'interact' | 'badJson';

/** Printed by the solution run when it ends; typed split so the typed line never matches. */
const DONE = 'AGENTSCALE_SCRIPT_DONE';

const reply = (analysis: string, plan: string, commands: Keystrokes[], taskComplete = false) =>
  JSON.stringify({ analysis, plan, commands, task_complete: taskComplete }, null, 2);

function solutionKeystrokes(task: Task): Keystrokes[] {
  const s = task.solution;
  if (s.kind === 'patch') {
    const b64 = Buffer.from(s.patch).toString('base64');
    return [
      {
        keystrokes: `cd ${task.workdir ?? '/testbed'} && echo ${b64} | base64 -d | git apply; echo ${DONE.slice(0, 10)}""${DONE.slice(10)}\n`,
        duration: 1,
      },
    ];
  }
  if (s.kind !== 'script') throw new Error(`${task.id} has no reference solution to script`);
  // One line of base64: nothing in it that readline would take as a key (tabs, newlines in heredocs).
  const b64 = Buffer.from(readFileSync(s.path)).toString('base64');
  return [
    { keystrokes: `echo ${b64} | base64 -d > /tmp/agentscale-solution.sh\n`, duration: 0.2 },
    { keystrokes: `bash /tmp/agentscale-solution.sh; echo ${DONE.slice(0, 10)}""${DONE.slice(10)}\n`, duration: 1 },
  ];
}

const QUESTION = /What is (\d+) ([-+*]) (\d+)\?\s*$/;

function answer(screen: string): string | undefined {
  const m = QUESTION.exec(screen.trimEnd() + ' ');
  if (!m) return undefined;
  const [a, op, b] = [Number(m[1]), m[2], Number(m[3])];
  return String(op === '+' ? a + b : op === '-' ? a - b : a * b);
}

/** The program an `interact` task names: the first absolute path of an executable in its instruction. */
export const programOf = (task: Task) => /(\/[\w./-]+)/.exec(task.instruction)?.[1] ?? '/app/quiz';

/**
 * The reply for one turn of a terminal conversation. `messages` alternates user and assistant,
 * starting with the first prompt; the behaviour is tagged in the first reply's analysis.
 */
export function terminalReply(
  task: Task,
  behaviour: TerminalBehaviour | 'fail',
  messages: { role: string; content: string }[],
): DoubleResponse {
  const turns = messages.filter((m) => m.role === 'assistant').length;
  const last = messages[messages.length - 1]?.content ?? '';
  const tag = turns === 0 ? `[plan ${behaviour}] ` : '';
  const asked = /Are you sure you want to mark the task as complete\?/.test(last);
  const done = (why: string) => ({ text: reply(`${tag}${why}`, 'Mark the task complete.', [], true) });
  if (asked) return done('I checked the result; it is complete.');

  switch (behaviour) {
    case 'fail':
      return { error: { status: 500, type: 'api_error', message: 'scripted failure' } };
    case 'badJson':
      // Malformed first (no JSON at all), then a reply missing a required field, then a solver.
      if (turns === 0) return { text: `${tag}I will just run some commands: ls -la` };
      if (turns === 1) return { text: JSON.stringify({ analysis: 'Looking around.', commands: [] }) };
      return play(task, 'solve', turns - 2, last, '');
    default:
      return play(task, behaviour, turns, last, tag);
  }
}

function play(task: Task, behaviour: TerminalBehaviour, turn: number, screen: string, tag: string): DoubleResponse {
  const out = (analysis: string, plan: string, commands: Keystrokes[], complete = false) => ({
    text: reply(`${tag}${analysis}`, plan, commands, complete),
  });
  if (turn === 0)
    return out('An empty shell; I look around first.', 'List the files.', [{ keystrokes: 'ls -la\n', duration: 0.1 }]);
  switch (behaviour) {
    case 'solve':
      if (turn === 1)
        return out('I know what to do.', 'Write the solution script and run it.', solutionKeystrokes(task));
      if (!screen.includes(DONE))
        return out('The script is still running.', 'Wait for it.', [{ keystrokes: '', duration: 2 }]);
      return out('The script finished.', 'Mark the task complete.', [], true);
    case 'giveUp':
      return out('I cannot see how to do this.', 'Stop here.', [], true);
    case 'wander':
      return out('Still looking.', 'Look around some more.', [
        { keystrokes: turn % 2 ? 'pwd\n' : 'echo still looking\n', duration: 0.1 },
      ]);
    case 'interact': {
      if (turn === 1)
        return out('The task names an interactive program.', 'Start it.', [
          { keystrokes: `${programOf(task)}\n`, duration: 1 },
        ]);
      const a = answer(screen);
      if (a !== undefined) return out('It asks a question.', `Answer ${a}.`, [{ keystrokes: `${a}\n`, duration: 0.5 }]);
      if (/Your score: (\d+)\/\1/.test(screen)) return out('Every answer was right.', 'Done.', [], true);
      return out('Nothing to answer yet.', 'Wait.', [{ keystrokes: '', duration: 1 }]);
    }
    case 'badJson':
      return out('', '', []);
  }
}
