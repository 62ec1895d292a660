// The terminal agent's tmux session in a task's container, as Terminus drives it
// (terminal_bench/terminal/tmux_session.py): one detached session of 160 x 40 with 50,000 lines
// of history, keystrokes sent with `tmux send-keys`, the screen read with `tmux capture-pane -p`
// (the whole scrollback with `-S -`). Each tmux call is its own `docker exec`, never the sandbox's
// command server, whose clean-up after each command would kill the tmux server. The image's tmux
// is used when it has one; otherwise the bundle scripts/tmux-bundle.sh made on the host is copied
// in and run through its own loader, so nothing in the image changes but one folder.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config';
import { HISTORY_LIMIT, TERMINAL_COLS, TERMINAL_ROWS, sendKeysArgs } from '../core/terminal';
import { dataPaths, PROJECT_ROOT } from './config';
import { execDirect } from './directExec';
import { copyIntoSandbox } from './sandbox';

export const SESSION = 'agent';
/** Where a bundled tmux goes in a container that has none. */
export const BUNDLE_IN_CONTAINER = '/opt/agentscale-tmux';

const TMUX_CALL_TIMEOUT_SEC = 30;

/** The host's bundle: the data folder's tools, then the project's own (where setup puts it). */
export function tmuxBundle(config: Config): string | undefined {
  return [dataPaths(config).tools, path.join(PROJECT_ROOT, '.agentscale', 'tools')]
    .map((d) => path.join(d, 'tmux'))
    .find((d) => existsSync(path.join(d, 'tmux')) && existsSync(path.join(d, 'lib', 'ld.so')));
}

export const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface Terminal {
  containerId: string;
  /** The shell words that run tmux in the container. */
  tmux: string;
  user?: string;
}

async function run(
  t: Pick<Terminal, 'containerId' | 'user'>,
  command: string,
  env?: Record<string, string>,
  cwd?: string,
) {
  return execDirect({
    containerId: t.containerId,
    command,
    timeoutSec: TMUX_CALL_TIMEOUT_SEC,
    outputCapBytes: 64 * 2 ** 20,
    user: t.user,
    cwd,
    env,
  });
}

/** tmux in the container: the image's, else the host's bundle copied in. */
export async function tmuxIn(config: Config, containerId: string, user?: string): Promise<Terminal> {
  const bundled = `${BUNDLE_IN_CONTAINER}/lib/ld.so --library-path ${BUNDLE_IN_CONTAINER}/lib ${BUNDLE_IN_CONTAINER}/tmux`;
  const probe = await run(
    { containerId, user },
    `if command -v tmux >/dev/null 2>&1 && tmux -V >/dev/null 2>&1; then echo image; elif [ -x ${BUNDLE_IN_CONTAINER}/tmux ]; then echo bundle; else echo none; fi`,
  );
  const where = probe.output.trim();
  if (where === 'image') return { containerId, tmux: 'tmux', user };
  if (where !== 'bundle') {
    const bundle = tmuxBundle(config);
    if (!bundle)
      throw new Error(
        'the image has no tmux and no tmux bundle is on this machine: run scripts/setup.sh (or scripts/tmux-bundle.sh)',
      );
    await copyIntoSandbox(containerId, bundle, BUNDLE_IN_CONTAINER);
  }
  const check = await run({ containerId, user }, `${bundled} -V`);
  if (check.exitCode !== 0) throw new Error(`the bundled tmux does not run in this container: ${check.output.trim()}`);
  return { containerId, tmux: bundled, user };
}

const tmuxCmd = (t: Terminal, args: string[]) => `${t.tmux} ${args.map(shQuote).join(' ')}`;

export async function sessionAlive(t: Terminal): Promise<boolean> {
  return (await run(t, tmuxCmd(t, ['has-session', '-t', SESSION]))).exitCode === 0;
}

/** Starts the session (Terminus's size and history), with the task's environment and working folder. */
export async function startSession(t: Terminal, opts: { cwd?: string; env?: Record<string, string> }): Promise<void> {
  if (await sessionAlive(t)) return;
  const args = ['new-session', '-x', String(TERMINAL_COLS), '-y', String(TERMINAL_ROWS), '-d', '-s', SESSION];
  if (opts.cwd) args.push('-c', opts.cwd);
  const cmd = `${tmuxCmd(t, args)} \\; ${['set-option', '-t', SESSION, 'history-limit', String(HISTORY_LIMIT)].map(shQuote).join(' ')}`;
  // tmux runs $SHELL (else the user's login shell) as a login shell in the pane. A task user
  // whose login shell is nologin would get a session that ends at once: bash, as the bash agent's
  // commands run, unless the task's environment names a shell.
  const r = await run(t, cmd, { SHELL: '/bin/bash', ...opts.env }, opts.cwd);
  if (r.exitCode !== 0) throw new Error(`tmux new-session failed (exit ${r.exitCode}): ${r.output.trim()}`);
  if (!(await sessionAlive(t))) throw new Error('the tmux session ended as soon as it started (no usable shell?)');
}

export async function sendKeys(t: Terminal, keystrokes: string): Promise<void> {
  // An empty batch is a wait (Terminus's {"keystrokes": "", "duration": 10}): nothing to send.
  if (keystrokes === '') return;
  const r = await run(t, tmuxCmd(t, sendKeysArgs(SESSION, keystrokes)));
  if (r.exitCode !== 0) throw new Error(`tmux send-keys failed (exit ${r.exitCode}): ${r.output.trim()}`);
}

/** The visible screen, or with `entire` the whole scrollback. */
export async function capturePane(t: Terminal, entire = false): Promise<string> {
  const r = await run(t, tmuxCmd(t, ['capture-pane', '-p', ...(entire ? ['-S', '-'] : []), '-t', SESSION]));
  if (r.exitCode !== 0) throw new Error(`tmux capture-pane failed (exit ${r.exitCode}): ${r.output.trim()}`);
  return r.output;
}
