// The judge of Recursive Tournament Voting: shown the task and a group's candidates (summaries by
// default, or raw trajectories for the paper's ablation), it names the attempt most likely to be
// correct. Its input type has no room for tests or results: it cannot be shown what it must not see.
// The prompts are templates in the config (scaling.templates.judge); their defaults are here.
import { z } from 'zod';
import { render } from './agent';

export interface JudgeCandidate {
  /** Opaque to the judge: it sees letters, never ids. */
  id: string;
  text: string;
}

export const JUDGE_SYSTEM =
  'You are an expert software engineer reviewing attempts at a task. You judge which attempt most likely solves the task correctly and completely.';

export const JudgeTemplatesSchema = z.object({
  system: z.string().default(JUDGE_SYSTEM),
  /**
   * `{{task}}`, `{{count}}` (attempts shown), `{{described_by}}` (what each attempt is shown as),
   * `{{attempts}}` (each in an <attempt id="A"> tag).
   */
  instance: z.string()
    .default(`Here is a task and {{count}} independent attempts at it, each described by {{described_by}}.

<task>
{{task}}
</task>

{{attempts}}

Which attempt most likely solves the task correctly? Weigh whether the change addresses the actual problem, whether it was verified, and any unresolved issues. Think briefly, then end your reply with the letter of the best attempt as <answer>X</answer>.`),
  /** Sent after a reply that names no attempt; `{{answers}}`: the valid answer tags. */
  retry: z.string().default('Please end with exactly one of {{answers}}.'),
});
export type JudgeTemplates = z.infer<typeof JudgeTemplatesSchema>;
const DEFAULTS: JudgeTemplates = JudgeTemplatesSchema.parse({});

const letter = (i: number) => String.fromCharCode(65 + i);

export function judgePrompt(
  instruction: string,
  candidates: readonly JudgeCandidate[],
  kind: 'summaries' | 'trajectories',
  templates: JudgeTemplates = DEFAULTS,
): string {
  const shown = candidates.map((c, i) => `<attempt id="${letter(i)}">\n${c.text.trim()}\n</attempt>`).join('\n\n');
  return render(templates.instance, {
    task: instruction.trim(),
    count: candidates.length,
    described_by: kind === 'summaries' ? 'a summary of what the agent did' : "the agent's trajectory",
    attempts: shown,
  });
}

/** Asks again for an answer naming one of the candidates. */
export function judgeRetryMessage(candidates: readonly JudgeCandidate[], templates: JudgeTemplates = DEFAULTS): string {
  return render(templates.retry, { answers: candidates.map((_, i) => `<answer>${letter(i)}</answer>`).join(', ') });
}

/** The chosen candidate's id, or null when the reply names no valid letter (an abstention after a retry). */
export function parseJudgeAnswer(text: string, candidates: readonly JudgeCandidate[]): string | null {
  const answers = [...text.matchAll(/<answer>\s*([A-Za-z])\s*<\/answer>/g)];
  const last = answers.at(-1)?.[1]?.toUpperCase();
  if (!last) return null;
  const index = last.charCodeAt(0) - 65;
  return candidates[index]?.id ?? null;
}
