// Terminal-Bench 1's solution.yaml: the oracle as a list of terminal commands, which its harness
// types into the task's tmux session one after another (terminal_bench/terminal/models.py
// TerminalCommand, agents/oracle_agent.py, terminal/tmux_session.py send_command): each command's
// text, then Enter unless `append_enter` is false. A bash executor gets the same keystrokes as one
// stream on a shell's standard input: commands run in order in one shell (its directory and
// variables carry over, as in the session), and a program a command starts reads the keystrokes
// that follow, as it would read them from the terminal.
import { z } from 'zod';

/** terminal_bench.terminal.models.TerminalCommand, with its defaults. */
export const TerminalCommandSchema = z.object({
  command: z.string(),
  min_timeout_sec: z.number().nonnegative().default(0),
  max_timeout_sec: z.number().positive().default(180),
  block: z.boolean().default(false),
  append_enter: z.boolean().default(true),
});
export type TerminalCommand = z.infer<typeof TerminalCommandSchema>;

export const TerminalCommandsSchema = z.array(TerminalCommandSchema);

/**
 * tmux send-keys reads an argument that is a key name as that key (`C-c`, `Escape`, `Up`), not
 * as text. The keys that are characters have their character; the others (interrupts, EOF,
 * cursor keys) have no place in a stream of input and are refused by name at load.
 */
const KEY_CHARS: Record<string, string> = {
  Enter: '\n',
  'C-m': '\n',
  'C-j': '\n',
  KPEnter: '\n',
  '^M': '\n',
  '^J': '\n',
  Tab: '\t',
  'C-i': '\t',
  '^I': '\t',
  Space: ' ',
};
const KEY_NAME =
  /^(?:[CMS]-\S|\^[A-Z@[\\\]^_?]|Enter|Escape|Tab|BTab|Space|BSpace|Up|Down|Left|Right|Home|End|F\d{1,2}|PageUp|PageDown|PgUp|PgDn|NPage|PPage|Insert|Delete|DC|IC|KPEnter)$/;

/** The command's keys a bash executor cannot type (a control or cursor key), if it is one. */
export function untypableKey(c: TerminalCommand): string | undefined {
  return KEY_NAME.test(c.command) && KEY_CHARS[c.command] === undefined ? c.command : undefined;
}

/** The keystrokes the harness sends, in order, as text (Enter is a newline). */
export function keystrokes(commands: TerminalCommand[]): string {
  return commands.map((c) => (KEY_CHARS[c.command] ?? c.command) + (c.append_enter ? '\n' : '')).join('');
}

/**
 * An upper bound on how long the harness would give the commands: blocking commands up to their
 * max_timeout_sec, the others their min_timeout_sec (the harness sleeps that long after typing).
 */
export function commandsTimeBudgetSec(commands: TerminalCommand[]): number {
  return commands.reduce((s, c) => s + (c.block ? c.max_timeout_sec : c.min_timeout_sec), 0);
}
