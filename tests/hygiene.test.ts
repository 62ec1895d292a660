// The processes the CLI starts: none inherits a model key (read from /proc/<pid>/environ), the dev
// server's pid file is checked before anyone trusts it, and the Temporal CLI set-up installed is
// found whatever the data folder. Real dev servers on free ports, in throwaway data folders.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, describe, expect, it } from 'vitest';
import { toFailure } from '../activities/failures';
import { ConfigSchema, type Config } from '../core/config';
import { dataPaths, PROJECT_ROOT } from '../runtime/config';
import { ModelError } from '../runtime/model/errors';
import { childEnv } from '../runtime/secrets';
import {
  ensureServer,
  findTemporalCli,
  freePort,
  recordedServer,
  startDevServer,
  stopBackgroundServer,
} from '../runtime/temporal';
import { until } from './helpers';

const T = 90_000;
const CLI = path.join(PROJECT_ROOT, 'bin', 'agentscale');
const dirs: string[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const SECRETS = {
  ANTHROPIC_API_KEY: `sk-ant-test-${process.pid}-a1b2c3d4e5`,
  OPENAI_API_KEY: `sk-openai-test-${process.pid}-f6g7h8`,
  MY_MODEL_KEY: `custom-key-${process.pid}-i9j0k1`,
};

async function freshConfig(): Promise<Config> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'agentscale-hygiene-'));
  dirs.push(dataDir);
  return ConfigSchema.parse({
    dataDir,
    temporal: { devServer: { port: await freePort(), uiPort: await freePort() } },
    model: { apiKeyEnv: 'MY_MODEL_KEY' },
  });
}

function environOf(pid: number): string {
  return readFileSync(`/proc/${pid}/environ`, 'latin1');
}

function expectNoKeys(pid: number) {
  const env = environOf(pid);
  expect(env).toContain('PATH='); // a real environment was read
  for (const [name, value] of Object.entries(SECRETS)) {
    expect(env, `${name} in the environment of pid ${pid}`).not.toContain(value);
    expect(env).not.toContain(`${name}=`);
  }
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describe('model keys stay in the worker', () => {
  it('childEnv drops every model key, the configured one too', () => {
    const env = childEnv({ apiKeyEnv: 'MY_MODEL_KEY' }, { ...SECRETS, ANTHROPIC_AUTH_TOKEN: 'x', PATH: '/bin' });
    expect(env).toEqual({ PATH: '/bin' });
  });

  it(
    'the background dev server, an owned one, and the foreground `server` command get no key',
    { timeout: T },
    async () => {
      Object.assign(process.env, SECRETS);
      cleanups.push(() => {
        for (const k of Object.keys(SECRETS)) delete process.env[k];
      });

      // Background, started by a command on first use; a data folder without a tools folder of
      // its own still finds the CLI that set-up installed (no download, which fails offline).
      const config = await freshConfig();
      expect(findTemporalCli(config)).toBeDefined();
      cleanups.push(() => void stopBackgroundServer(config));
      const server = await ensureServer(config);
      expect(server.dispose).toBeUndefined();
      const bg = recordedServer(config);
      expect(bg?.ours).toBe(true);
      expectNoKeys(bg!.pid);

      const owned = await startDevServer(config, { logFile: path.join(config.dataDir, 'owned.log') });
      cleanups.push(() => owned.stop());
      expectNoKeys(owned.process.pid!);

      // Foreground, through the CLI (which keeps the keys: it is the worker's process).
      const fg = await freshConfig();
      const file = path.join(fg.dataDir, 'agentscale.yaml');
      writeFileSync(
        file,
        JSON.stringify({ dataDir: fg.dataDir, temporal: fg.temporal, model: { apiKeyEnv: 'MY_MODEL_KEY' } }),
      );
      const cli: ChildProcess = spawn(CLI, ['-c', file, 'server'], { stdio: 'ignore', env: process.env });
      cleanups.push(() => void cli.kill('SIGTERM'));
      const rec = await until('the foreground server to record itself', () => recordedServer(fg));
      expect(rec.ours).toBe(true);
      expect(rec.pid).not.toBe(cli.pid);
      expectNoKeys(rec.pid);
      expect(environOf(cli.pid!)).toContain(SECRETS.ANTHROPIC_API_KEY);
      // `server --stop` finds it by its record, and the record goes with it.
      const stop = spawn(CLI, ['-c', file, 'server', '--stop'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      stop.stdout.on('data', (b: Buffer) => (out += b.toString()));
      await new Promise((r) => stop.on('exit', r));
      expect(out).toMatch(new RegExp(`stopped the dev server \\(pid ${rec.pid}\\)`));
      await until('the foreground server to exit', () => (gone(rec.pid) ? true : undefined));
      await until('the CLI to exit', () => (cli.exitCode !== null || cli.signalCode !== null ? true : undefined));
      expect(existsSync(dataPaths(fg).serverPid)).toBe(false);
    },
  );
});

describe('the dev server pid file', () => {
  it('is not trusted when it names another process: --stop leaves that process alone', { timeout: T }, async () => {
    const config = await freshConfig();
    const pidFile = dataPaths(config).serverPid;
    // This very process: alive, but not a dev server.
    writeFileSync(pidFile, String(process.pid));
    expect(recordedServer(config)).toEqual({ pid: process.pid, ours: false });
    const r = stopBackgroundServer(config);
    expect(r.stopped).toBe(false);
    expect(r.message).toMatch(/not the dev server any more/);
    expect(existsSync(pidFile)).toBe(false);
    expect(stopBackgroundServer(config).message).toBe('no dev server recorded');
  });

  it('left by a crash is detected and replaced by the next start', { timeout: T }, async () => {
    const config = await freshConfig();
    const pidFile = dataPaths(config).serverPid;
    writeFileSync(pidFile, '999999999');
    cleanups.push(() => void stopBackgroundServer(config));
    await ensureServer(config);
    const rec = recordedServer(config);
    expect(rec?.ours).toBe(true);
    expect(rec?.pid).not.toBe(999999999);
    // A second command reuses it.
    await ensureServer(config);
    expect(recordedServer(config)?.pid).toBe(rec?.pid);
    expect(stopBackgroundServer(config).stopped).toBe(true);
    await until('the server to exit', () => (gone(rec!.pid) ? true : undefined));
  });
});

describe('model retries', () => {
  it('are benign failures (logged at debug by the SDK, at info by the model layer), fatal ones are not', () => {
    const retry = toFailure(new ModelError('overloaded', 'overloaded', { status: 529 }));
    expect(retry).toBeInstanceOf(ApplicationFailure);
    expect((retry as ApplicationFailure).category).toBe('BENIGN');
    const fatal = toFailure(new ModelError('bad key', 'auth', { status: 401 }));
    expect((fatal as ApplicationFailure).category).toBeUndefined();
    expect((fatal as ApplicationFailure).nonRetryable).toBe(true);
  });
});
