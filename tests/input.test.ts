// What a user types, checked before anything starts: config keys, settings that contradict each
// other, files that are not datasets, missing fields. Pure checks plus two CLI invocations.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../core/config';
import { closestName, scalingProblems, unknownKeys } from '../core/input';
import { DatasetError } from '../core/task';
import { collectDataset, loadDatasets } from '../datasets';
import { ConfigError, loadConfig, PROJECT_ROOT } from '../runtime/config';

const dir = mkdtempSync(path.join(os.tmpdir(), 'agentscale-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('config keys', () => {
  it('finds unknown keys at any depth, with the closest known key', () => {
    const raw = {
      temporl: {},
      sandbox: { storgeMb: 10, cpus: 2 },
      model: { prices: { 'my-model': { inputPerMtok: 1, outputPerMTok: 2 } } },
      swebench: { recipes: { 'a/b': { source: '.', instal: [] } } },
      agent: { templates: { sytem: 'x' } },
      somethingElse: 1,
    };
    expect(unknownKeys(ConfigSchema, raw)).toEqual([
      { path: 'temporl', key: 'temporl', suggestion: 'temporal' },
      { path: 'sandbox.storgeMb', key: 'storgeMb', suggestion: 'storageMb' },
      { path: 'model.prices.my-model.inputPerMtok', key: 'inputPerMtok', suggestion: 'inputPerMTok' },
      { path: 'swebench.recipes.a/b.instal', key: 'instal', suggestion: 'install' },
      { path: 'agent.templates.sytem', key: 'sytem', suggestion: 'system' },
      { path: 'somethingElse', key: 'somethingElse', suggestion: undefined },
    ]);
    expect(unknownKeys(ConfigSchema, { sandbox: { cpus: 2 }, images: { baseImages: { 'x:*': 'y' } } })).toEqual([]);
    expect(closestName('memory_mb', ['memoryMb', 'cpus'])).toBe('memoryMb');
  });

  it('loadConfig refuses them, and says "missing" for a required field', () => {
    const file = write('bad.yaml', 'sandbox:\n  storgeMb: 2048\nswebench:\n  recipes:\n    "a/b": {}\n');
    let err: unknown;
    try {
      loadConfig(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain(`${file} [sandbox.storgeMb]: unknown key "storgeMb" (did you mean "storageMb"?)`);
    expect(msg).toContain(`${file} [swebench.recipes.a/b.source]: missing`);
    // The project's own config is clean.
    expect(() => loadConfig(path.join(PROJECT_ROOT, 'agentscale.yaml'))).not.toThrow();
  });
});

describe('datasets', () => {
  it('a file that is not a dataset says so', async () => {
    const readme = write('README.md', '# My tasks\n\nSee the folders.\n');
    const { issues } = await collectDataset(readme);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toMatch(/^not a dataset: .* this one is not JSON/);
    await expect(loadDatasets([readme])).rejects.toThrow(DatasetError);
  });

  it('a missing required field says "missing"', async () => {
    const file = write('one.jsonl', JSON.stringify({ instance_id: 'o__r-1', base_commit: 'a'.repeat(40) }) + '\n');
    const { issues } = await collectDataset(file);
    const byField = Object.fromEntries(issues.map((i) => [i.field, i.message]));
    expect(byField.repo).toBe('missing');
    expect(byField.problem_statement).toBe('missing');
  });
});

describe('settings', () => {
  it('K may not exceed N when summaries are carried forward', () => {
    const pdr = { strategy: 'pdr', n: 2, k: 5, iterations: 2, context: 'select-K' };
    expect(scalingProblems(pdr)).toEqual([expect.stringMatching(/^K = 5 .* larger than N = 2/)]);
    expect(scalingProblems({ ...pdr, k: 2 })).toEqual([]);
    expect(scalingProblems({ ...pdr, context: 'random-K' })).toHaveLength(1);
    expect(scalingProblems({ ...pdr, context: 'none' })).toEqual([]);
    expect(scalingProblems({ ...pdr, strategy: 'rtv', iterations: 1 })).toEqual([]);
    expect(scalingProblems(undefined)).toEqual([]);
  });

  it('the CLI refuses a non-integer seed and -k above -n before starting anything', { timeout: 60_000 }, () => {
    const cli = (...args: string[]) =>
      spawnSync(path.join(PROJECT_ROOT, 'bin', 'agentscale'), args, {
        encoding: 'utf8',
        env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' }, // nothing may be contacted
      });
    const seed = cli('run', '--strategy', 'pdr', '--seed', '1.5', 'examples/harbor');
    expect(seed.status).not.toBe(0);
    expect(seed.stderr).toMatch(/--seed <n>' argument '1.5' is invalid\. expected an integer/);
    const k = cli('run', '--strategy', 'pdr', '-n', '2', '-k', '5', 'examples/harbor');
    expect(k.status).toBe(2);
    expect(k.stderr).toMatch(/K = 5 \(-k, scaling.k\) is larger than N = 2/);
  });
});
