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
