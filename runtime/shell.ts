// The in-container command server: the fast path behind execInSandbox.
//
// A plain `docker exec` costs an API round trip to create the exec, another to start it, the
// runtime's process setup and an inspect for the exit code. Instead, one long-lived bash process
// per (container, user) is started once through a hijacked exec with stdin open; each command is a
// single request line on its stdin and a framed answer on its stdout. Every command still runs in
// a fresh `timeout -k 2 -s TERM <t> bash -lc "$cmd"` (nothing carries over between commands, and
// GNU timeout signals its whole process group), with stdout+stderr going to a file in the
// container of which only head and tail are sent back.
//
// Protocol (all lengths in bytes):
//   server → host, once:  `AS-READY <server pid> <temp dir>\n`
//   host → server:        `<nonce> <timeout s> <timeout ms> <cap> <cwd len> <cmd len> <env count>\n`
//                         then cwd bytes, cmd bytes, and per env var `<len>\n<KEY=VALUE bytes>`
//   server → host:        the output (at most cap bytes) — when it was cut: head half, then
//                         `<nonce> S\n`, then tail half — and finally
//                         `<nonce> E <exit code> <full size> <timed out 0|1>\n`
// The nonce is 128 random bits chosen by the host per request and never given to the command, so
// the end marker cannot occur in the output: no escaping, binary-safe, no trailing newline needed.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { PassThrough, Writable, type Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { explainDockerError, getDocker, isNotFound, statusOf } from './docker';

/** The container is missing or not running: the attempt that owns it has to start over. */
export class SandboxGoneError extends Error {
  constructor(
    readonly containerId: string,
    detail: string,
  ) {
    super(`sandbox ${containerId} is gone: ${detail}`);
    this.name = 'SandboxGoneError';
  }
}

export interface ShellRequest {
  command: string;
  timeoutSec: number;
  outputCapBytes: number;
  cwd?: string;
  env?: Record<string, string>;
}

/** A command's result; runtime/sandbox.ts re-exports it as ExecResult. */
export interface ShellResult {
  exitCode: number;
  /** Merged stdout+stderr, at most outputCapBytes of it: head and tail with the cut marked. */
  output: string;
  /** Size of the full output. */
  outputBytes: number;
  truncated: boolean;
  timedOut: boolean;
  durationMs: number;
}

/** Extra time the host waits past a command's own timeout before it declares the server hung. */
export const WATCHDOG_GRACE_MS = 15_000;
const READY_TIMEOUT_MS = 30_000;

// Bash only, plus coreutils' timeout/head/tail/mkdir/rm (task images vary; no python). Variables
// are prefixed and never exported, so commands see the container's environment unchanged.
// LC_ALL=C makes `read -N` count bytes; the command gets the original LC_ALL back.
export const SERVER_SCRIPT = String.raw`
__as_lcset=${'$'}{LC_ALL+x}; __as_lc=${'$'}{LC_ALL-}; LC_ALL=C
__as_d=
for __as_t in "${'$'}{TMPDIR:-/tmp}" /tmp /dev/shm /var/tmp "${'$'}{HOME:-/root}"; do
  __as_d=$__as_t/.agentscale-shell.$$
  mkdir -p -m 700 -- "$__as_d" 2>/dev/null && [[ -w $__as_d ]] && break
  __as_d=
done
if [[ -z $__as_d ]]; then echo "agentscale: no writable temporary folder for command output" >&2; exit 3; fi
__as_rt=0; [[ -n ${'$'}{EPOCHREALTIME-} ]] && __as_rt=1
printf 'AS-READY %s %s\n' "$$" "$__as_d"
__as_n=0
while IFS=' ' read -r __as_id __as_t __as_tms __as_cap __as_cl __as_ml __as_ec; do
  __as_cwd= __as_cmd= __as_env=()
  if (( __as_cl > 0 )); then IFS= read -r -N "$__as_cl" __as_cwd; fi
  if (( __as_ml > 0 )); then IFS= read -r -N "$__as_ml" __as_cmd; fi
  for (( __as_i = 0; __as_i < __as_ec; __as_i++ )); do
    IFS= read -r __as_el; __as_kv=
    if (( __as_el > 0 )); then IFS= read -r -N "$__as_el" __as_kv; fi
    __as_env+=("$__as_kv")
  done
  __as_n=$(( __as_n + 1 ))
  [[ -d $__as_d ]] || mkdir -p -m 700 -- "$__as_d" 2>/dev/null
  if (( __as_n % 64 == 0 )); then rm -f -- "$__as_d"/o.* 2>/dev/null; fi
  __as_o=$__as_d/o.$__as_n
  if (( __as_rt )); then __as_t0=${'$'}{EPOCHREALTIME/./}; else __as_t0=$(( SECONDS * 1000000 )); fi
  {
    (
      if [[ -n $__as_cwd ]]; then cd -- "$__as_cwd" || exit 1; fi
      for __as_kv in "${'$'}{__as_env[@]}"; do export -- "$__as_kv"; done
      if [[ -n $__as_lcset ]]; then LC_ALL=$__as_lc; else unset LC_ALL; fi
      unset SHLVL
      printf '%s' "$BASHPID" > "$__as_d/pg"
      exec timeout -k 2 -s TERM "$__as_t" bash -lc "$__as_cmd"
    ) </dev/null >&3 2>&3 3>&-
    __as_rc=$?
    if (( __as_rt )); then __as_el=$(( ${'$'}{EPOCHREALTIME/./} - __as_t0 )); else __as_el=$(( SECONDS * 1000000 - __as_t0 + 1000000 )); fi
    __as_to=0
    if (( (__as_rc == 124 || __as_rc == 137) && __as_el >= __as_tms * 1000 )); then
      __as_to=1
      # timeout signalled its process group, but members that ignore TERM outlive it: finish them.
      if IFS= read -r __as_pg < "$__as_d/pg" && [[ -n $__as_pg ]]; then kill -KILL -- "-$__as_pg" 2>/dev/null; fi
    fi
    __as_sz=
    { read -r _ __as_sz; } < /proc/$$/fdinfo/3 2>/dev/null
    [[ $__as_sz =~ ^[0-9]+$ ]] || __as_sz=$(stat -c %s -- "$__as_o" 2>/dev/null || wc -c < "$__as_o")
    if (( __as_sz > __as_cap )); then
      __as_h=$(( __as_cap / 2 ))
      head -c "$__as_h" -- "$__as_o"
      printf '%s S\n' "$__as_id"
      tail -c "$(( __as_cap - __as_h ))" -- "$__as_o"
      rm -f -- "$__as_o"
    elif (( __as_sz > 0 )); then
      # Small text output: builtins only (a NUL byte or a size mismatch falls back to head).
      __as_b=
      if (( __as_sz <= 16384 )) && { IFS= read -r -d '' __as_b; (( ${'$'}{#__as_b} == __as_sz )); } < "$__as_o"; then
        printf '%s' "$__as_b"
      else
        head -c "$__as_cap" -- "$__as_o"
      fi
    fi
    printf '%s E %s %s %s\n' "$__as_id" "$__as_rc" "$__as_sz" "$__as_to"
  } 3>"$__as_o" || {
    printf 'agentscale: cannot create the output file %s\n' "$__as_o"
    printf '%s E 126 0 0\n' "$__as_id"
  }
done
rm -rf -- "$__as_d"
`;

interface Pending {
  nonce: string;
  token: Buffer;
  capBytes: number;
  timeoutMs: number;
  started: number;
  head?: Buffer; // set once the split marker arrived
  parts: Buffer[];
  partsLen: number;
  resolve: (r: ShellResult) => void;
  reject: (e: unknown) => void;
  timer?: NodeJS.Timeout;
}

function markerText(cutBytes: number): string {
  return `\n[... ${cutBytes} bytes cut ...]\n`;
}

/** One command server process inside one container, for one user. */
export class CommandServer {
  private buf: Buffer = Buffer.alloc(0);
  private pending?: Pending;
  private readyWaiter?: { resolve: () => void; reject: (e: unknown) => void };
  private stderrTail = '';
  private ended = false;
  serverPid?: number;
  tempDir?: string;

  private constructor(
    readonly containerId: string,
    readonly user: string | undefined,
    private readonly exec: Docker.Exec,
    private readonly stream: Duplex,
  ) {}

  get closed(): boolean {
    return this.ended;
  }

  /** Starts a server; SandboxGoneError if the container is missing or not running. */
  static async start(containerId: string, user?: string): Promise<CommandServer> {
    const container = getDocker().getContainer(containerId);
    let exec: Docker.Exec;
    let stream: Duplex;
    try {
      exec = await container.exec({
        Cmd: ['bash', '--noprofile', '--norc', '-c', SERVER_SCRIPT],
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        ...(user ? { User: user } : {}),
      });
      stream = (await exec.start({ hijack: true, stdin: true })) as Duplex;
    } catch (err) {
      const status = statusOf(err);
      if (status === 404 || status === 409) throw new SandboxGoneError(containerId, (err as Error).message);
      throw explainDockerError(err);
    }
    const server = new CommandServer(containerId, user, exec, stream);
    server.attach();
    try {
      await server.waitReady();
    } catch (err) {
      server.close();
      await throwIfGone(containerId);
      throw err;
    }
    return server;
  }

  private attach(): void {
    const out = new PassThrough();
    const errSink = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-2000);
        cb();
      },
    });
    getDocker().modem.demuxStream(this.stream, out, errSink);
    out.on('data', (chunk: Buffer) => this.onData(chunk));
    const onEnd = () => this.onEnd();
    this.stream.on('end', onEnd);
    this.stream.on('close', onEnd);
    this.stream.on('error', onEnd);
    // The socket must not keep node alive on its own; a request in flight holds its timer.
    (this.stream as Partial<Socket>).unref?.();
  }

  private waitReady(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`command server did not start within ${READY_TIMEOUT_MS} ms`)),
        READY_TIMEOUT_MS,
      );
      this.readyWaiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.onData(Buffer.alloc(0));
    });
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    if (this.readyWaiter) {
      const nl = this.buf.indexOf(10);
      if (nl < 0) return;
      const line = this.buf.subarray(0, nl).toString('utf8');
      this.buf = this.buf.subarray(nl + 1);
      const m = /^AS-READY (\d+) (.*)$/.exec(line);
      const waiter = this.readyWaiter;
      this.readyWaiter = undefined;
      if (!m) {
        waiter.reject(new Error(`command server sent an unexpected greeting: ${JSON.stringify(line.slice(0, 200))}`));
        this.close();
        return;
      }
      this.serverPid = Number(m[1]);
      this.tempDir = m[2];
      waiter.resolve();
    }
    this.parse();
  }

  private parse(): void {
    const p = this.pending;
    if (!p) {
      if (this.buf.length) {
        // Nothing is asked, yet the server speaks: the stream is out of step; start afresh.
        this.close();
      }
      return;
    }
    for (;;) {
      const at = this.buf.indexOf(p.token);
      if (at < 0) {
        // Keep a possible partial token; everything before it is output.
        const keep = Math.min(this.buf.length, p.token.length - 1);
        const take = this.buf.length - keep;
        if (take > 0) this.addPart(p, this.buf.subarray(0, take));
        this.buf = this.buf.subarray(take);
        if (p.partsLen > p.capBytes + 65536) this.fail(new Error('command server sent more output than asked for'));
        return;
      }
      const nl = this.buf.indexOf(10, at + p.token.length);
      if (nl < 0) {
        if (at > 0) this.addPart(p, this.buf.subarray(0, at));
        this.buf = this.buf.subarray(at);
        return;
      }
      if (at > 0) this.addPart(p, this.buf.subarray(0, at));
      const fields = this.buf
        .subarray(at + p.token.length, nl)
        .toString('latin1')
        .split(' ');
      this.buf = this.buf.subarray(nl + 1);
      if (fields[0] === 'S') {
        p.head = Buffer.concat(p.parts);
        p.parts = [];
        p.partsLen = 0;
        continue;
      }
      if (fields[0] === 'E') {
        this.finish(p, Number(fields[1]), Number(fields[2]), fields[3] === '1');
        return;
      }
      this.fail(new Error(`command server sent a bad frame: ${fields.join(' ').slice(0, 100)}`));
      return;
    }
  }

  private addPart(p: Pending, b: Buffer): void {
    // Copy: the slice would otherwise pin the whole receive buffer.
    p.parts.push(Buffer.from(b));
    p.partsLen += b.length;
  }

  private finish(p: Pending, exitCode: number, fullSize: number, timedOut: boolean): void {
    this.pending = undefined;
    if (p.timer) clearTimeout(p.timer);
    const rest = Buffer.concat(p.parts);
    let output: string;
    let outputBytes: number;
    let truncated = false;
    if (p.head) {
      truncated = true;
      outputBytes = Math.max(fullSize, p.head.length + rest.length);
      output = p.head.toString('utf8') + markerText(outputBytes - p.head.length - rest.length) + rest.toString('utf8');
    } else {
      outputBytes = rest.length;
      output = rest.toString('utf8');
    }
    p.resolve({
      exitCode: Number.isFinite(exitCode) ? exitCode : -1,
      output,
      outputBytes,
      truncated,
      timedOut,
      durationMs: Date.now() - p.started,
    });
  }

  private fail(err: unknown): void {
    const p = this.pending;
    this.pending = undefined;
    if (p?.timer) clearTimeout(p.timer);
    this.close();
    p?.reject(err);
  }

  /** Runs one command; callers serialize (see runInShell). */
  run(req: ShellRequest): Promise<ShellResult> {
    if (this.ended) return Promise.reject(new Error('command server is closed'));
    if (this.pending) return Promise.reject(new Error('command server is busy'));
    const nonce = randomBytes(16).toString('hex');
    const timeoutMs = Math.max(10, Math.round(req.timeoutSec * 1000));
    const cap = Math.max(2, Math.floor(req.outputCapBytes));
    const envEntries = Object.entries(req.env ?? {});
    const chunks: Buffer[] = [];
    const cwd = Buffer.from(req.cwd ?? '', 'utf8');
    const cmd = Buffer.from(req.command, 'utf8');
    chunks.push(
      Buffer.from(
        `${nonce} ${(timeoutMs / 1000).toFixed(3)} ${timeoutMs} ${cap} ${cwd.length} ${cmd.length} ${envEntries.length}\n`,
      ),
      cwd,
      cmd,
    );
    for (const [k, v] of envEntries) {
      const kv = Buffer.from(`${k}=${v}`, 'utf8');
      chunks.push(Buffer.from(`${kv.length}\n`), kv);
    }
    return new Promise<ShellResult>((resolve, reject) => {
      const p: Pending = {
        nonce,
        token: Buffer.from(`${nonce} `),
        capBytes: cap,
        timeoutMs,
        started: Date.now(),
        parts: [],
        partsLen: 0,
        resolve,
        reject,
      };
      p.timer = setTimeout(() => this.onWatchdog(p), timeoutMs + 2000 + WATCHDOG_GRACE_MS);
      this.pending = p;
      this.stream.write(Buffer.concat(chunks));
    });
  }

  private onWatchdog(p: Pending): void {
    if (this.pending !== p) return;
    this.pending = undefined;
    const pid = this.serverPid;
    const dir = this.tempDir;
    this.close();
    // Best effort: the hung server and whatever command group it was running.
    if (pid) {
      const script = `kill -KILL ${pid} 2>/dev/null; pg=$(cat '${dir ?? '/nonexistent'}/pg' 2>/dev/null); [ -n "$pg" ] && kill -KILL -- "-$pg" 2>/dev/null; true`;
      void killQuietly(this.containerId, this.user, script);
    }
    p.resolve({
      exitCode: -1,
      output: `[agentscale: the command server did not answer within ${WATCHDOG_GRACE_MS / 1000} s after the command's timeout and was killed; the next command starts a fresh shell]`,
      outputBytes: 0,
      truncated: false,
      timedOut: true,
      durationMs: Date.now() - p.started,
    });
  }

  private onEnd(): void {
    if (this.ended) return;
    this.ended = true;
    const waiter = this.readyWaiter;
    this.readyWaiter = undefined;
    waiter?.reject(
      new Error(`command server exited before it was ready${this.stderrTail ? `: ${this.stderrTail.trim()}` : ''}`),
    );
    const p = this.pending;
    this.pending = undefined;
    if (p) {
      if (p.timer) clearTimeout(p.timer);
      void this.explainDeath(p).then(p.resolve, p.reject);
    }
  }

  /** The observation for a command whose server died under it, or SandboxGoneError. */
  private async explainDeath(p: Pending): Promise<ShellResult> {
    await throwIfGone(this.containerId);
    let exitCode: number | null = null;
    for (let i = 0; i < 10 && exitCode === null; i++) {
      try {
        const info = await this.exec.inspect();
        if (!info.Running) exitCode = info.ExitCode ?? null;
      } catch {
        break;
      }
      if (exitCode === null) await new Promise((r) => setTimeout(r, 50));
    }
    // A container being stopped or removed kills its processes a moment before its state says
    // so: look again after a short pause before blaming the command.
    await new Promise((r) => setTimeout(r, 300));
    await throwIfGone(this.containerId);
    const how =
      exitCode === 137
        ? 'was killed (SIGKILL: e.g. `kill -9 -1`, or the out-of-memory killer)'
        : `exited (status ${exitCode ?? 'unknown'})`;
    const text =
      `[agentscale: the shell running this command ${how}; its output is lost. ` +
      'The next command starts a fresh shell.]' +
      (this.stderrTail.trim() ? `\n${this.stderrTail.trim()}` : '');
    return {
      exitCode: exitCode ?? -1,
      output: text,
      outputBytes: 0,
      truncated: false,
      timedOut: false,
      durationMs: Date.now() - p.started,
    };
  }

  /** Closes the connection; the server sees end of input and exits after its current command. */
  close(): void {
    if (!this.ended) {
      this.stream.end();
      this.stream.destroy();
    }
    this.onEnd();
  }
}

/** Throws SandboxGoneError when the container is missing or not running. */
export async function throwIfGone(containerId: string): Promise<void> {
  try {
    const info = await getDocker().getContainer(containerId).inspect();
    if (!info.State.Running) throw new SandboxGoneError(containerId, `container is ${info.State.Status}`);
    if (info.State.Paused) throw new SandboxGoneError(containerId, 'container is paused');
  } catch (err) {
    if (isNotFound(err)) throw new SandboxGoneError(containerId, 'no such container');
    throw explainDockerError(err);
  }
}

async function killQuietly(containerId: string, user: string | undefined, script: string): Promise<void> {
  try {
    const exec = await getDocker()
      .getContainer(containerId)
      .exec({ Cmd: ['sh', '-c', script], AttachStdout: false, AttachStderr: false, ...(user ? { User: user } : {}) });
    await exec.start({ Detach: true });
  } catch {
    // The container may be gone; nothing to clean then.
  }
}

// ---- the per-process registry: one server per (container, user), requests serialized ----

interface ShellEntry {
  containerId: string;
  user?: string;
  server?: CommandServer;
  chain: Promise<unknown>;
}

const shells = new Map<string, ShellEntry>();

function keyOf(containerId: string, user?: string): string {
  return `${containerId}\u0000${user ?? ''}`;
}

/** Runs a command through the cached server for (container, user), starting one if needed. */
export function runInShell(containerId: string, user: string | undefined, req: ShellRequest): Promise<ShellResult> {
  const key = keyOf(containerId, user);
  let entry = shells.get(key);
  if (!entry) {
    entry = { containerId, user, chain: Promise.resolve() };
    shells.set(key, entry);
  }
  const e = entry;
  const result = e.chain.then(async () => {
    if (!e.server || e.server.closed) {
      e.server = undefined;
      e.server = await CommandServer.start(containerId, user);
    }
    return e.server.run(req);
  });
  e.chain = result.catch(() => undefined);
  return result;
}

/** Drops (and closes) the cached servers of containers matching any of the given names/ids. */
export function dropShells(match: (containerId: string) => boolean): void {
  for (const [key, entry] of shells) {
    if (match(entry.containerId)) {
      entry.server?.close();
      shells.delete(key);
    }
  }
}

/** Closes every cached command server (for shutdown). */
export function closeAllShells(): void {
  dropShells(() => true);
}

/** How many servers are cached (tests and diagnostics). */
export function shellCount(): number {
  return [...shells.values()].filter((e) => e.server && !e.server.closed).length;
}
