// The bash agent's protocol, after mini-swe-agent: each reply holds its reasoning and exactly one
// bash block; the block runs as a fresh `bash -lc` in the sandbox; its output comes back as the
// next user message; the agent submits by printing a sentinel line. Pure: parsing, prompts and
// limits here, I/O in activities.
import { z } from 'zod';
import type { Task } from './task';

export const SUBMIT_SENTINEL = 'COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT';

/** mini-swe-agent's exit statuses, plus the two a durable harness adds (model, sandbox). */
export const EXIT_STATUSES = [
  'Submitted',
  'LimitsExceeded',
  'TimeExceeded',
  'RepeatedFormatError',
  'ModelError',
  'SandboxError',
] as const;
export type ExitStatus = (typeof EXIT_STATUSES)[number];

export const TemplatesSchema = z.object({
  system: z.string().default(
    `You are a helpful assistant that can interact multiple times with a computer shell to solve programming tasks.
Your response must contain exactly ONE bash code block with ONE command (or commands connected with && or ||).

Include a THOUGHT section before your command where you explain your reasoning process.
Format your response as shown in <format_example>.

<format_example>
THOUGHT: Your reasoning and analysis here

\`\`\`bash
your_command_here
\`\`\`
</format_example>

Failure to follow these rules will cause your response to be rejected.`,
  ),
  instance: z.string().default(
    `<task>
{{task}}
</task>

<instructions>
# Task Instructions

You're a software engineer working in a shell. Complete the task above.
{{workdir_note}}
For each response:
1. Include a THOUGHT section explaining your reasoning and what you're trying to accomplish
2. Provide exactly ONE bash command to execute

## Important Boundaries
- Each command runs in a new subshell: directory changes and environment variables do not persist between commands (prefix with \`cd DIR &&\` where needed)
- Commands must not be interactive (no editors, no pagers); use flags like -y, and sed or cat <<'EOF' to edit files
- A command runs for at most {{command_timeout}} seconds

## Submission
When you are done and cannot make further progress, submit with exactly this command, on its own:

\`\`\`bash
{{submit_command}}
\`\`\`

You cannot continue working after submitting.
</instructions>{{context}}`,
  ),
  observation: z.string().default('<returncode>{{returncode}}</returncode>\n<output>\n{{output}}\n</output>'),
  timeout: z.string().default(
    `The last command <command>{{command}}</command> timed out after {{command_timeout}} seconds and has been killed.
The output of the command was:
<output>
{{output}}
</output>
Please try another command and make sure to avoid those requiring interactive input.`,
  ),
  formatError: z.string().default(
    `Please always provide EXACTLY ONE action in triple backticks, found {{count}} actions.

Please format your action in triple backticks as shown in <response_example>.

<response_example>
Here are some thoughts about why you want to perform the action.

\`\`\`bash
<action>
\`\`\`
</response_example>

If you have completed your assignment, please consult the first message about how to submit your solution (you will not be able to continue working on this task after that).`,
  ),
  truncated: z
    .string()
    .default(
      'Your reply was cut off at the token limit before it was complete. Please reply again, shorter, with exactly one bash block.',
    ),
});
export type Templates = z.infer<typeof TemplatesSchema>;

export const AgentConfigSchema = z.object({
  /** Model turns per rollout (mini-swe-agent's step_limit); 0 = no limit. */
  stepLimit: z.number().int().nonnegative().default(250),
  /** Dollars per rollout; 0 = no limit. Unknown cost never trips it. */
  costLimitUsd: z.number().nonnegative().default(3),
  /** Wall time per rollout; default: the task's agent timeout. */
  wallTimeSec: z.number().positive().optional(),
  /** Per-command timeout in the sandbox. */
  commandTimeoutSec: z.number().positive().default(60),
  /** Format errors in a row that end the rollout (RepeatedFormatError). */
  formatErrorLimit: z.number().int().positive().default(3),
  templates: TemplatesSchema.prefault({}),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

/** `{{name}}` placeholders; unknown names stay as they are so a typo shows in the prompt. */
export function render(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

/** What the agent runs to submit: the sentinel, then for repository tasks the diff of its work. */
export function submitCommand(task: Pick<Task, 'verifier' | 'workdir'>): string {
  if (task.verifier.kind === 'swebench') {
    return `cd ${task.workdir ?? '/testbed'} && echo ${SUBMIT_SENTINEL} && git add -A && git diff --cached`;
  }
  return `echo ${SUBMIT_SENTINEL}`;
}

/** The first user message: the task, where to work, how to submit, and (PDR) prior context. */
export function instancePrompt(task: Task, config: AgentConfig, context = ''): string {
  return render(config.templates.instance, {
    task: task.instruction.trim(),
    workdir_note: task.workdir ? `\nThe repository is at ${task.workdir}.\n` : '',
    command_timeout: config.commandTimeoutSec,
    submit_command: submitCommand(task),
    context: context ? `\n\n${context}` : '',
  });
}

const BASH_BLOCK = /```bash\s*\n([\s\S]*?)\n```/g;

export type ParsedReply =
  { kind: 'action'; command: string } | { kind: 'format_error'; count: number; truncated: boolean };

/** Exactly one ```bash block is an action; zero or several is a format error, as in mini-swe-agent. */
export function parseReply(text: string, stopReason?: string): ParsedReply {
  const blocks = [...text.matchAll(BASH_BLOCK)].map((m) => m[1]!.trim());
  if (blocks.length === 1 && blocks[0]) return { kind: 'action', command: blocks[0] };
  return { kind: 'format_error', count: blocks.length, truncated: stopReason === 'max_tokens' };
}

export function formatErrorMessage(p: Extract<ParsedReply, { kind: 'format_error' }>, config: AgentConfig): string {
  return p.truncated && p.count === 0
    ? config.templates.truncated
    : render(config.templates.formatError, { count: p.count });
}

/** A command's output starting with the sentinel line is a submission; the rest is its content. */
export function parseSubmission(output: string): { submitted: boolean; submission: string } {
  const trimmed = output.replace(/^\s+/, '');
  if (trimmed.split('\n', 1)[0]?.trim() !== SUBMIT_SENTINEL) return { submitted: false, submission: '' };
  return { submitted: true, submission: trimmed.slice(trimmed.indexOf('\n') + 1 || trimmed.length) };
}

export function observationMessage(
  r: { exitCode: number; output: string; timedOut: boolean },
  command: string,
  config: AgentConfig,
): string {
  const vars = { returncode: r.exitCode, output: r.output, command, command_timeout: config.commandTimeoutSec };
  return render(r.timedOut ? config.templates.timeout : config.templates.observation, vars);
}

/** One line for the Temporal UI: `step 7: python -m pytest -q`. */
export function stepSummary(step: number, command: string | undefined): string {
  const line = (command ?? '(format error)').split('\n').find((l) => l.trim()) ?? '';
  const short = line.trim().length > 80 ? `${line.trim().slice(0, 77)}...` : line.trim();
  return `step ${step}: ${short}`;
}

export interface RolloutProgress {
  steps: number;
  costUsd: number | null;
  elapsedMs: number;
}

/** Which limit, if any, ends the rollout after this step. */
export type AgentLimits = Pick<AgentConfig, 'stepLimit' | 'costLimitUsd' | 'formatErrorLimit'>;

export function limitReached(p: RolloutProgress, config: AgentLimits, wallTimeSec: number): ExitStatus | undefined {
  if (config.stepLimit > 0 && p.steps >= config.stepLimit) return 'LimitsExceeded';
  if (config.costLimitUsd > 0 && p.costUsd !== null && p.costUsd >= config.costLimitUsd) return 'LimitsExceeded';
  if (p.elapsedMs >= wallTimeSec * 1000) return 'TimeExceeded';
  return undefined;
}
