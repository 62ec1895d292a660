// With --json, stdout is the JSON alone: what libraries print goes to stderr.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../runtime/config';
import { EXAMPLES, testConfig } from './helpers';

const run = promisify(execFile);

describe('--json output', () => {
  it('console output of any library goes to stderr once stdout is reserved for JSON', async () => {
    const script = [
      "import { printJson, reserveStdoutForJson } from './client/output.ts';",
      "console.log('before: still stdout');",
      'reserveStdoutForJson();',
      "console.log('a library notice'); console.info('info'); console.warn('deprecated model'); console.debug('dbg');",
      'printJson({ ok: 1 });',
    ].join('\n');
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx/esm', '--input-type=module', '-e', script],
      {
        cwd: PROJECT_ROOT,
      },
    );
    expect(stdout).toBe('before: still stdout\n{\n  "ok": 1\n}\n');
    expect(stderr).toContain('a library notice\ninfo\ndeprecated model\ndbg\n');
  });

  it('validate --json prints parseable JSON and nothing else on stdout', async () => {
    const { file } = testConfig('json-out');
    const { stdout } = await run(
      path.join(PROJECT_ROOT, 'bin', 'agentscale'),
      ['--config', file, 'validate', '--json', path.join(EXAMPLES, 'harbor', 'hello-file')],
      { env: { ...process.env, LOG_LEVEL: 'debug' } },
    );
    expect(JSON.parse(stdout)).toMatchObject({ summary: { total: 1, valid: 1 } });
  });
});
