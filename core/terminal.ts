// The terminal agent's protocol, after Terminal-Bench's Terminus (terminal-bench 0.2.18,
// terminal_bench/agents/terminus_2/: the JSON-plain parser and prompt, the protocol whose reply
// names analysis, plan, keystroke batches with wait durations and a task-complete flag). The agent
// types into a persistent tmux session in the task's container and reads the screen back; each
// reply is parsed and validated here, and a bad one is answered with the error so the model
// re-asks itself. Pure: parsing, prompts and screen arithmetic here, tmux in runtime/tmux.ts.
import { z } from 'zod';
import type { Task } from './task';

// core/agent.ts's `{{name}}` filling (not imported: agent.ts takes this prompt as a default).
const render = (template: string, vars: Record<string, string>) =>
  template.replace(/\{\{\s*(\w+)\s*\}\}/g, (m, name: string) => (name in vars ? vars[name]! : m));

export const AGENT_KINDS = ['bash', 'terminal'] as const;
export type AgentKind = (typeof AGENT_KINDS)[number];

/** The paper's choice: the bash agent on SWE-bench, the terminal agent on Terminal-Bench (1 and 2). */
export const DEFAULT_AGENT_BY_FORMAT = {
  swebench: 'bash',
  'terminal-bench': 'terminal',
  harbor: 'terminal',
} as const satisfies Record<string, AgentKind>;

/** Terminus's caps: a wait never exceeds 60 s; an observation is cut to 10,000 bytes, head and tail. */
export const MAX_DURATION_SEC = 60;
export const DEFAULT_DURATION_SEC = 1.0;
export const OBSERVATION_CAP_BYTES = 10_000;
/** Terminus's tmux session: 160 x 40, 50,000 lines of history. */
export const TERMINAL_COLS = 160;
export const TERMINAL_ROWS = 40;
export const HISTORY_LIMIT = 50_000;

/** Terminus 2's JSON-plain prompt (prompt-templates/terminus-json-plain.txt), with `{{}}` placeholders. */
export const TERMINAL_PROMPT = `You are an AI assistant tasked with solving command-line tasks in a Linux environment. You will be given a task description and the output from previously executed commands. Your goal is to solve the task by providing batches of shell commands.

Format your response as JSON with the following structure:

{
  "analysis": "Analyze the current state based on the terminal output provided. What do you see? What has been accomplished? What still needs to be done?",
  "plan": "Describe your plan for the next steps. What commands will you run and why? Be specific about what you expect each command to accomplish.",
  "commands": [
    {
      "keystrokes": "ls -la\\n",
      "duration": 0.1
    },
    {
      "keystrokes": "cd project\\n",
      "duration": 0.1
    }
  ],
  "task_complete": true
}

Required fields:
- "analysis": Your analysis of the current situation
- "plan": Your plan for the next steps
- "commands": Array of command objects to execute

Optional fields:
- "task_complete": Boolean indicating if the task is complete (defaults to false if not present)

Command object structure:
- "keystrokes": String containing the exact keystrokes to send to the terminal (required)
- "duration": Number of seconds to wait for the command to complete before the next command will be executed (defaults to 1.0 if not present)

IMPORTANT: The text inside "keystrokes" will be used completely verbatim as keystrokes. Write commands exactly as you want them sent to the terminal:
- Most bash commands should end with a newline (\\n) to cause them to execute
- For special key sequences, use tmux-style escape sequences:
  - C-c for Ctrl+C
  - C-d for Ctrl+D

The "duration" attribute specifies the number of seconds to wait for the command to complete (default: 1.0) before the next command will be executed. On immediate tasks (e.g., cd, ls, echo, cat) set a duration of 0.1 seconds. On commands (e.g., gcc, find, rustc) set a duration of 1.0 seconds. On slow commands (e.g., make, python3 [long running script], wget [file]) set an appropriate duration as you determine necessary.

It is better to set a smaller duration than a longer duration. It is always possible to wait again if the prior output has not finished, by running {"keystrokes": "", "duration": 10.0} on subsequent requests to wait longer. Never wait longer than 60 seconds; prefer to poll to see intermediate result status.

Important notes:
- Each command's keystrokes are sent exactly as written to the terminal
- Do not include extra whitespace before or after the keystrokes unless it's part of the intended command
- Extra text before or after the JSON will generate warnings but be tolerated
- The JSON must be valid - use proper escaping for quotes and special characters within strings
- Commands array can be empty if you want to wait without taking action

Task Description:
{{task}}{{context}}

Current terminal state:
{{terminal_state}}`;

/** Marks the terminal agent's first prompt (the scripted model tells the two agents apart by it). */
export const TERMINAL_PROMPT_MARK = 'providing batches of shell commands';

export function terminalPrompt(task: Task, template: string, terminalState: string, context = ''): string {
  return render(template, {
    task: task.instruction.trim(),
    context: context ? `\n\n${context}` : '',
    terminal_state: limitOutput(terminalState),
  });
}

/** One keystroke batch: sent verbatim to tmux, then `duration` seconds of waiting. */
export const KeystrokesSchema = z.object({ keystrokes: z.string(), duration: z.number() });
export type Keystrokes = z.infer<typeof KeystrokesSchema>;

/** A parsed reply as the rollout store keeps it. */
export type TerminalReply =
  | { kind: 'action'; commands: Keystrokes[]; taskComplete: boolean; warning?: string }
  | { kind: 'format_error'; error: string; warning?: string; truncated: boolean };

// The reply's shape (zod): required analysis, plan, commands; optional task_complete. Types of
// analysis/plan are only warned about, as in Terminus, so they are loose here.
const ReplyShape = z.object({
  analysis: z.unknown(),
  plan: z.unknown(),
  commands: z.array(z.unknown(), { error: "Field 'commands' must be an array" }),
  task_complete: z.unknown().optional(),
});

const CommandShape = z.record(z.string(), z.unknown());

interface Attempt {
  commands: Keystrokes[];
  complete: boolean;
  error: string;
  warnings: string[];
}

/** The first balanced `{...}` of the text, outside strings (Terminus's _extract_json_content). */
function extractJson(text: string): { json: string; warnings: string[] } {
  let start = -1;
  let depth = 0;
  let inString = false;
  let escape = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (escape) {
      escape = false;
      continue;
    }
    if (c === '\\') {
      escape = true;
      continue;
    }
    if (c === '"') {
      inString = !inString;
      continue;
    }
    if (inString) continue;
    if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth === 0 && start !== -1) {
        const warnings: string[] = [];
        if (text.slice(0, start).trim()) warnings.push('Extra text detected before JSON object');
        if (text.slice(i + 1).trim()) warnings.push('Extra text detected after JSON object');
        return { json: text.slice(start, i + 1), warnings };
      }
    }
  }
  return { json: '', warnings: ['No valid JSON object found'] };
}

function checkFieldOrder(json: string, warnings: string[]) {
  const order = ['analysis', 'plan', 'commands'];
  const at = order
    .map((f) => ({ f, i: new RegExp(`"(${f})"\\s*:`).exec(json)?.index }))
    .filter((x): x is { f: string; i: number } => x.i !== undefined);
  if (at.length < 2) return;
  const actual = [...at].sort((a, b) => a.i - b.i).map((x) => x.f);
  const expected = at.map((x) => x.f);
  if (actual.join() !== expected.join())
    warnings.push(`Fields appear in wrong order. Found: ${actual.join(' → ')}, expected: ${expected.join(' → ')}`);
}

function tryParse(text: string): Attempt {
  const fail = (error: string, warnings: string[]): Attempt => ({ commands: [], complete: false, error, warnings });
  const { json, warnings } = extractJson(text);
  if (!json) return fail('No valid JSON found in response', warnings);
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (e) {
    const preview =
      json.length < 200
        ? ` | Content: ${JSON.stringify(json)}`
        : ` | Content preview: ${JSON.stringify(json.slice(0, 100))}...`;
    return fail(`Invalid JSON: ${(e as Error).message}${preview}`, warnings);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return fail('Response must be a JSON object', warnings);
  const missing = ['analysis', 'plan', 'commands'].filter((f) => !(f in data));
  if (missing.length) return fail(`Missing required fields: ${missing.join(', ')}`, warnings);
  const shape = ReplyShape.safeParse(data);
  if (!shape.success) return fail(shape.error.issues[0]!.message, warnings);
  const reply = shape.data;
  if (typeof reply.analysis !== 'string') warnings.push("Field 'analysis' should be a string");
  if (typeof reply.plan !== 'string') warnings.push("Field 'plan' should be a string");
  checkFieldOrder(json, warnings);
  const tc = reply.task_complete;
  if (tc !== undefined && tc !== null && typeof tc !== 'boolean' && typeof tc !== 'string')
    warnings.push("Field 'task_complete' should be a boolean or string");
  // Python's truthiness for what is not a string (a 1 completes, a 0 or null does not).
  const complete =
    typeof tc === 'string'
      ? ['true', '1', 'yes'].includes(tc.toLowerCase())
      : tc === true || (typeof tc === 'number' && tc !== 0);

  const commands: Keystrokes[] = [];
  for (const [i, raw] of reply.commands.entries()) {
    const n = i + 1;
    const cmd = CommandShape.safeParse(raw);
    let error: string | undefined;
    if (!cmd.success || Array.isArray(raw)) error = `Command ${n} must be an object`;
    else if (!('keystrokes' in cmd.data)) error = `Command ${n} missing required 'keystrokes' field`;
    else if (typeof cmd.data.keystrokes !== 'string') error = `Command ${n} 'keystrokes' must be a string`;
    if (error) {
      // A reply that also says the task is complete ends anyway: the error is only a warning then.
      if (complete) return { commands: [], complete: true, error: '', warnings: [...warnings, error] };
      return fail(error, warnings);
    }
    const c = cmd.data!;
    const keystrokes = c.keystrokes as string;
    let duration = DEFAULT_DURATION_SEC;
    if (!('duration' in c)) warnings.push(`Command ${n}: Missing duration field, using default 1.0`);
    else if (typeof c.duration !== 'number' || !Number.isFinite(c.duration))
      warnings.push(`Command ${n}: Invalid duration value, using default 1.0`);
    else duration = c.duration;
    const unknown = Object.keys(c).filter((k) => k !== 'keystrokes' && k !== 'duration');
    if (unknown.length) warnings.push(`Command ${n}: Unknown fields: ${unknown.join(', ')}`);
    if (i < reply.commands.length - 1 && !keystrokes.endsWith('\n'))
      warnings.push(
        `Command ${n} should end with newline when followed by another command. Otherwise the two commands will be concatenated together on the same line.`,
      );
    commands.push({ keystrokes, duration });
  }
  return { commands, complete, error: '', warnings };
}

/** Terminus's auto-fixes, tried in order when the reply does not parse. */
const AUTO_FIXES: [string, (text: string, error: string) => string | undefined][] = [
  [
    'Fixed incomplete JSON by adding missing closing brace',
    (text, error) => {
      if (!/Invalid JSON|Expecting|Unterminated|No valid JSON found/.test(error)) return undefined;
      const missing = (text.match(/\{/g)?.length ?? 0) - (text.match(/\}/g)?.length ?? 0);
      return missing > 0 ? text + '}'.repeat(missing) : undefined;
    },
  ],
  [
    'Extracted JSON from mixed content',
    (text) => {
      for (const m of text.matchAll(/\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}/g)) {
        try {
          JSON.parse(m[0]);
          return m[0];
        } catch {
          continue;
        }
      }
      return undefined;
    },
  ],
];

const warningText = (w: string[]) => (w.length ? `- ${w.join('\n- ')}` : undefined);

/**
 * A reply parsed as Terminus parses it: errors make it a format error (nothing is typed, the
 * model is told what was wrong); warnings go with the next observation. Durations are capped at
 * 60 s as Terminus caps them.
 */
export function parseTerminalReply(text: string, stopReason?: string): TerminalReply {
  // A reply cut at the token limit is not acted on, even where it would parse (Terminus 2's
  // OutputLengthExceededError: "NONE of the actions ... were performed").
  if (stopReason === 'max_tokens') {
    const cut = tryParse(text);
    return {
      kind: 'format_error',
      error: 'output length exceeded',
      warning: warningText(cut.warnings),
      truncated: true,
    };
  }
  let r = tryParse(text);
  let autoWarning: string | undefined;
  if (r.error) {
    for (const [name, fix] of AUTO_FIXES) {
      const fixed = fix(text, r.error);
      if (fixed === undefined) continue;
      const again = tryParse(fixed);
      if (!again.error) {
        r = again;
        autoWarning = `AUTO-CORRECTED: ${name} - please fix this in future responses`;
        break;
      }
    }
  }
  const warnings = autoWarning ? [autoWarning, ...r.warnings] : r.warnings;
  if (r.error)
    return {
      kind: 'format_error',
      error: r.error,
      warning: warningText(r.warnings),
      truncated: stopReason === 'max_tokens',
    };
  return {
    kind: 'action',
    commands: r.commands.map((c) => ({ keystrokes: c.keystrokes, duration: Math.min(c.duration, MAX_DURATION_SEC) })),
    taskComplete: r.complete,
    warning: warningText(warnings),
  };
}

/** Terminus's answer to a reply it could not parse: nothing was typed, the model is asked again. */
export function terminalFormatErrorMessage(
  r: Extract<TerminalReply, { kind: 'format_error' }>,
  maxTokens?: number,
): string {
  if (r.truncated) {
    const limit = maxTokens ?? 4096;
    const msg = `ERROR!! NONE of the actions you just requested were performed because you exceeded the maximum output length of ${limit} tokens. Your outputs must be less than ${limit} tokens. Re-issue this request, breaking it into chunks each of which is less than ${limit} tokens.`;
    return r.warning ? `${msg}\n\nParser warnings from your truncated response:\n${r.warning}` : msg;
  }
  let feedback = `ERROR: ${r.error}`;
  if (r.warning) feedback += `\nWARNINGS: ${r.warning}`;
  return `Previous response had parsing errors:\n${feedback}\n\nPlease fix these issues and provide a proper JSON response.`;
}

/** Terminus's confirmation: a first task_complete is asked again, with the screen; a second in a row ends. */
export function completionConfirmation(terminalOutput: string): string {
  return `Current terminal state:\n${terminalOutput}\n\nAre you sure you want to mark the task as complete? This will trigger your solution to be graded and you won't be able to make any further corrections. If so, include "task_complete": true in your JSON response again.`;
}

/** The observation after a batch: warnings first when the reply had some, then the output, capped. */
export function terminalObservation(terminalOutput: string, warning?: string): string {
  const out = limitOutput(terminalOutput);
  return warning ? `Previous response had warnings:\nWARNINGS: ${warning}\n\n${out}` : out;
}

/** Terminus's _limit_output_length: head and tail halves of `maxBytes`, the cut marked. */
export function limitOutput(output: string, maxBytes = OBSERVATION_CAP_BYTES): string {
  const bytes = Buffer.from(output, 'utf8');
  if (bytes.length <= maxBytes) return output;
  const half = Math.floor(maxBytes / 2);
  // A cut inside a multi-byte character drops it (Python's errors="ignore").
  const first = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, half)).replace(/\uFFFD+$/, '');
  const last = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(-half)).replace(/^\uFFFD+/, '');
  const omitted = bytes.length - Buffer.byteLength(first) - Buffer.byteLength(last);
  return `${first}\n[... output limited to ${maxBytes} bytes; ${omitted} interior bytes omitted ...]\n${last}`;
}

/**
 * Terminus's get_incremental_output: what the scrollback gained since the last look (from the
 * last line of the previous buffer on), or the visible screen when that cannot be told or
 * nothing was added.
 */
export function incrementalOutput(previousBuffer: string | undefined, buffer: string, screen: string): string {
  const current = `Current Terminal Screen:\n${screen}`;
  if (previousBuffer === undefined) return current;
  const pb = previousBuffer.trim();
  const at = buffer.indexOf(pb);
  if (at === -1) return current;
  // Terminus slices at the previous buffer's last newline (an offset into the previous buffer,
  // which starts the current one while the scrollback only grows).
  const from = pb.includes('\n') ? pb.lastIndexOf('\n') : at;
  const added = buffer.slice(from);
  return added.trim() ? `New Terminal Output:\n${added}` : current;
}

/**
 * tmux send-keys arguments for one batch. Keystrokes go verbatim as one literal-or-key argument,
 * as Terminus sends them (`tmux send-keys -t S <keystrokes>`): tmux takes a whole argument that
 * names a key (C-c, Enter, Escape) as that key, anything else as text.
 */
export function sendKeysArgs(session: string, keystrokes: string): string[] {
  return ['send-keys', '-t', session, keystrokes];
}

/** Whether a step's reply completes the task, given whether the reply before it (Terminus's pending flag) did. */
export function completes(reply: Extract<TerminalReply, { kind: 'action' }>, pending: boolean): boolean {
  return reply.taskComplete && pending;
}
