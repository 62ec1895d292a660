// Which grader made a verdict: our version, the harness semantics it follows, and a hash of the
// hidden tests as read at grading time (a task folder's test files can change between a run and
// its regrade; the hash says which ones decided).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { HARNESS_LABEL } from '../core/grading';
import type { GraderVersion } from '../core/regrade';
import type { Task } from '../core/task';
import { PROJECT_ROOT } from './config';

const ourVersion = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;

/** Every file under `dir`, in a fixed order, with its relative path: renames and edits both show. */
function hashTree(hash: ReturnType<typeof createHash>, dir: string, rel = ''): void {
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    const file = path.join(rel, name);
    const full = path.join(dir, file);
    if (statSync(full).isDirectory()) hashTree(hash, dir, file);
    else hash.update(`${file}\0`).update(readFileSync(full)).update('\0');
  }
}

export function graderVersion(task: Task): GraderVersion {
  const hash = createHash('sha256');
  const v = task.verifier;
  if (v.kind === 'swebench') hash.update(JSON.stringify(v));
  else {
    if (v.testsDir && existsSync(v.testsDir)) hashTree(hash, v.testsDir);
    if (v.kind === 'terminal-bench' && existsSync(v.runTestsPath))
      hash.update('run-tests.sh\0').update(readFileSync(v.runTestsPath));
  }
  return {
    agentscale: ourVersion,
    ...(v.kind === 'swebench' ? { harness: HARNESS_LABEL } : {}),
    tests: hash.digest('hex').slice(0, 16),
  };
}
