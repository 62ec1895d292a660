// The settings that shape a run's results beyond its method parameters (core/settings.ts): how
// the model samples per role, how long replies may be, how much of a command's output the agent
// sees, how much trajectory a summariser or judge reads, how often a summary is retried, and which
// prompts were used (a hash of each template). Frozen into run.json so that two runs can be
// compared number for number, and a difference in results traced to a difference in settings.
import type { Config } from './config';
import { MODEL_ROLES, SAMPLING_ACCEPTED, type ModelRole } from './model';

/** One role's sampling as the API received it; null: not sent, the model's own default applies. */
export interface EffectiveSampling {
  temperature: number | null;
  topP: number | null;
}

export interface ResultShapingSettings {
  model: { provider: Config['model']['provider']; name: string; maxTokens: number };
  sampling: {
    /** Whether the provider's API was sent temperature and top_p at all. */
    sent: boolean;
    /** Why not, when not. */
    note?: string;
    /** What the config asks for, per role. */
    configured: Record<ModelRole, { temperature: number; topP: number | null }>;
    /** What the requests carried, per role. */
    effective: Record<ModelRole, EffectiveSampling>;
  };
  agent: { outputCapBytes: number };
  scaling: { trajectoryChars: number; summaryAttempts: number };
  /** A hash of each prompt template, by its config path (e.g. `agent.templates.system`). */
  prompts: Record<string, string>;
}

/** Every prompt template in the config, by its path there. */
export function promptTemplates(config: Config): Record<string, string> {
  const named = (prefix: string, templates: Record<string, string>) =>
    Object.entries(templates).map(([k, v]) => [`${prefix}.${k}`, v] as const);
  return Object.fromEntries([
    ...named('agent.templates', config.agent.templates),
    ...named('scaling.templates.summary', config.scaling.templates.summary),
    ...named('scaling.templates.judge', config.scaling.templates.judge),
  ]);
}

const perRole = <T>(f: (role: ModelRole) => T): Record<ModelRole, T> =>
  Object.fromEntries(MODEL_ROLES.map((r) => [r, f(r)])) as Record<ModelRole, T>;

/** @param hash a digest of a template's text (sha256 in the caller: core has no crypto). */
export function resultShapingSettings(config: Config, hash: (text: string) => string): ResultShapingSettings {
  const { provider, name, maxTokens, sampling } = config.model;
  const accepted = SAMPLING_ACCEPTED[provider];
  return {
    model: { provider, name, maxTokens },
    sampling: {
      sent: accepted.sent,
      note: accepted.why,
      configured: perRole((r) => ({ temperature: sampling[r].temperature, topP: sampling[r].topP ?? null })),
      effective: perRole((r) =>
        accepted.sent
          ? { temperature: sampling[r].temperature, topP: sampling[r].topP ?? null }
          : { temperature: null, topP: null },
      ),
    },
    agent: { outputCapBytes: config.sandbox.outputCapBytes },
    scaling: { trajectoryChars: config.scaling.trajectoryChars, summaryAttempts: config.scaling.summaryAttempts },
    prompts: Object.fromEntries(Object.entries(promptTemplates(config)).map(([k, v]) => [k, hash(v)])),
  };
}
