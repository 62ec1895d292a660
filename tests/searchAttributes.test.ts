// Our search attributes, added to a namespace that lacks them (a cluster, an older dev server),
// get the types they are declared with: a Keyword filter like `IN (...)` needs a Keyword, not Text.
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { describe, expect, inject, it } from 'vitest';
import { SEARCH_ATTRIBUTE_TYPES } from '../core/searchAttributes';
import { ensureSearchAttributes } from '../runtime/temporal';

describe('search attributes', () => {
  it('are registered where missing, each with its declared type', async () => {
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const namespace = `sa-${Date.now()}`;
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: proto.google.protobuf.Duration.fromObject({ seconds: 86_400 }),
      });
      const ours = async () =>
        Object.fromEntries(
          Object.entries(
            (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {},
          ).filter(([name]) => name in SEARCH_ATTRIBUTE_TYPES),
        );
      expect(await ours()).toEqual({});
      expect(await ensureSearchAttributes(connection, namespace)).toBe(true);
      const types = proto.temporal.api.enums.v1.IndexedValueType;
      const want = (t: string) => (t === 'Int' ? types.INDEXED_VALUE_TYPE_INT : types.INDEXED_VALUE_TYPE_KEYWORD);
      expect(await ours()).toEqual(
        Object.fromEntries(Object.entries(SEARCH_ATTRIBUTE_TYPES).map(([name, t]) => [name, want(t)])),
      );
    } finally {
      await connection.close();
    }
  });
});
