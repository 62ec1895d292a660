// The lint rule that keeps workflow code deterministic, checked on sample code as if it were
// a file in workflows/.
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../runtime/config';

const eslint = new ESLint({ cwd: PROJECT_ROOT });
const lint = async (code: string, file = 'workflows/probe.ts') => {
  const [result] = await eslint.lintText(code, { filePath: path.join(PROJECT_ROOT, file) });
  return result!.messages.map((m) => m.ruleId);
};

describe('workflow determinism lint', () => {
  it('rejects node built-ins, I/O libraries and activity code in workflows', async () => {
    for (const code of [
      "import fs from 'node:fs';\nexport const a = fs;",
      "import { randomUUID } from 'crypto';\nexport const a = randomUUID;",
      "import Docker from 'dockerode';\nexport const a = Docker;",
      "import { Client } from '@temporalio/client';\nexport const a = Client;",
      "import { createActivities } from '../activities';\nexport const a = createActivities;",
    ])
      expect(await lint(code), code).toContain('@typescript-eslint/no-restricted-imports');
    expect(await lint('export const t = setTimeout;')).toContain('no-restricted-globals');
  });

  it('accepts the workflow SDK, core/ and type-only imports of activities', async () => {
    const ok =
      "import { sleep } from '@temporalio/workflow';\nimport type { Activities } from '../activities';\nimport { slug } from '../core/task';\nexport const a: [typeof sleep, typeof slug, Activities | undefined] = [sleep, slug, undefined];";
    expect(await lint(ok)).toEqual([]);
  });

  it('leaves activities free to do I/O', async () => {
    expect(await lint("import fs from 'node:fs';\nexport const a = fs;", 'activities/probe.ts')).toEqual([]);
  });
});

describe('layers: no upward import', () => {
  // Each probe imports one name and exports it, so the import is used.
  const probe = (name: string, from: string, type = false) =>
    `import ${type ? 'type ' : ''}{ ${name} } from '${from}';\nexport ${type ? 'type P =' : 'const p ='} ${name};`;
  it.each([
    ['core/probe.ts', probe('Config', '../runtime/config', true)],
    ['core/probe.ts', probe('Activities', '../activities', true)],
    ['runtime/probe.ts', probe('RolloutInput', '../workflows/rollout', true)],
    ['datasets/probe.ts', probe('startRun', '../client/run')],
    ['activities/probe.ts', probe('TaskScalingInput', '../workflows/scaling', true)],
    ['activities/probe.ts', probe('WORKER_ID', '../worker')],
    ['workflows/probe.ts', probe('RunOptions', '../client/run', true)],
    ['runtime/model/probe.ts', probe('Activities', '../../activities', true)],
  ])('%s: %s', async (file, code) => {
    expect(await lint(code, file)).toContain('@typescript-eslint/no-restricted-imports');
  });

  it('allows imports down the layers', async () => {
    expect(await lint(probe('Task', '../core/task', true), 'runtime/probe.ts')).toEqual([]);
    expect(await lint(probe('loadRunTask', '../runtime/artifacts'), 'activities/probe.ts')).toEqual([]);
    expect(await lint(probe('Activities', '../activities', true), 'workflows/probe.ts')).toEqual([]);
    expect(await lint(probe('runTournament', '../workflows/tournament'), 'client/probe.ts')).toEqual([]);
  });
});
