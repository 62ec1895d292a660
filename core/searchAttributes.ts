// Search attributes the system sets, so runs can be found in the Temporal UI and with `temporal
// workflow list --query`. Prefixed because a namespace may be shared with other applications.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA = {
  runId: defineSearchAttributeKey('AgentscaleRunId', SearchAttributeType.KEYWORD),
  taskId: defineSearchAttributeKey('AgentscaleTaskId', SearchAttributeType.KEYWORD),
  job: defineSearchAttributeKey('AgentscaleJob', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('AgentscaleStatus', SearchAttributeType.KEYWORD),
  strategy: defineSearchAttributeKey('AgentscaleStrategy', SearchAttributeType.KEYWORD),
  model: defineSearchAttributeKey('AgentscaleModel', SearchAttributeType.KEYWORD),
  iteration: defineSearchAttributeKey('AgentscaleIteration', SearchAttributeType.INT),
  rollout: defineSearchAttributeKey('AgentscaleRollout', SearchAttributeType.KEYWORD),
  /** A finished rollout: passed, failed, eval-error, or its exit status when the model or sandbox failed. */
  outcome: defineSearchAttributeKey('AgentscaleOutcome', SearchAttributeType.KEYWORD),
} as const;

export const SEARCH_ATTRIBUTE_TYPES: Record<string, 'Keyword' | 'Int'> = Object.fromEntries(
  Object.values(SA).map((k) => [k.name, k.type === SearchAttributeType.INT ? 'Int' : 'Keyword']),
);
