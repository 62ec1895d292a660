// SWE-bench evaluation records: the same prediction graded twice gives byte-identical reports
// (a fresh container each time, real Docker), and every evaluation names the harness it follows.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../core/config';
import { getEvalReport, HARNESS_LABEL, pythonJsonDumps } from '../core/grading';
import { containerName } from '../core/task';
import { loadDataset } from '../datasets';
import { loadConfig, PROJECT_ROOT } from '../runtime/config';
import { evaluatePatch, sandboxSpec } from '../runtime/evaluate';
import { prepareTaskImage } from '../runtime/images';
import { LABEL, removeSandboxes } from '../runtime/sandbox';
import { EXAMPLES, FIXTURES } from './helpers';

const RUN = `sweval-test-${process.pid}`;
const work = mkdtempSync(path.join(os.tmpdir(), 'agentscale-sweval-'));
const config = ConfigSchema.parse({ ...loadConfig(path.join(PROJECT_ROOT, 'agentscale.yaml')), dataDir: work });
afterAll(async () => {
  await removeSandboxes({ [LABEL.run]: RUN });
  rmSync(work, { recursive: true, force: true });
});

describe('graded twice, the same bytes', () => {
  it('end to end: the example gold patch in two fresh containers', async () => {
    const tasks = await loadDataset(path.join(EXAMPLES, 'swebench', 'instances.jsonl'));
    const task = tasks.find((t) => t.id === 'example__calc-1')!;
    const { image } = await prepareTaskImage(task, config);
    const gold = task.solution.kind === 'patch' ? task.solution.patch : '';
    const run = async (attempt: string) => {
      const logDir = mkdtempSync(path.join(work, `${attempt}-`));
      const spec = sandboxSpec(task, config, image, containerName(RUN, task.id, attempt, 1), {
        [LABEL.run]: RUN,
        [LABEL.task]: task.id,
        [LABEL.attempt]: attempt,
      });
      const outcome = await evaluatePatch(task, gold, spec, config, logDir);
      return { outcome, read: (f: string) => readFileSync(path.join(logDir, f), 'utf8') };
    };
    const a = await run('first');
    const b = await run('second');
    expect(a.outcome.report?.resolved).toBe(true);
    expect(b.read('report.json')).toBe(a.read('report.json'));
    expect(a.outcome.harness).toBe(HARNESS_LABEL);
    const grading = JSON.parse(a.read('grading.json'));
    expect(grading).toMatchObject({ harness: HARNESS_LABEL, resolution: 'RESOLVED_FULL' });
    expect(grading.plan).toMatchObject({ source: 'default', log_parser: 'parse_log_pytest' });
    expect(a.read('eval.sh')).toContain(": '>>>>> Start Test Output'\npytest -rA tests/test_calc.py\n");
  }, 300_000);

  it('pure grading: any log and lists, twice', () => {
    const logs = readFileSync(path.join(FIXTURES, 'swebench-logs', 'requests-pytest-rA.txt'), 'utf8').split('\n');
    fc.assert(
      fc.property(
        fc.subarray(logs),
        fc.array(fc.constantFrom(...logs.map((l) => l.split(' ')[1] ?? '')), { maxLength: 8 }),
        (lines, tests) => {
          const input = {
            instanceId: 'psf__requests-1',
            modelPatch: 'diff',
            failToPass: tests.slice(0, 2),
            passToPass: tests.slice(2),
            logParser: 'parse_log_requests',
            evalType: 'pass_and_fail' as const,
            testOutput: `+ : '>>>>> Start Test Output'\n${lines.join('\n')}\n+ : '>>>>> End Test Output'\n`,
          };
          expect(pythonJsonDumps(getEvalReport(input).report)).toBe(pythonJsonDumps(getEvalReport(input).report));
        },
      ),
      { numRuns: 200, seed: 3 },
    );
  });
});
