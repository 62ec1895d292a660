// Structured summaries of rollouts (method.md, piece 2): the same model that acted distils a
// trajectory into what was tried, decided, changed and checked, how far it got and what went
// wrong. Summaries are what the judge compares and what the next PDR iteration is given. The
// prompts are templates in the config (scaling.templates.summary); their defaults are here.
//
// Blindness is structural: a summary is made from the trajectory alone (the prompt, the agent's
// replies, the command outputs it saw), and nothing here has a field for test results.
import { z } from 'zod';
import { render } from './agent';

export const SummarySchema = z.object({
  hypotheses: z.array(z.string()).describe('hypotheses about the cause or the approach, in the order tried'),
  keyDecisions: z.array(z.string()).describe('decisions that shaped the attempt, with their reason'),
  changes: z.array(z.string()).describe('what was changed: files, functions, commands that altered state'),
  verification: z.array(z.string()).describe('how the changes were checked, and what the checks showed'),
  progress: z.string().describe('how far the attempt got: done, partly done, stuck; one or two sentences'),
  failureModes: z
    .array(z.string())
    .describe('how approaches failed: the errors hit and the approaches that did not work, with why'),
  openIssues: z.array(z.string()).describe('what remains uncertain or undone'),
});
export type Summary = z.infer<typeof SummarySchema>;

/** One step of a trajectory as the summariser sees it. */
export interface TrajectoryStep {
  step: number;
  reply: string;
  /** What the agent saw back: command output or a format-error message. */
  observation?: string;
}

/**
 * The trajectory as text within `maxChars`: each observation capped, and when still too long the
 * middle steps cut, keeping the start (the approach) and the end (the outcome), with the cut
 * marked so the model knows something is missing.
 */
export function renderTrajectory(steps: readonly TrajectoryStep[], maxChars: number, observationCap = 2000): string {
  const cap = (s: string) =>
    s.length <= observationCap
      ? s
      : `${s.slice(0, observationCap / 2)}\n[... ${s.length - observationCap} characters cut ...]\n${s.slice(-observationCap / 2)}`;
  const blocks = steps.map(
    (s) =>
      `## Step ${s.step}\n### Agent\n${s.reply.trim()}\n${s.observation === undefined ? '' : `### Observation\n${cap(s.observation.trim())}\n`}`,
  );
  const total = blocks.reduce((a, b) => a + b.length, 0);
  if (total <= maxChars) return blocks.join('\n');
  // Keep alternately from the start and the end until the budget is spent.
  const head: string[] = [];
  const tail: string[] = [];
  let used = 0;
  let i = 0;
  let j = blocks.length - 1;
  while (i <= j) {
    const fromHead = head.length <= tail.length;
    const b = fromHead ? blocks[i]! : blocks[j]!;
    if (used + b.length > maxChars) break;
    used += b.length;
    if (fromHead) head.push(blocks[i++]!);
    else tail.unshift(blocks[j--]!);
  }
  const cut = j - i + 1;
  const marker =
    cut > 0
      ? `\n[... ${cut} step${cut === 1 ? '' : 's'} (${steps[i]?.step}-${steps[j]?.step}) cut to fit the context ...]\n`
      : '';
  return [...head, marker, ...tail].join('\n');
}

const FIELDS = Object.entries(SummarySchema.shape)
  .map(([k, v]) => `- "${k}": ${v instanceof z.ZodArray ? 'list of strings' : 'string'}, ${v.description}`)
  .join('\n');

export const SUMMARY_SYSTEM =
  'You distil the trajectories of coding agents into structured summaries. You are precise and brief, and you report only what the trajectory shows.';

// What a summary keeps and what it drops, without overlap: a hypothesis that proved wrong is kept
// (with the failure mode it hit); dropped are raw output, repeated exploration and dead ends,
// meaning exploration that led nowhere, not approaches that failed.
export const SummaryTemplatesSchema = z.object({
  system: z.string().default(SUMMARY_SYSTEM),
  /** `{{task}}`, `{{trajectory}}`, `{{exit_status}}`, `{{fields}}` (the JSON fields, from the schema). */
  instance: z.string()
    .default(`An agent worked on the task below. Summarise its attempt so that another engineer can learn from it without reading the trajectory.

<task>
{{task}}
</task>

<trajectory exit_status="{{exit_status}}">
{{trajectory}}
</trajectory>

Keep the hypotheses tried, key decisions, what was changed, how it was checked, how far it got, and the failure modes hit. Leave out raw terminal output, repeated exploration and dead ends (looking in places that turned out to be irrelevant). A hypothesis that proved wrong is not a dead end: keep it, with the failure mode it hit.

Reply with one JSON object in a \`\`\`json block, with exactly these fields:
{{fields}}`),
  /** Sent after an invalid summary; `{{error}}` says what is wrong. */
  retry: z.string().default('That summary is not valid: {{error}}. Reply again with the JSON object only.'),
  /** What a PDR rollout is given in its first prompt; `{{attempts}}`: the summaries, each in a <prior_attempt> tag. */
  context: z.string().default(`<prior_attempts>
Summaries of earlier, independent attempts at this task follow. They may be wrong or incomplete: use what helps, avoid what failed, and check everything yourself.

{{attempts}}
</prior_attempts>`),
});
export type SummaryTemplates = z.infer<typeof SummaryTemplatesSchema>;
const DEFAULTS: SummaryTemplates = SummaryTemplatesSchema.parse({});

export function summaryPrompt(
  instruction: string,
  trajectory: string,
  exitStatus: string,
  templates: SummaryTemplates = DEFAULTS,
): string {
  return render(templates.instance, {
    task: instruction.trim(),
    trajectory,
    exit_status: exitStatus,
    fields: FIELDS,
  });
}

export function summaryRetryMessage(error: string, templates: SummaryTemplates = DEFAULTS): string {
  return render(templates.retry, { error });
}

/** Reads the JSON object of a summariser's reply; the error says what to fix on a retry. */
export function parseSummary(text: string): { ok: true; summary: Summary } | { ok: false; error: string } {
  const fenced = /```(?:json)?\s*\n([\s\S]*?)\n```/.exec(text)?.[1];
  const raw = fenced ?? text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, error: 'the reply holds no valid JSON object' };
  }
  const parsed = SummarySchema.safeParse(value);
  if (!parsed.success)
    return {
      ok: false,
      error: parsed.error.issues.map((i) => `${i.path.join('.') || 'object'}: ${i.message}`).join('; '),
    };
  return { ok: true, summary: parsed.data };
}

/** What a PDR rollout is given in its first prompt: the summaries of selected earlier attempts. */
export function contextText(summaries: readonly string[], templates: SummaryTemplates = DEFAULTS): string {
  if (summaries.length === 0) return '';
  const shown = summaries.map((s, i) => `<prior_attempt index="${i + 1}">\n${s.trim()}\n</prior_attempt>`).join('\n\n');
  return render(templates.context, { attempts: shown });
}

const list = (xs: string[]) => (xs.length ? xs.map((x) => `- ${x}`).join('\n') : '- (none)');

/** The text a judge (or the next iteration's agent) reads. */
export function renderSummary(s: Summary): string {
  return [
    `Hypotheses tried:\n${list(s.hypotheses)}`,
    `Key decisions:\n${list(s.keyDecisions)}`,
    `Changes made:\n${list(s.changes)}`,
    `How it was checked:\n${list(s.verification)}`,
    `Progress: ${s.progress}`,
    `Failure modes:\n${list(s.failureModes)}`,
    `Open issues:\n${list(s.openIssues)}`,
  ].join('\n\n');
}
