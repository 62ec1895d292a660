// Recorded histories (tests/histories, from real runs) replayed against the current workflow
// code: a change that in-flight runs would replay differently fails here, and belongs behind
// patched(). Record new ones with scripts/record-history.sh.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../runtime/config';
import { workflowBundle } from '../worker';

const dir = path.join(PROJECT_ROOT, 'tests', 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'workflow-ids.json');
/** Workflows whose code reads their own id (a scheduled run names its run by it) replay under it. */
const workflowIds = JSON.parse(readFileSync(path.join(dir, 'workflow-ids.json'), 'utf8')) as Record<string, string>;

describe('replay of recorded histories', () => {
  it('has histories of every workflow type', () => {
    const types = new Set(
      files.map((f) => {
        const h = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as {
          events: { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[];
        };
        return h.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
      }),
    );
    expect([...types].sort()).toEqual([
      'benchmarkRun',
      'rollout',
      'scheduledRun',
      'selectRun',
      'selectTask',
      'taskRun',
      'taskScaling',
      'validateDataset',
      'validateTask',
    ]);
  });

  it.each(files)('%s replays without nondeterminism', async (file) => {
    const history = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as unknown;
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowIds[file] ?? file),
    ).resolves.toBeUndefined();
  });
});
