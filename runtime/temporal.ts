// Finding a Temporal server: the configured one (TEMPORAL_ADDRESS), else the embedded dev server,
// started once in the background with a persistent SQLite file and reused by later commands.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import proto from '@temporalio/proto';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { temporalUiUrl, type Config } from '../core/config';
import { SEARCH_ATTRIBUTE_TYPES } from '../core/searchAttributes';
import { dataPaths, PROJECT_ROOT } from './config';
import { log } from './log';
import { childEnv, withoutModelKeys } from './secrets';

/** Identifies a server and namespace in container labels. */
export const serverKey = (s: Pick<ServerHandle, 'address' | 'namespace'>) => `${s.address}/${s.namespace}`;

export interface ServerHandle {
  address: string;
  namespace: string;
  /** Web UI base URL, when known. */
  uiUrl?: string;
  /** Whether our search attributes are registered (workflows only set them if so). */
  searchAttributes: boolean;
  /** Stops a server that lives only as long as this process (the SDK-download fallback). */
  dispose?: () => Promise<void>;
}

function tlsOptions(config: Config): ConnectionOptions['tls'] {
  const t = config.temporal.tls;
  const apiKey = process.env.TEMPORAL_API_KEY;
  if (!t && !apiKey) return undefined;
  const read = (p?: string) => (p ? readFileSync(p) : undefined);
  return {
    serverNameOverride: t?.serverNameOverride,
    serverRootCACertificate: read(t?.serverRootCaCertPath),
    clientCertPair:
      t?.clientCertPath && t.clientKeyPath ? { crt: read(t.clientCertPath)!, key: read(t.clientKeyPath)! } : undefined,
  };
}

/** Connection options for client and worker alike. The API key is read here and passed on, never stored. */
export function connectionOptions(config: Config, address: string): ConnectionOptions & NativeConnectionOptions {
  const apiKey = process.env.TEMPORAL_API_KEY;
  return { address, tls: tlsOptions(config), ...(apiKey ? { apiKey } : {}) };
}

export const clientConnection = (config: Config, server: ServerHandle) =>
  Connection.connect(connectionOptions(config, server.address));
export const workerConnection = (config: Config, server: ServerHandle) =>
  NativeConnection.connect(connectionOptions(config, server.address));

function portOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** The Temporal CLI: explicit path, then PATH, then the project's tools folder. */
export function findTemporalCli(config: Config): string | undefined {
  if (config.temporal.cliPath) {
    if (!existsSync(config.temporal.cliPath))
      throw new Error(`temporal.cliPath / TEMPORAL_CLI_PATH: no such file: ${config.temporal.cliPath}`);
    return config.temporal.cliPath;
  }
  const which = spawnSync('sh', ['-c', 'command -v temporal'], { encoding: 'utf8', env: childEnv(config.model) });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  // The data folder's tools, then the project's own (where scripts/setup.sh puts the CLI), so a
  // config with another dataDir still finds it.
  const local = [dataPaths(config).tools, path.join(PROJECT_ROOT, '.agentscale', 'tools')].map((d) =>
    path.join(d, 'temporal'),
  );
  return local.find((f) => existsSync(f));
}

export function devServerArgs(config: Config, dbFile: string): string[] {
  const { port, uiPort } = config.temporal.devServer;
  return [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--db-filename',
    dbFile,
    '--namespace',
    config.temporal.namespace,
    '--log-level',
    'warn',
    // WAL with synchronous=NORMAL: commits survive a crash of any process (the server's too), and
    // only an OS crash or power cut can lose the last ones. Measured 4-6x lower server latency
    // than SQLite's default rollback journal under 32 rollouts in flight (scripts/bench-orchestration.ts).
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    ...searchAttributeArgs(),
  ];
}

const searchAttributeArgs = () =>
  Object.entries(SEARCH_ATTRIBUTE_TYPES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]);

/**
 * The commands that register our search attributes by hand, for a namespace where this process
 * may not (Temporal Cloud takes them through tcld or its web UI, not the operator API).
 */
export function searchAttributeCommands(namespace: string): { cluster: string[]; cloud: string[] } {
  const entries = Object.entries(SEARCH_ATTRIBUTE_TYPES);
  return {
    cluster: entries.map(
      ([name, type]) =>
        `temporal operator search-attribute create --namespace '${namespace}' --name ${name} --type ${type}`,
    ),
    cloud: [
      `tcld namespace search-attributes add --namespace '${namespace}' ${entries.map(([n, t]) => `--search-attribute "${n}=${t}"`).join(' ')}`,
    ],
  };
}

/** Registers our search attributes where missing; false when the server does not let us. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<boolean> {
  try {
    const have = await connection.operatorService.listSearchAttributes({ namespace });
    const types = proto.temporal.api.enums.v1.IndexedValueType;
    const typeOf = (t: string) => (t === 'Int' ? types.INDEXED_VALUE_TYPE_INT : types.INDEXED_VALUE_TYPE_KEYWORD);
    const present = have.customAttributes ?? {};
    // Registered with another type by an earlier version: filters on it may not work as documented.
    for (const [n, t] of Object.entries(SEARCH_ATTRIBUTE_TYPES)) {
      if (n in present && present[n] !== typeOf(t)) {
        log.warn(
          { attribute: n, want: t },
          `search attribute ${n} has another type on this server; remove it (temporal operator search-attribute remove --name ${n}) and it is registered again`,
        );
      }
    }
    const missing = Object.entries(SEARCH_ATTRIBUTE_TYPES).filter(([n]) => !(n in present));
    if (missing.length === 0) return true;
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map(([n, t]) => [n, typeOf(t)])),
    });
    return true;
  } catch (e) {
    log.warn({ err: (e as Error).message }, 'search attributes unavailable; runs are still listed by workflow id');
    return false;
  }
}

/**
 * Waits until the server at `address` answers gRPC (an open port is not enough: the frontend
 * serves a moment later). False on timeout, or as soon as `gone()` says its process has exited.
 */
async function waitServing(address: string, timeoutMs: number, gone: () => boolean): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && !gone()) {
    try {
      await (await Connection.connect({ address, connectTimeout: 500 })).close();
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return false;
}

const exited = (child: ChildProcess) => () => child.exitCode !== null || child.signalCode !== null;

/**
 * A server to talk to. With temporal.address (or TEMPORAL_ADDRESS) that server; otherwise the
 * dev server on the configured port, started in the background if nothing answers there.
 */
export async function ensureServer(config: Config): Promise<ServerHandle> {
  const namespace = config.temporal.namespace;
  const withAttributes = async (h: Omit<ServerHandle, 'searchAttributes'>): Promise<ServerHandle> => {
    const connection = await Connection.connect(connectionOptions(config, h.address));
    try {
      return { ...h, searchAttributes: await ensureSearchAttributes(connection, namespace) };
    } finally {
      await connection.close();
    }
  };

  if (config.temporal.address)
    return withAttributes({ address: config.temporal.address, namespace, uiUrl: temporalUiUrl(config) });

  const { port, uiPort } = config.temporal.devServer;
  const address = `127.0.0.1:${port}`;
  const uiUrl = temporalUiUrl(config)!;
  if (await portOpen(port)) return withAttributes({ address, namespace, uiUrl });

  const paths = dataPaths(config);
  mkdirSync(paths.logs, { recursive: true });
  // A recorded server that is still ours may be starting up (another command started it a moment
  // ago): wait for it rather than start a second one on the same database.
  const recorded = recordedServer(config);
  if (recorded?.ours) {
    if (
      isDevServer(recorded.pid, paths.temporalDb, port) &&
      (await waitServing(address, 60_000, () => !isDevServer(recorded.pid, paths.temporalDb)))
    )
      return withAttributes({ address, namespace, uiUrl });
    // Still running on this database, yet not answering here: a second server on the same
    // database would corrupt it.
    if (isDevServer(recorded.pid, paths.temporalDb))
      throw new Error(
        `the dev server recorded in ${paths.serverPid} (pid ${recorded.pid}) runs on ${paths.temporalDb} but does not answer on ${address}; ` +
          'stop it with `agentscale server --stop` (or check temporal.devServer.port)',
      );
  }
  if (recorded && !isDevServer(recorded.pid, paths.temporalDb)) {
    log.info(
      { pid: recorded.pid, pidFile: paths.serverPid },
      'stale dev server pid file (that process is gone): replaced',
    );
    rmSync(paths.serverPid, { force: true });
  }
  const cli = findTemporalCli(config);
  if (cli) {
    const logFile = path.join(paths.logs, 'temporal-server.log');
    log.info({ cli, db: paths.temporalDb, log: logFile }, 'starting the Temporal dev server in the background');
    const out = openSync(logFile, 'a');
    // Detached, stdin closed, output to a file: the server outlives this command and must not
    // hold our stdout open (a caller waiting for EOF would hang).
    const child = spawn(cli, devServerArgs(config, paths.temporalDb), {
      detached: true,
      stdio: ['ignore', out, out],
      env: childEnv(config.model),
    });
    child.unref();
    writeFileSync(paths.serverPid, String(child.pid));
    if (!(await waitServing(address, 60_000, exited(child)))) {
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
      throw new Error(`Temporal dev server did not answer on ${address} within 60 s (log: ${logFile})\n${tail}`);
    }
    return withAttributes({ address, namespace, uiUrl });
  }

  // Last resort, for connected machines without the CLI: the SDK downloads a dev server that
  // lives only as long as this process.
  log.warn('no Temporal CLI found (temporal.cliPath, PATH, tools folder); trying the SDK download');
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  // The SDK starts that server with this process's environment: the keys go before it starts.
  const env = await withoutModelKeys(config.model, () =>
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'cached-download', downloadDir: paths.tools },
        ip: '127.0.0.1',
        port,
        uiPort,
        dbFilename: paths.temporalDb,
        namespace,
        extraArgs: searchAttributeArgs(),
      },
    }),
  );
  return { address, namespace, uiUrl, searchAttributes: true, dispose: () => env.teardown() };
}

/**
 * Runs the dev server in the foreground (the `server` command), recorded in the pid file like a
 * background one, so other commands and `server --stop` know it. Resolves with its exit code.
 */
export async function runServerForeground(config: Config): Promise<number> {
  const cli = findTemporalCli(config);
  if (!cli)
    throw new Error('no Temporal CLI found: set TEMPORAL_CLI_PATH, put `temporal` on PATH, or run scripts/setup.sh');
  const paths = dataPaths(config);
  const { port } = config.temporal.devServer;
  const recorded = recordedServer(config);
  if (recorded?.ours)
    throw new Error(`a dev server (pid ${recorded.pid}) already runs on this database; stop it with \`server --stop\``);
  if (await portOpen(port)) throw new Error(`something already listens on port ${port} (temporal.devServer.port)`);
  mkdirSync(path.dirname(paths.temporalDb), { recursive: true });
  const child = spawn(cli, devServerArgs(config, paths.temporalDb), { stdio: 'inherit', env: childEnv(config.model) });
  if (child.pid) writeFileSync(paths.serverPid, String(child.pid));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      if (recordedServer(config)?.pid === child.pid) rmSync(paths.serverPid, { force: true });
      resolve(code ?? 0);
    }),
  );
}

/** The command line of a process, or undefined when it is gone. */
function commandLine(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    // No /proc (macOS): ask ps.
    const ps = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8', env: childEnv() });
    return ps.status === 0 && ps.stdout.trim() ? ps.stdout.trim().split(/\s+/) : undefined;
  }
}

/**
 * True when `pid` is a Temporal dev server on this database (and port, when given), not a process
 * that reused the pid.
 */
export function isDevServer(pid: number, dbFile: string, port?: number): boolean {
  const argv = commandLine(pid);
  if (!argv) return false;
  const arg = (name: string) => (argv.indexOf(name) >= 0 ? argv[argv.indexOf(name) + 1] : undefined);
  return (
    argv.includes('start-dev') &&
    arg('--db-filename') === dbFile &&
    (port === undefined || arg('--port') === String(port))
  );
}

/** The dev server the pid file names, and whether that process still is it. */
export function recordedServer(config: Config): { pid: number; ours: boolean } | undefined {
  const paths = dataPaths(config);
  let pid: number;
  try {
    pid = Number(readFileSync(paths.serverPid, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return { pid, ours: false };
  return { pid, ours: isDevServer(pid, paths.temporalDb) };
}

/**
 * Stops the dev server the pid file names (`server --stop`, test teardown), after checking that
 * the pid still is that server: a pid file left by a crash may name an unrelated process by now.
 */
export function stopBackgroundServer(config: Config): { stopped: boolean; message: string } {
  const pidFile = dataPaths(config).serverPid;
  const recorded = recordedServer(config);
  if (!recorded) return { stopped: false, message: 'no dev server recorded' };
  if (!recorded.ours) {
    rmSync(pidFile, { force: true });
    return {
      stopped: false,
      message: `the recorded pid ${recorded.pid} is not the dev server any more (it crashed or was stopped): removed the stale pid file`,
    };
  }
  try {
    process.kill(recorded.pid, 'SIGTERM');
  } catch (e) {
    return { stopped: false, message: `cannot stop pid ${recorded.pid}: ${(e as Error).message}` };
  }
  rmSync(pidFile, { force: true });
  return { stopped: true, message: `stopped the dev server (pid ${recorded.pid})` };
}

/** A port nobody listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface OwnedDevServer {
  address: string;
  uiPort: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * A dev server owned by the caller (tests, benchmarks): free ports, the given database file (or
 * none: in memory), output to `logFile`, stopped by `stop()`. Never the user's server.
 */
export async function startDevServer(
  config: Config,
  opts: { dbFile?: string; logFile: string; extraArgs?: string[]; port?: number; uiPort?: number },
): Promise<OwnedDevServer> {
  const cli = findTemporalCli(config);
  if (!cli) throw new Error('no Temporal CLI: run scripts/setup.sh first');
  // Given ports let a caller restart the server where its clients and workers look for it.
  const port = opts.port ?? (await freePort());
  const uiPort = opts.uiPort ?? (await freePort());
  const owned: Config = { ...config, temporal: { ...config.temporal, devServer: { port, uiPort } } };
  const args = devServerArgs(owned, opts.dbFile ?? '');
  if (!opts.dbFile) args.splice(args.indexOf('--db-filename'), 2);
  const out = openSync(opts.logFile, 'a');
  const child = spawn(cli, [...args, ...(opts.extraArgs ?? [])], {
    stdio: ['ignore', out, out],
    env: childEnv(config.model),
  });
  const address = `127.0.0.1:${port}`;
  const stop = async () => {
    if (exited(child)()) return;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  };
  if (await waitServing(address, 60_000, exited(child))) return { address, uiPort, process: child, stop };
  await stop();
  throw new Error(
    `the Temporal dev server did not start on ${address} (log: ${opts.logFile})\n${existsSync(opts.logFile) ? readFileSync(opts.logFile, 'utf8').slice(-2000) : ''}`,
  );
}
