// Differential test: Harbor's `${VAR}` env templates ([environment].env, [verifier].env,
// [solution].env) resolved by core/harbor.ts resolveEnvTemplates and by Harbor's own
// harbor.utils.env.resolve_env_vars (the installed reference, scripts/harbor-reference.sh) on the
// same values and host environments: hand-picked edge cases plus generated ones. Skipped, with
// the reason printed, when Harbor cannot be installed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveEnvTemplates } from '../core/harbor';
import { PROJECT_ROOT } from '../runtime/config';

function harborPython(): { python?: string; reason?: string } {
  const r = spawnSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'harbor-reference.sh')], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  const harbor = r.stdout?.trim().split('\n').at(-1);
  const python = harbor && path.join(path.dirname(harbor), 'python');
  if (r.status !== 0 || !python || !existsSync(python))
    return { reason: `scripts/harbor-reference.sh failed: ${(r.stderr || r.error?.message || '').trim().slice(-400)}` };
  return { python };
}

const ref = harborPython();
if (ref.reason) console.warn(`[harbor-env] skipped: ${ref.reason}`);

interface Case {
  env: Record<string, string>;
  host: Record<string, string>;
}
type Outcome = { env: Record<string, string> } | { error: true };

/** Harbor's answer for every case, in one Python process. */
function harbor(cases: Case[]): Outcome[] {
  const script = `
import json, os, sys
from harbor.utils.env import resolve_env_vars
out = []
for case in json.load(sys.stdin):
    os.environ.clear()
    os.environ.update(case["host"])
    try:
        out.append({"env": resolve_env_vars(case["env"])})
    except ValueError:
        out.append({"error": True})
print(json.dumps(out))
`;
  const r = spawnSync(ref.python!, ['-c', script], { input: JSON.stringify(cases), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Outcome[];
}

const ours = (c: Case): Outcome => {
  const r = resolveEnvTemplates(c.env, c.host);
  return 'error' in r ? { error: true } : { env: r.env };
};

describe.skipIf(!!ref.reason)('${VAR} templates against Harbor', () => {
  it('resolves edge cases as Harbor does', () => {
    const host = { A: 'a', EMPTY: '', 'A-x': 'dash', 'A B': 'space', B: 'b\nc' };
    const values = [
      '${A}',
      '${A:-d}',
      '${N:-d}',
      '${EMPTY:-d}',
      '${N:-}',
      '${N:-x:-y}',
      '${N:-a}b}',
      '${A}x',
      'x${A}',
      '$A',
      '${}',
      '${:-d}',
      '${A B}',
      '${A-x}',
      '${N-x}',
      '${N:-multi\nline}',
      '${N:-${A}}',
      '${B}',
      '${A}${A}',
      '${N:?e}',
      ' ${A}',
      '${A}\n',
      '${N}',
    ];
    const cases: Case[] = values.map((v) => ({ env: { K: v }, host }));
    const theirs = harbor(cases);
    cases.forEach((c, i) => expect(ours(c), JSON.stringify(c.env.K)).toEqual(theirs[i]));
    // Several keys at once: all resolved, or the first unset one fails the whole env.
    const multi: Case = { env: { X: '${A}', Y: 'lit', Z: '${N:-z}' }, host };
    expect(ours(multi)).toEqual(harbor([multi])[0]);
    expect(ours(multi)).toEqual({ env: { X: 'a', Y: 'lit', Z: 'z' } });
  });

  it('agrees on generated values and host environments', () => {
    const piece = fc.constantFrom('$', '{', '}', ':', '-', 'A', 'B', 'x', ' ', '\n', '${A}', '${B:-', '${N');
    const value = fc.array(piece, { maxLength: 8 }).map((p) => p.join(''));
    const hostValue = fc.option(fc.constantFrom('', 'v', 'w x'), { nil: undefined });
    const caseArb = fc.record({
      env: fc.dictionary(fc.constantFrom('K1', 'K2', 'K3'), value, { maxKeys: 3 }),
      host: fc
        .record({ A: hostValue, B: hostValue, N: hostValue })
        .map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>),
    });
    const cases = fc.sample(caseArb, { numRuns: 400, seed: 10 });
    const theirs = harbor(cases);
    cases.forEach((c, i) => expect(ours(c), JSON.stringify(c)).toEqual(theirs[i]));
  });
});
