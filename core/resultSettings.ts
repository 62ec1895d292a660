// The settings that shape a run's results beyond its method parameters (core/settings.ts): how
// the model samples per role, how long replies may be, how much trajectory a summariser or judge
// reads, how often a summary is retried. Frozen into run.json so that two runs can be compared
// number for number, and a difference in results can be traced to a difference in settings.
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
  scaling: { trajectoryChars: number; summaryAttempts: number };
}

const perRole = <T>(f: (role: ModelRole) => T): Record<ModelRole, T> =>
  Object.fromEntries(MODEL_ROLES.map((r) => [r, f(r)])) as Record<ModelRole, T>;

export function resultShapingSettings(config: Config): ResultShapingSettings {
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
    scaling: { trajectoryChars: config.scaling.trajectoryChars, summaryAttempts: config.scaling.summaryAttempts },
  };
}
