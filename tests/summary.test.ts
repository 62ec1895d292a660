// Summaries and judge prompts, as pure functions.
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../core/config';
import { JUDGE_SYSTEM, judgePrompt, judgeRetryMessage, parseJudgeAnswer } from '../core/judge';
import {
  contextText,
  parseSummary,
  renderSummary,
  renderTrajectory,
  SUMMARY_SYSTEM,
  SummarySchema,
  summaryPrompt,
  summaryRetryMessage,
  type Summary,
} from '../core/summary';

const summary: Summary = {
  hypotheses: ['subtract uses +'],
  keyDecisions: ['fix the operator, not the tests'],
  changes: ['calc/ops.py: a - b'],
  verification: ['ran pytest: 4 passed'],
  progress: 'done',
  failureModes: [],
  openIssues: ['none known'],
};

describe('summaries', () => {
  it('parse from a fenced JSON reply, and say what is wrong otherwise', () => {
    expect(parseSummary(`Here:\n\`\`\`json\n${JSON.stringify(summary)}\n\`\`\``)).toEqual({ ok: true, summary });
    expect(parseSummary(`prefix ${JSON.stringify(summary)} suffix`)).toEqual({ ok: true, summary });
    expect(parseSummary('no json here')).toEqual({ ok: false, error: 'the reply holds no valid JSON object' });
    const missing = parseSummary(JSON.stringify({ ...summary, progress: undefined, changes: 'x' }));
    expect(missing.ok).toBe(false);
    expect(!missing.ok && missing.error).toMatch(/progress.*changes|changes.*progress/);
  });

  it('render every field for the judge', () => {
    const text = renderSummary(summary);
    for (const s of [
      'subtract uses +',
      'calc/ops.py: a - b',
      'ran pytest: 4 passed',
      'Progress: done',
      'Failure modes:\n- (none)',
    ])
      expect(text).toContain(s);
  });

  it('trim long trajectories within the budget, keeping start and end, with the cut marked', () => {
    const steps = Array.from({ length: 40 }, (_, i) => ({
      step: i + 1,
      reply: `reply ${i + 1} ${'x'.repeat(200)}`,
      observation: 'y'.repeat(5000),
    }));
    const text = renderTrajectory(steps, 6000, 1000);
    expect(text.length).toBeLessThanOrEqual(6000 + 200);
    expect(text).toContain('## Step 1\n');
    expect(text).toContain('## Step 40\n');
    expect(text).toMatch(/\[\.\.\. \d+ steps \(\d+-\d+\) cut to fit the context \.\.\.\]/);
    expect(text).toContain('characters cut');
    const short = renderTrajectory(steps.slice(0, 2), 100_000);
    expect(short).not.toContain('cut to fit');
    expect(short).toContain('characters cut'); // a long observation is capped even so
  });

  it('the summary prompt keeps failed hypotheses and failure modes, and drops dead ends, without contradiction', () => {
    const p = summaryPrompt('Fix subtract', 'TRAJ', 'Submitted');
    expect(p).toMatch(/Keep the hypotheses tried[^.]*the failure modes hit\./);
    expect(p).toMatch(/Leave out raw terminal output, repeated exploration and dead ends/);
    // Nothing asks to keep or record dead ends: not the instructions, not a field's description.
    for (const sentence of p.split(/(?<=\.)\s/).filter((x) => /dead end/i.test(x)))
      expect(sentence).toMatch(/Leave out|not a dead end/);
    expect(SummarySchema.shape.failureModes.description).not.toMatch(/dead end/i);
  });

  it('summary, retry and context prompts are templates in the config; the defaults are the ones here', () => {
    const config = ConfigSchema.parse({});
    expect(config.scaling.templates.summary.system).toBe(SUMMARY_SYSTEM);
    expect(config.scaling.templates.judge.system).toBe(JUDGE_SYSTEM);
    const own = ConfigSchema.parse({
      scaling: {
        templates: {
          summary: {
            instance: '{{task}}|{{exit_status}}|{{trajectory}}',
            retry: 'bad: {{error}}',
            context: 'PRIOR {{attempts}}',
          },
          judge: { instance: '{{count}} of {{task}}: {{attempts}}', retry: 'one of {{answers}}' },
        },
      },
    }).scaling.templates;
    expect(summaryPrompt(' Fix subtract ', 'TRAJ', 'Submitted', own.summary)).toBe('Fix subtract|Submitted|TRAJ');
    expect(summaryRetryMessage('progress: Required', own.summary)).toBe('bad: progress: Required');
    expect(contextText(['s1'], own.summary)).toBe('PRIOR <prior_attempt index="1">\ns1\n</prior_attempt>');
    const c = [
      { id: 'r1', text: 'one' },
      { id: 'r2', text: 'two' },
    ];
    expect(judgePrompt('T', c, 'summaries', own.judge)).toBe(
      '2 of T: <attempt id="A">\none\n</attempt>\n\n<attempt id="B">\ntwo\n</attempt>',
    );
    expect(judgeRetryMessage(c, own.judge)).toBe('one of <answer>A</answer>, <answer>B</answer>');
    expect(judgeRetryMessage(c)).toBe('Please end with exactly one of <answer>A</answer>, <answer>B</answer>.');
  });

  it('the summary prompt carries the task, the trajectory and the fields', () => {
    const p = summaryPrompt('Fix subtract', 'TRAJ', 'Submitted');
    for (const s of ['Fix subtract', 'TRAJ', 'exit_status="Submitted"', '"failureModes"', '"progress": string'])
      expect(p).toContain(s);
  });
});

describe('judge', () => {
  const candidates = [
    { id: 'r3', text: 'summary three' },
    { id: 'r7', text: 'summary seven' },
  ];
  it('shows letters, not ids, and reads the last answer tag', () => {
    const p = judgePrompt('Fix subtract', candidates, 'summaries');
    expect(p).toContain('<attempt id="A">\nsummary three');
    expect(p).toContain('<attempt id="B">\nsummary seven');
    expect(p).not.toContain('r3');
    expect(parseJudgeAnswer('B is better... <answer>B</answer>', candidates)).toBe('r7');
    expect(parseJudgeAnswer('<answer>b</answer>', candidates)).toBe('r7');
    expect(parseJudgeAnswer('first <answer>B</answer> then <answer>A</answer>', candidates)).toBe('r3');
    expect(parseJudgeAnswer('<answer>C</answer>', candidates)).toBeNull();
    expect(parseJudgeAnswer('I cannot decide.', candidates)).toBeNull();
  });
});
