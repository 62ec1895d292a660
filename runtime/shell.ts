// The in-container command server: the fast path behind execInSandbox.
//
// A plain `docker exec` costs an API round trip to create the exec, another to start it, the
// runtime's process setup and an inspect for the exit code. Instead, one long-lived bash process
// per (container, user) is started once through a hijacked exec with stdin open; each command is a
// single request line on its stdin and a framed answer on its stdout. Every command still runs in
// a fresh `timeout -k 2 -s TERM <t> bash -lc "$cmd"` (nothing carries over between commands, and
// GNU timeout signals its whole process group).
//
// Output is capped as it is produced: stdout+stderr go into a fifo read by `dd` (which counts the
// bytes) into `head -c <cap/2>` then `tail -c <cap/2>`, so only head and tail ever reach the disk
// and a flood (`yes` for minutes) costs CPU, not space.
//
// After each command, unless the container keeps background services, whatever the command left
// running is killed: its process group, then every process below PID 1 (a daemon that left the
// group with setsid or nohup ends up there when its parent exits; commands of other shells are
// below their docker exec, not below PID 1). Processes are stopped before they are killed, so a
// fork bomb cannot outrun the sweep. What cannot be killed is reported, and the host then declares
// the sandbox unusable instead of letting later commands fail in confusing ways.
//
// Protocol (all lengths in bytes):
//   server → host, once:  `AS-READY <server pid> <temp dir>\n`
//   host → server:        `<nonce> <timeout s> <timeout ms> <cap> <file size limit KiB, 0 none>
//                          <keep background 0|1> <cwd len> <cmd len> <env count>\n`
//                         then cwd bytes, cmd bytes, and per env var `<len>\n<KEY=VALUE bytes>`
//   server → host:        the output (at most cap bytes) — when it was cut: head half, then
//                         `<nonce> S\n`, then tail half — and finally
//                         `<nonce> E <exit code> <full size> <timed out 0|1> <leftovers killed>\n`;
//                         or, when the sandbox can no longer run commands (leftovers that cannot
//                         be killed, the process limit used up), `<nonce> U <why>\n` instead
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

/**
 * The container exists but can no longer be trusted to run commands (processes that cannot be
 * killed, no shell can start, its disk limit exceeded): the attempt ends with SandboxError and
 * this message, and is not evaluated.
 */
export class SandboxUnusableError extends Error {
  constructor(
    readonly containerId: string,
    readonly reason: string,
  ) {
    super(`sandbox ${containerId.slice(0, 12)} is unusable: ${reason}`);
    this.name = 'SandboxUnusableError';
  }
}

export interface ShellRequest {
  command: string;
  timeoutSec: number;
  outputCapBytes: number;
  cwd?: string;
  env?: Record<string, string>;
  /** RLIMIT_FSIZE for the command, in KiB (`ulimit -f`): no single file grows past it. */
  fileSizeLimitKb?: number;
  /** Leave processes the command started running (background services); else they are killed. */
  keepBackground?: boolean;
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
  /** Processes the command left behind that were killed after it (absent: none). */
  leftoversKilled?: number;
}

/** Extra time the host waits past a command's own timeout before it declares the server hung. */
export const WATCHDOG_GRACE_MS = 15_000;
const READY_TIMEOUT_MS = 30_000;

// Bash only, plus coreutils' timeout/head/tail/dd/cat/mkfifo/mkdir/rm (task images vary; no
// python). Variables are prefixed and never exported, so commands see the container's environment
// unchanged. LC_ALL=C makes `read -N` count bytes; the command gets the original LC_ALL back.
// fd 5 is a fifo the output filters report on when they are done; fd 6 one nobody writes to,
// whose `read -t` is a sleep that needs no fork (a fork bomb may have taken every pid).
export const SERVER_SCRIPT = String.raw`
__as_lcset=${'$'}{LC_ALL+x}; __as_lc=${'$'}{LC_ALL-}; LC_ALL=C
# True when the container's pids cgroup (v1 or v2) has no room for a command; __as_pinfo says how full.
__as_pidsfull() {
  local f cur max
  for f in /sys/fs/cgroup/pids/pids /sys/fs/cgroup/pids; do
    [[ -r $f.max && -r $f.current ]] || continue
    IFS= read -r max < "$f.max"; IFS= read -r cur < "$f.current"
    [[ $max =~ ^[0-9]+$ && $cur =~ ^[0-9]+$ ]] || return 1
    __as_pinfo="$cur of $max"
    (( cur + 8 > max ))
    return
  done 2>/dev/null
  return 1
}

if __as_pidsfull; then echo "agentscale: the container's process limit is used up ($__as_pinfo processes)" >&2; exit 3; fi
__as_d=
for __as_t in "${'$'}{TMPDIR:-/tmp}" /tmp /dev/shm /var/tmp "${'$'}{HOME:-/root}"; do
  __as_d=$__as_t/.agentscale-shell.$$
  mkdir -p -m 700 -- "$__as_d" 2>/dev/null && [[ -w $__as_d ]] && break
  __as_d=
done
if [[ -z $__as_d ]]; then echo "agentscale: no writable temporary folder for command output" >&2; exit 3; fi
if ! mkfifo -m 600 -- "$__as_d/s" "$__as_d/z" || ! exec 5<>"$__as_d/s" 6<>"$__as_d/z"; then
  echo "agentscale: cannot create fifos in $__as_d" >&2; exit 3
fi
__as_rt=0; [[ -n ${'$'}{EPOCHREALTIME-} ]] && __as_rt=1
printf 'AS-READY %s %s\n' "$$" "$__as_d"
__as_n=0 __as_g=0 __as_lp=

# PID 1's descendants into __as_k, except its own 'sleep infinity' and zombies. Builtins only.
# A shell that is not root leaves other users' processes alone (it could not kill them, and a
# command of its user did not start them, short of sudo).
__as_scan() {
  local p l a c1 c2 top q
  local -A kids=()
  __as_k=()
  for p in /proc/[0-9]*; do
    (( EUID == 0 )) || [[ -O $p ]] || continue
    p=${'$'}{p#/proc/}
    IFS= read -r l < "/proc/$p/stat" || continue
    l=${'$'}{l##*) }
    a=($l)
    [[ ${'$'}{a[0]} == Z ]] && continue
    kids[${'$'}{a[1]}]+=" $p"
  done 2>/dev/null
  q=(${'$'}{kids[1]-}) top=1
  while (( ${'$'}{#q[@]} )); do
    local next=()
    for p in "${'$'}{q[@]}"; do
      if (( top )); then
        c1= c2=
        { IFS= read -r -d '' c1; IFS= read -r -d '' c2; } < "/proc/$p/cmdline" 2>/dev/null
        [[ $c1 == sleep && $c2 == infinity ]] && continue
      fi
      __as_k+=("$p")
      next+=(${'$'}{kids[$p]-})
    done
    q=("${'$'}{next[@]}") top=0
  done
}

# Kills what __as_scan finds. Everything this user may signal is stopped first, with one kill(-1)
# (atomic against fork): a fork bomb stops growing, and its spinning processes no longer starve
# this shell of the container's CPU while it looks for them. The rest is continued afterwards.
__as_sweep() {
  local i p
  local -A seen=()
  for (( i = 0; i < 10; i++ )); do
    kill -STOP -1 2>/dev/null
    __as_scan
    if (( ${'$'}{#__as_k[@]} )); then
      kill -KILL "${'$'}{__as_k[@]}" 2>/dev/null
      for p in "${'$'}{__as_k[@]}"; do seen[$p]=1; done
    fi
    kill -CONT -1 2>/dev/null
    (( ${'$'}{#__as_k[@]} )) || break
    IFS= read -r -t 0.02 -u 6 _
  done
  __as_killed=${'$'}{#seen[@]} __as_left=${'$'}{#__as_k[@]}
}

# Waits up to $1 s for the output filter of command $__as_n to report on fd 5.
__as_filtered() {
  local x
  while IFS= read -r -t "$1" -u 5 x; do [[ $x == "$__as_n" ]] && return 0; done
  return 1
}

while IFS=' ' read -r __as_id __as_t __as_tms __as_cap __as_fs __as_bg __as_cl __as_ml __as_ec; do
  __as_cwd= __as_cmd= __as_env=()
  if (( __as_cl > 0 )); then IFS= read -r -N "$__as_cl" __as_cwd; fi
  if (( __as_ml > 0 )); then IFS= read -r -N "$__as_ml" __as_cmd; fi
  for (( __as_i = 0; __as_i < __as_ec; __as_i++ )); do
    IFS= read -r __as_el; __as_kv=
    if (( __as_el > 0 )); then IFS= read -r -N "$__as_el" __as_kv; fi
    __as_env+=("$__as_kv")
  done
  __as_n=$(( __as_n + 1 ))
  # No fork can succeed with the pids cgroup full (bash would retry for 15 s, then give up): free
  # what can be freed, else say the sandbox cannot run commands.
  if __as_pidsfull; then
    (( __as_bg )) || __as_sweep
    if __as_pidsfull; then
      printf '%s U its process limit is used up (%s processes) and no process could be freed: no command can run\n' "$__as_id" "$__as_pinfo"
      continue
    fi
  fi
  [[ -d $__as_d ]] || mkdir -p -m 700 -- "$__as_d" 2>/dev/null
  # The fifo is reused unless the last filter still drains it for a background service.
  if [[ -n $__as_lp ]] && kill -0 "$__as_lp" 2>/dev/null; then __as_g=$(( __as_g + 1 )); fi
  __as_f=$__as_d/f.$__as_g
  [[ -p $__as_f ]] || mkfifo -m 600 -- "$__as_f" 2>/dev/null
  __as_h=$(( __as_cap / 2 )); __as_tl=$(( __as_cap - __as_h ))
  if (( __as_rt )); then __as_t0=${'$'}{EPOCHREALTIME/./}; else __as_t0=$(( SECONDS * 1000000 )); fi
  __as_rc=126 __as_to=0 __as_killed=0 __as_left=0 __as_sz=
  : >"$__as_d/dp"
  # fd 4 holds the fifo open both ways, so neither end's open blocks on the other.
  if [[ -p $__as_f ]] && exec 4<>"$__as_f"; then
    { dd bs=65536 <&3 2>"$__as_d/c" & printf '%s %s' "$BASHPID" "$!" >"$__as_d/dp"; wait "$!"; exec cat <&3 >/dev/null 3<&-; } 3<"$__as_f" 4>&- 6>&- |
      { head -c "$__as_h" >"$__as_d/h"; tail -c "$__as_tl" >"$__as_d/t"; printf '%s\n' "$__as_n" >&5; } 4>&- 6>&- &
    (
      if [[ -n $__as_cwd ]]; then cd -- "$__as_cwd" || exit 1; fi
      for __as_kv in "${'$'}{__as_env[@]}"; do export -- "$__as_kv"; done
      if [[ -n $__as_lcset ]]; then LC_ALL=$__as_lc; else unset LC_ALL; fi
      unset SHLVL
      printf '%s' "$BASHPID" > "$__as_d/pg"
      if (( __as_fs > 0 )); then ulimit -f "$__as_fs"; fi
      exec timeout -k 2 -s TERM "$__as_t" bash -lc "$__as_cmd"
    ) </dev/null >"$__as_f" 2>&1 4>&- 5>&- 6>&-
    __as_rc=$?
    if (( ! __as_bg )); then kill -STOP -1 2>/dev/null; fi
    exec 4>&-
    if (( __as_rt )); then __as_el=$(( ${'$'}{EPOCHREALTIME/./} - __as_t0 )); else __as_el=$(( SECONDS * 1000000 - __as_t0 + 1000000 )); fi
    if (( (__as_rc == 124 || __as_rc == 137) && __as_el >= __as_tms * 1000 )); then __as_to=1; fi
    __as_pg=
    IFS= read -r __as_pg < "$__as_d/pg"
    # timeout signalled its process group, but members that ignore TERM outlive it: finish them
    # (and, without background services, whatever else the command left).
    if [[ -n $__as_pg ]] && (( __as_to || ! __as_bg )); then kill -KILL -- "-$__as_pg" 2>/dev/null; fi
    if (( ! __as_bg )); then __as_sweep; fi
    # With everything else gone, the filter ends as soon as it has read what is left in the fifo;
    # a background service (or a survivor) keeps the fifo open: then dd is stopped, and the
    # drain behind it keeps reading so the service never writes into a closed pipe.
    __as_w=5; (( __as_bg || __as_left )) && __as_w=0.5
    __as_lp= __as_dp=
    IFS=' ' read -r __as_lp __as_dp < "$__as_d/dp"
    if ! __as_filtered "$__as_w"; then
      # (INT is ignored by background jobs: USR1 makes dd report its count, TERM ends it.)
      if [[ -n $__as_dp ]] && kill -USR1 "$__as_dp" 2>/dev/null; then
        IFS= read -r -t 0.05 -u 6 _
        kill -TERM "$__as_dp" 2>/dev/null
      fi
      __as_filtered 5 || { echo "agentscale: the output filter did not finish" > "$__as_d/t"; }
    fi
    while IFS= read -r __as_l; do [[ $__as_l =~ ^([0-9]+)\ bytes ]] && __as_sz=${'$'}{BASH_REMATCH[1]}; done < "$__as_d/c"
    __as_b= __as_e=
    if [[ -z $__as_sz ]] || (( __as_sz <= 16384 )); then
      # Small output: builtins only (a NUL byte or a size mismatch falls back to cat).
      { IFS= read -r -d '' __as_b < "$__as_d/h"; IFS= read -r -d '' __as_e < "$__as_d/t"; } 2>/dev/null
      [[ -z $__as_sz ]] && __as_sz=$(( ${'$'}{#__as_b} + ${'$'}{#__as_e} ))
    fi
    if (( __as_sz > __as_cap )); then
      cat -- "$__as_d/h"
      printf '%s S\n' "$__as_id"
      cat -- "$__as_d/t"
    elif (( ${'$'}{#__as_b} + ${'$'}{#__as_e} == __as_sz )); then
      printf '%s%s' "$__as_b" "$__as_e"
    else
      cat -- "$__as_d/h" "$__as_d/t"
    fi
  else
    printf 'agentscale: cannot open the output fifo %s\n' "$__as_f"
    __as_sz=0
  fi
  if (( __as_left )); then
    printf '%s U %s processes left by the command could not be killed\n' "$__as_id" "$__as_left"
  else
    printf '%s E %s %s %s %s\n' "$__as_id" "$__as_rc" "$__as_sz" "$__as_to" "$__as_killed"
  fi
done
rm -rf -- "$__as_d"
`;

interface Pending {
  nonce: string;
  token: Buffer;
  capBytes: number;
  /** The command's first line, for messages. */
  preview: string;
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
      // The container runs, yet no shell comes up in it (its process limit used up, no writable
      // folder, bash gone): no later command would fare better.
      throw new SandboxUnusableError(containerId, `no shell can start in it: ${(err as Error).message}`);
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
        this.finish(p, Number(fields[1]), Number(fields[2]), fields[3] === '1', Number(fields[4]));
        return;
      }
      if (fields[0] === 'U') {
        this.pending = undefined;
        if (p.timer) clearTimeout(p.timer);
        p.reject(new SandboxUnusableError(this.containerId, `${fields.slice(1).join(' ')} (command: ${p.preview})`));
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

  private finish(p: Pending, exitCode: number, fullSize: number, timedOut: boolean, killed: number) {
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
      ...(killed > 0 && { leftoversKilled: killed }),
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
        `${nonce} ${(timeoutMs / 1000).toFixed(3)} ${timeoutMs} ${cap} ${Math.max(0, Math.floor(req.fileSizeLimitKb ?? 0))} ` +
          `${req.keepBackground ? 1 : 0} ${cwd.length} ${cmd.length} ${envEntries.length}\n`,
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
        preview: req.command.split('\n')[0]!.slice(0, 80),
        timeoutMs,
        started: Date.now(),
        parts: [],
        partsLen: 0,
        resolve,
        reject,
      };
      // Past the timeout: timeout's KILL (2 s), the clean-up sweep (1 s) and the filter's waits (10 s).
      p.timer = setTimeout(() => this.onWatchdog(p), timeoutMs + 13_000 + WATCHDOG_GRACE_MS);
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

// bash, not sh: dash's kill takes no `--`, so `kill -KILL -- -PGID` would fail there.
async function killQuietly(containerId: string, user: string | undefined, script: string): Promise<void> {
  try {
    const exec = await getDocker()
      .getContainer(containerId)
      .exec({ Cmd: ['bash', '-c', script], AttachStdout: false, AttachStderr: false, ...(user ? { User: user } : {}) });
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

/** Kills the commands running in the container's shells (their process groups); they answer as usual. */
export function interruptShells(containerId: string): void {
  for (const entry of shells.values()) {
    const dir = entry.server?.tempDir;
    if (entry.containerId !== containerId || !dir) continue;
    const script = `pg=$(cat '${dir}/pg' 2>/dev/null); [ -n "$pg" ] && kill -KILL -- "-$pg" 2>/dev/null; true`;
    void killQuietly(containerId, entry.user, script);
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
