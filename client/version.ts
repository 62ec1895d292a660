// The version `--version` prints: package.json's, and the commit when run from a git checkout.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PROJECT_ROOT } from '../runtime/config';

function commit(): string | undefined {
  try {
    return execFileSync('git', ['-C', PROJECT_ROOT, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

const pkg = JSON.parse(readFileSync(`${PROJECT_ROOT}/package.json`, 'utf8')) as { version: string };
const sha = commit();
export const VERSION = `agentscale ${pkg.version}${sha ? ` (${sha})` : ''}`;
