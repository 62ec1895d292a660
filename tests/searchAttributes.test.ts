// Our search attributes, added to a namespace that lacks them (a cluster, an older dev server),
// get the types they are declared with: a Keyword filter like `IN (...)` needs a Keyword, not Text.
// `agentscale search-attributes` says so, or prints the commands where the server refuses.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { describe, expect, inject, it } from 'vitest';
import { SEARCH_ATTRIBUTE_TYPES } from '../core/searchAttributes';
import { PROJECT_ROOT } from '../runtime/config';
import { ensureSearchAttributes, searchAttributeCommands } from '../runtime/temporal';
import { testConfig } from './helpers';

const CLI = path.join(PROJECT_ROOT, 'bin', 'agentscale');

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

  it('the command: registered on the configured namespace, or the commands that would do it', async () => {
    const { file } = testConfig('search-attributes');
    const out = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(CLI, ['--config', file, 'search-attributes', '--json'], (err, stdout) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
      ),
    );
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({
      namespace: 'default',
      registered: true,
      attributes: SEARCH_ATTRIBUTE_TYPES,
    });
    const commands = searchAttributeCommands('team a');
    expect(commands.cluster).toHaveLength(Object.keys(SEARCH_ATTRIBUTE_TYPES).length);
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES)) {
      expect(commands.cluster).toContain(
        `temporal operator search-attribute create --namespace 'team a' --name ${name} --type ${type}`,
      );
      expect(commands.cloud[0]).toContain(`--search-attribute "${name}=${type}"`);
    }
  });
});
