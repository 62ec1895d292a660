// The bash agent's protocol, after mini-swe-agent: each reply holds its reasoning and exactly one
// bash block; the block runs as a fresh `bash -lc` in the sandbox; its output comes back as the
// next user message; the agent submits by printing a sentinel line. Pure: parsing, prompts and
// limits here, I/O in activities.
import { z } from 'zod';
import type { Task } from './task';
import { AGENT_KINDS, DEFAULT_AGENT_BY_FORMAT, TERMINAL_PROMPT } from './terminal';

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
  /**
   * The first user message of a SWE-bench task: to the effect of mini-swe-agent's SWE-bench prompt
   * (config/benchmarks/swebench_backticks.yaml, v2.4): the issue as a PR description, change
   * non-test source files only, and submit a patch file of the changed source files.
   */
  swebenchInstance: z.string().default(
    `<pr_description>
A pull request with the following description is to be made to this repository:
{{task}}
</pr_description>

<instructions>
# Task Instructions

## Overview

You're a software engineer working in a shell, one command at a time.
Make the changes the PR description asks for, by editing non-test files in {{workdir}}, so that the issue is resolved in a general way that fits the existing codebase.

<IMPORTANT>You think and issue ONE command, see its result, then think and issue the next one.</IMPORTANT>

For each response:
1. Include a THOUGHT section explaining your reasoning and what you're trying to accomplish
2. Provide exactly ONE bash command to execute

## Important Boundaries

- CHANGE: regular source files in {{workdir}} (every command runs there)
- DO NOT CHANGE: tests, or configuration files (pyproject.toml, setup.cfg, tox.ini and the like)

## Suggested Workflow

1. Find and read the code the issue is about
2. Write a small script that reproduces the issue
3. Edit the source code to fix it
4. Run your script again to confirm the fix
5. Try edge cases to make sure the fix holds

## Command Rules

- Each response holds exactly ONE bash code block with ONE command (or commands joined with && or ||); zero or several blocks are rejected
- Each command runs in a new subshell: directory changes and environment variables do not persist (prefix with \`cd DIR &&\` or \`VAR=value\` where needed)
- Commands must not be interactive (no editors, no pagers); use flags like -y, and sed or cat <<'EOF' to edit files
- A command runs for at most {{command_timeout}} seconds

## Submission

When your work is done, submit it as a git patch, in these steps, each a SEPARATE command:

Step 1: write the patch file, naming only the source files you changed:
\`git diff -- path/to/file1 path/to/file2 > patch.txt\`
Do not commit.

<IMPORTANT>
The patch must hold only the changes to source files that fix the issue. Leave out:
- tests, and scripts you wrote to reproduce the issue
- helper scripts or tools you created
- installation, build, packaging, configuration or setup files, unless the issue is about them (the environment is already set up)
- binary or compiled files
</IMPORTANT>

Step 2: read patch.txt and check that it holds only the changes you intend, with \`--- a/\` and \`+++ b/\` headers.

Step 3: submit with exactly this command:

\`\`\`bash
{{submit_command}}
\`\`\`

A command that fails (non-zero exit status) does not submit.

<CRITICAL>
- Writing or checking the patch and submitting are separate commands, never joined with &&.
- If you change patch.txt after checking it, check it again before submitting.
- After submitting you cannot continue working on this task in any way.
</CRITICAL>
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
  /** mini-swe-agent's format-error message: what was wrong, then how a reply must look. */
  formatError: z.string().default(
    `Format error:

<error>
Expected exactly 1 action, found {{count}}.
</error>

Here is general guidance on how to format your response:

Please always provide EXACTLY ONE action in triple backticks, found {{count}} actions.

Please format your action in triple backticks as shown in <response_example>.

<response_example>
Here are some thoughts about why you want to perform the action.

\`\`\`bash
<action>
\`\`\`
</response_example>

If you have completed your assignment, please consult the first message about how to submit your solution (you will not be able to continue working on this task after that).`,
  ),
  /**
   * The terminal agent's first user message (Terminus 2's JSON-plain prompt): `{{task}}`,
   * `{{context}}` (PDR's summaries), `{{terminal_state}}` (the session's first screen).
   */
  terminal: z.string().default(TERMINAL_PROMPT),
  /** A reply cut at the token limit with no complete action: mini-swe-agent's finish_reason=length message. */
  truncated: z
    .string()
    .default(
      'Your previous response reached the output token limit before you produced a complete action, so it was cut off. Respond more concisely and provide exactly one action in the required format. If you need to think more, do so briefly.',
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
  /**
   * Format errors in a row that end the rollout (RepeatedFormatError); any action in between
   * resets the count. mini-swe-agent's max_consecutive_format_errors, and its default.
   */
  formatErrorLimit: z.number().int().positive().default(3),
  templates: TemplatesSchema.prefault({}),
  /**
   * The agent a task of each format gets when `run --agent` does not choose one: the paper's
   * choice, the bash agent on SWE-bench and the terminal (tmux) agent on Terminal-Bench and Harbor.
   */
  byFormat: z
    .object({
      swebench: z.enum(AGENT_KINDS).default(DEFAULT_AGENT_BY_FORMAT.swebench),
      'terminal-bench': z.enum(AGENT_KINDS).default(DEFAULT_AGENT_BY_FORMAT['terminal-bench']),
      harbor: z.enum(AGENT_KINDS).default(DEFAULT_AGENT_BY_FORMAT.harbor),
    })
    .prefault({}),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

/** `{{name}}` placeholders; unknown names stay as they are so a typo shows in the prompt. */
export function render(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

/** The patch file a SWE-bench agent writes before submitting (mini-swe-agent's rule). */
export const PATCH_FILE = 'patch.txt';

/**
 * What the agent runs to submit: the sentinel, then for repository tasks the patch file it wrote
 * (`git diff -- <files> > patch.txt`): the submission is the patch, as in mini-swe-agent.
 */
export function submitCommand(task: Pick<Task, 'verifier'>): string {
  if (task.verifier.kind === 'swebench') return `echo ${SUBMIT_SENTINEL} && cat ${PATCH_FILE}`;
  return `echo ${SUBMIT_SENTINEL}`;
}

/** The first user message: the task, where to work, how to submit, and (PDR) prior context. */
export function instancePrompt(task: Task, config: AgentConfig, context = ''): string {
  const swebench = task.verifier.kind === 'swebench';
  return render(swebench ? config.templates.swebenchInstance : config.templates.instance, {
    task: task.instruction.trim(),
    workdir: task.workdir ?? (swebench ? '/testbed' : ''),
    workdir_note: task.workdir ? `\nThe repository is at ${task.workdir}.\n` : '',
    command_timeout: config.commandTimeoutSec,
    submit_command: submitCommand(task),
    context: context ? `\n\n${context}` : '',
  });
}

const BASH_BLOCK = /```bash\s*\n([\s\S]*?)\n```/g;

export type ParsedReply =
  { kind: 'action'; command: string } | { kind: 'format_error'; count: number; truncated: boolean };

/**
 * Exactly one \`\`\`bash block is an action (even an empty one); zero or several is a format error.
 * mini-swe-agent's rule: the number of blocks is all that counts.
 */
export function parseReply(text: string, stopReason?: string): ParsedReply {
  const blocks = [...text.matchAll(BASH_BLOCK)].map((m) => m[1]!.trim());
  if (blocks.length === 1) return { kind: 'action', command: blocks[0]! };
  return { kind: 'format_error', count: blocks.length, truncated: stopReason === 'max_tokens' };
}

/** As mini-swe-agent: a reply cut at the token limit is told so; any other gets the format guidance. */
export function formatErrorMessage(p: Extract<ParsedReply, { kind: 'format_error' }>, config: AgentConfig): string {
  return p.truncated ? config.templates.truncated : render(config.templates.formatError, { count: p.count });
}

/**
 * A command that succeeds (exit 0) with the sentinel as its first output line is a submission;
 * the rest of its output is the submission (mini-swe-agent's rule; a failing one does not submit).
 */
export function parseSubmission(output: string, exitCode = 0): { submitted: boolean; submission: string } {
  const trimmed = output.replace(/^\s+/, '');
  if (exitCode !== 0 || trimmed.split('\n', 1)[0]?.trim() !== SUBMIT_SENTINEL)
    return { submitted: false, submission: '' };
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
