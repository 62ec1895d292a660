// The bash agent's protocol and the run report, as pure functions.
import { describe, expect, it } from 'vitest';
import {
  AgentConfigSchema,
  formatErrorMessage,
  instancePrompt,
  limitReached,
  observationMessage,
  parseReply,
  parseSubmission,
  render,
  stepSummary,
  submitCommand,
  SUBMIT_SENTINEL,
} from '../core/agent';
import { costOf } from '../core/model';
import { runReport } from '../core/report';
import type { RolloutResult } from '../core/rollout';
import type { Task } from '../core/task';

const config = AgentConfigSchema.parse({});
const block = (cmd: string) => `THOUGHT: x\n\n\`\`\`bash\n${cmd}\n\`\`\``;

describe('replies', () => {
  it('exactly one bash block is an action; none or several is a format error', () => {
    expect(parseReply(block('ls -la'))).toEqual({ kind: 'action', command: 'ls -la' });
    expect(parseReply(block('cat <<EOF > f\na\nEOF'))).toEqual({ kind: 'action', command: 'cat <<EOF > f\na\nEOF' });
    expect(parseReply('I will look around.')).toEqual({ kind: 'format_error', count: 0, truncated: false });
    expect(parseReply(`${block('ls')}\n${block('pwd')}`)).toMatchObject({ kind: 'format_error', count: 2 });
    expect(parseReply('```python\nprint(1)\n```')).toMatchObject({ kind: 'format_error', count: 0 });
    expect(parseReply('THOUGHT: long...', 'max_tokens')).toMatchObject({ kind: 'format_error', truncated: true });
    // mini-swe-agent counts blocks, nothing else: one empty block is still one action.
    expect(parseReply('```bash\n\n```')).toEqual({ kind: 'action', command: '' });
  });

  it("format errors get mini-swe-agent's message; a cut reply is told it was cut, whatever it holds", () => {
    const none = formatErrorMessage({ kind: 'format_error', count: 0, truncated: false }, config);
    expect(none).toMatch(/^Format error:\n\n<error>\nExpected exactly 1 action, found 0\.\n<\/error>/);
    expect(none).toContain('EXACTLY ONE action in triple backticks, found 0 actions');
    expect(formatErrorMessage({ kind: 'format_error', count: 2, truncated: false }, config)).toContain('found 2.');
    for (const count of [0, 2])
      expect(formatErrorMessage({ kind: 'format_error', count, truncated: true }, config)).toMatch(
        /reached the output token limit/,
      );
    // The limit counts errors in a row (workflows/rollout.ts), mini-swe-agent's default of 3.
    expect(config.formatErrorLimit).toBe(3);
  });

  it('a submission is output whose first line is the sentinel', () => {
    expect(parseSubmission(`${SUBMIT_SENTINEL}\ndiff --git a/x b/x\n`)).toEqual({
      submitted: true,
      submission: 'diff --git a/x b/x\n',
    });
    expect(parseSubmission(`\n${SUBMIT_SENTINEL}`)).toEqual({ submitted: true, submission: '' });
    expect(parseSubmission(`echo ${SUBMIT_SENTINEL}`).submitted).toBe(false);
    expect(parseSubmission(`building...\n${SUBMIT_SENTINEL}`).submitted).toBe(false);
    // A failing command does not submit (`cat patch.txt` with no patch file).
    expect(parseSubmission(`${SUBMIT_SENTINEL}\ncat: patch.txt: No such file or directory\n`, 1).submitted).toBe(false);
  });
});

describe('prompts', () => {
  const swe = {
    instruction: 'Fix the bug in calc.',
    workdir: '/testbed',
    verifier: { kind: 'swebench' },
  } as unknown as Task;
  const tb = { instruction: 'Count the lines.', verifier: { kind: 'terminal-bench' } } as unknown as Task;

  it('render fills known names and leaves unknown ones visible', () => {
    expect(render('a {{x}} {{ y }} {{z}}', { x: 1, y: 'b' })).toBe('a 1 b {{z}}');
  });

  it('the first prompt holds the task, where to work, how to submit, and the context', () => {
    const p = instancePrompt(tb, config, 'Earlier attempts: ...');
    expect(p).toContain('Count the lines.');
    expect(p).toContain(submitCommand(tb));
    expect(p).toContain('Earlier attempts: ...');
    expect(p).not.toContain('pr_description');
    expect(submitCommand(tb)).toBe(`echo ${SUBMIT_SENTINEL}`);
    expect(instancePrompt(tb, config)).not.toContain('{{');
  });

  it("SWE-bench tasks get mini-swe-agent's task prompt and submission rule", () => {
    const p = instancePrompt(swe, config, 'Earlier attempts: ...');
    // The issue framed as a PR description; work in the repository; tests and configuration untouched.
    expect(p).toMatch(/<pr_description>[\s\S]*Fix the bug in calc\.[\s\S]*<\/pr_description>/);
    expect(p).toContain('non-test files in /testbed');
    expect(p).toMatch(/DO NOT CHANGE: tests, or configuration files/);
    // Submission: a patch file of the changed source files, then the sentinel and the file.
    expect(p).toContain('git diff -- path/to/file1 path/to/file2 > patch.txt');
    expect(submitCommand(swe)).toBe(`echo ${SUBMIT_SENTINEL} && cat patch.txt`);
    expect(p).toContain(submitCommand(swe));
    expect(p).toContain('Earlier attempts: ...');
    expect(p).not.toContain('{{');
    // The template is the config's.
    const own = AgentConfigSchema.parse({ templates: { swebenchInstance: 'PR: {{task}} in {{workdir}}' } });
    expect(instancePrompt(swe, own)).toBe('PR: Fix the bug in calc. in /testbed');
    expect(instancePrompt(tb, own)).toBe(instancePrompt(tb, config));
  });

  it('observations show the return code and output; timeouts say so', () => {
    expect(observationMessage({ exitCode: 2, output: 'no such file', timedOut: false }, 'ls x', config)).toBe(
      '<returncode>2</returncode>\n<output>\nno such file\n</output>',
    );
    expect(observationMessage({ exitCode: 124, output: '', timedOut: true }, 'sleep 99', config)).toMatch(
      /<command>sleep 99<\/command> timed out after 60 seconds/,
    );
  });

  it('step summaries are one short line', () => {
    expect(stepSummary(7, 'python -m pytest -q\necho done')).toBe('step 7: python -m pytest -q');
    expect(stepSummary(3, `echo ${'x'.repeat(200)}`)).toHaveLength('step 3: '.length + 80);
    expect(stepSummary(2, undefined)).toBe('step 2: (format error)');
  });
});

describe('limits', () => {
  const limits = { stepLimit: 10, costLimitUsd: 1, formatErrorLimit: 3 };
  it('steps, cost and wall time each end a rollout; unknown cost never does', () => {
    expect(limitReached({ steps: 9, costUsd: 0.5, elapsedMs: 1000 }, limits, 60)).toBeUndefined();
    expect(limitReached({ steps: 10, costUsd: 0.5, elapsedMs: 1000 }, limits, 60)).toBe('LimitsExceeded');
    expect(limitReached({ steps: 1, costUsd: 1.01, elapsedMs: 1000 }, limits, 60)).toBe('LimitsExceeded');
    expect(limitReached({ steps: 1, costUsd: null, elapsedMs: 1000 }, limits, 60)).toBeUndefined();
    expect(limitReached({ steps: 1, costUsd: 0, elapsedMs: 60_000 }, limits, 60)).toBe('TimeExceeded');
    expect(
      limitReached({ steps: 500, costUsd: 99, elapsedMs: 1 }, { ...limits, stepLimit: 0, costLimitUsd: 0 }, 60),
    ).toBeUndefined();
  });

  it('cost from usage and prices, cache tokens at their own price', () => {
    const usage = { inputTokens: 1_000_000, outputTokens: 100_000, cacheReadTokens: 1_000_000, cacheWriteTokens: 0 };
    expect(costOf(usage, { inputPerMTok: 3, outputPerMTok: 15, cacheReadPerMTok: 0.3 })).toBeCloseTo(3 + 1.5 + 0.3);
    expect(costOf(usage, undefined)).toBeNull();
  });
});

describe('run report', () => {
  const r = (taskId: string, rolloutId: string, passed: boolean, costUsd: number | null = 0.1): RolloutResult => ({
    taskId,
    rolloutId,
    exitStatus: 'Submitted',
    steps: 4,
    apiCalls: 4,
    costUsd,
    passed,
    sandboxRestarts: 0,
    durationMs: 1000,
  });
  it("pass@1 is the mean over tasks of each task's mean; pass@N counts tasks with any pass", () => {
    const report = runReport(
      { runId: 'x', strategy: 'sample', model: 'm' },
      new Map([
        ['a', [r('a', 'r0', true), r('a', 'r1', false), r('a', 'r2', false), r('a', 'r3', false)]],
        ['b', [r('b', 'r0', true), r('b', 'r1', true)]],
        ['c', [r('c', 'r0', false, null), r('c', 'r1', false)]],
      ]),
    );
    expect(report.pass1).toBeCloseTo((0.25 + 1 + 0) / 3);
    expect(report.passN).toBeCloseTo(2 / 3);
    expect(report.rollouts).toBe(8);
    expect(report.costUsd).toBeCloseTo(0.7);
    expect(report.costUnknown).toBe(1);
    expect(report.perTask.map((t) => t.taskId)).toEqual(['a', 'b', 'c']);
  });
});
