// One command as its own `docker exec ... bash -c CMD`, the way Harbor runs a phase's script
// (harbor/environments/docker/docker.py _compose_exec: `docker compose exec -u USER -w DIR -e K=V
// main bash -c CMD`). Unlike the sandbox's command server (a login shell per command), nothing is
// sourced first, so the image's own PATH and environment reach the script unchanged. Costs an API
// round trip or three per command: used for the oracle and verifier steps, not agent turns.
import { PassThrough } from 'node:stream';
import { assertSandboxRunning, type ExecResult } from './sandbox';
import { explainDockerError, getDocker, isNotFound, statusOf } from './docker';
import { SandboxGoneError } from './shell';

export interface DirectExecRequest {
  containerId: string;
  command: string;
  timeoutSec: number;
  outputCapBytes: number;
  user?: string;
  cwd?: string;
  env?: Record<string, string>;
}

/** Extra seconds past the command's own timeout before the host stops waiting on the stream. */
const WATCHDOG_GRACE_SEC = 30;

export async function execDirect(req: DirectExecRequest): Promise<ExecResult> {
  const started = Date.now();
  const container = getDocker().getContainer(req.containerId);
  // GNU timeout puts the command in its own process group and signals all of it; the sandbox's
  // command server relies on the same coreutils binary being in the image.
  const seconds = Math.max(1, Math.ceil(req.timeoutSec));
  const Cmd = ['timeout', '-k', '5', '-s', 'TERM', String(seconds), 'bash', '-c', req.command];
  let exec;
  try {
    exec = await container.exec({
      Cmd,
      AttachStdout: true,
      AttachStderr: true,
      ...(req.user ? { User: req.user } : {}),
      ...(req.cwd ? { WorkingDir: req.cwd } : {}),
      Env: Object.entries(req.env ?? {}).map(([k, v]) => `${k}=${v}`),
    });
  } catch (err) {
    if (isNotFound(err) || statusOf(err) === 409) throw new SandboxGoneError(req.containerId, (err as Error).message);
    throw explainDockerError(err);
  }
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  let size = 0;
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => {
    size += c.length;
    if (size - c.length < req.outputCapBytes) chunks.push(c);
  });
  getDocker().modem.demuxStream(stream, sink, sink);
  await new Promise<void>((resolve, reject) => {
    const watchdog = setTimeout(
      () => {
        stream.destroy();
        reject(new Error(`command did not end ${WATCHDOG_GRACE_SEC} s after its ${seconds} s timeout`));
      },
      (seconds + WATCHDOG_GRACE_SEC) * 1000,
    );
    stream.on('end', () => (clearTimeout(watchdog), resolve()));
    stream.on('close', () => (clearTimeout(watchdog), resolve()));
    stream.on('error', (e) => (clearTimeout(watchdog), reject(e)));
  });
  const info = await exec.inspect().catch(async (err: unknown) => {
    await assertSandboxRunning(req.containerId);
    throw explainDockerError(err);
  });
  // A command that did not end on its own may have lost its container (removed, stopped): that is
  // the sandbox's failure, not the command's exit status.
  if (info.ExitCode === null || info.ExitCode === undefined || info.ExitCode !== 0)
    await assertSandboxRunning(req.containerId);
  const exitCode = info.ExitCode ?? -1;
  const all = Buffer.concat(chunks);
  const truncated = size > req.outputCapBytes;
  return {
    exitCode,
    output: all.subarray(0, req.outputCapBytes).toString('utf8') + (truncated ? '\n[output cut]' : ''),
    outputBytes: size,
    truncated,
    // 124: timeout's TERM ended it; 137: the KILL five seconds later. A script may exit 124 itself.
    timedOut: (exitCode === 124 || exitCode === 137) && Date.now() - started >= seconds * 1000,
    durationMs: Date.now() - started,
  };
}
