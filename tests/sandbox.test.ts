// The sandbox layer against the real Docker engine: containers, the command server behind
// execInSandbox (timeouts, output caps, recovery), limits, files and clean-up.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storageDriver, writableLayerBytes } from '../runtime/disk';
import { getDocker } from '../runtime/docker';
import {
  closeAllShells,
  copyIntoSandbox,
  createSandbox,
  execInSandbox,
  type ExecRequest,
  LABEL,
  listSandboxes,
  readFileFromSandbox,
  removeSandbox,
  removeSandboxes,
  HostDiskLowError,
  SandboxGoneError,
  SandboxUnusableError,
  type SandboxSpec,
  writeFileToSandbox,
} from '../runtime/sandbox';

const IMAGE = 'agentscale/base:bookworm';
const RUN = `sbtest-${process.pid}-${Date.now().toString(36)}`;
const T = 60_000;
let seq = 0;

function spec(over: Partial<SandboxSpec> = {}): SandboxSpec {
  return {
    name: `agentscale-${RUN}-${++seq}`,
    image: IMAGE,
    labels: { [LABEL.run]: RUN, [LABEL.task]: 'sandbox-test', [LABEL.attempt]: String(seq) },
    cpus: 1,
    memoryMb: 512,
    pids: 256,
    allowInternet: false,
    ...over,
  };
}

let box: string; // the shared sandbox most exec tests use
const hostTmp = mkdtempSync(path.join(os.tmpdir(), 'agentscale-sandbox-test-'));

function run(command: string, extra: Partial<ExecRequest> = {}) {
  return execInSandbox({ containerId: box, command, timeoutSec: 20, outputCapBytes: 100_000, ...extra });
}

/** Command lines of every process in the container except PID 1, via /proc (no ps in the image). */
async function processes(containerId: string): Promise<string[]> {
  const r = await execInSandbox({
    containerId,
    command:
      'for p in /proc/[0-9]*; do [ "${p#/proc/}" = 1 ] && continue; c=$(tr "\\0" " " < $p/cmdline 2>/dev/null); [ -n "$c" ] && echo "$c"; done',
    timeoutSec: 20,
    outputCapBytes: 100_000,
  });
  return r.output.split('\n').filter(Boolean);
}

beforeAll(async () => {
  ({ containerId: box } = await createSandbox(spec({ workdir: '/srv/work', env: { BOX_ENV: 'from-spec' } })));
}, T);

afterAll(async () => {
  closeAllShells();
  await removeSandboxes({ [LABEL.run]: RUN });
  rmSync(hostTmp, { recursive: true, force: true });
  expect(await listSandboxes({ [LABEL.run]: RUN })).toEqual([]);
}, T);

describe('execInSandbox', () => {
  it('runs a command and returns its output', { timeout: T }, async () => {
    const r = await run('echo hello');
    expect(r).toMatchObject({ exitCode: 0, output: 'hello\n', outputBytes: 6, truncated: false, timedOut: false });
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('reports exit codes, and merges stderr into the output', { timeout: T }, async () => {
    expect((await run('exit 3')).exitCode).toBe(3);
    expect((await run('true')).exitCode).toBe(0);
    const missing = await run('no-such-command-here');
    expect(missing.exitCode).toBe(127);
    expect(missing.output).toContain('no-such-command-here');
    const both = await run('echo out; echo err >&2; echo out2');
    expect(both.output).toBe('out\nerr\nout2\n');
  });

  it(
    'starts every command in a fresh login shell: cd, export and variables do not carry over',
    { timeout: T },
    async () => {
      await run('cd /tmp && export LEAK=1 && LOCAL=2');
      const r = await run('pwd; echo "[${LEAK-}][${LOCAL-}]"');
      expect(r.output).toBe('/srv/work\n[][]\n');
      // A login shell: /etc/profile ran (it exports PATH), and the container's env is there.
      const env = await run('echo "$BOX_ENV"; shopt -q login_shell && echo login; echo "${SHLVL}"');
      expect(env.output).toBe('from-spec\nlogin\n1\n');
      // The server's own variables never leak into commands.
      expect((await run('set | grep -c "^__as_" || true')).output.trim()).toBe('0');
    },
  );

  it('honours cwd, env and user per command', { timeout: T }, async () => {
    const r = await run('pwd; echo "$A|$B"', { cwd: '/etc', env: { A: 'x y', B: 'multi\nline "quoted" $dollar' } });
    expect(r.output).toBe('/etc\nx y|multi\nline "quoted" $dollar\n');
    const bad = await run('pwd', { cwd: '/does/not/exist' });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.output).toContain('/does/not/exist');
    const who = await run('id -un; echo "$HOME"', { user: 'nobody', cwd: '/' });
    expect(who.output).toBe('nobody\n/nonexistent\n');
    expect((await run('id -un')).output).toBe('root\n');
    await expect(run('true', { env: { 'BAD-NAME': '1' } })).rejects.toThrow(/invalid environment variable/);
  });

  it('passes odd commands through untouched', { timeout: T }, async () => {
    const cmd = `printf '%s\\n' "it's" 'a "b"' '\\back' '$HOME' 'ünïcödé ✓'`;
    const r = await run(cmd);
    expect(r.output).toBe(`it's\na "b"\n\\back\n$HOME\nünïcödé ✓\n`);
    const heredoc = await run('cat <<EOF\nline1\n  line2\nEOF');
    expect(heredoc.output).toBe('line1\n  line2\n');
    expect((await run('')).exitCode).toBe(0);
  });

  it('kills a command at its timeout, with its whole process group', { timeout: T }, async () => {
    const t0 = Date.now();
    const r = await run('echo before; sleep 30; echo after', { timeoutSec: 1 });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBe(124);
    expect(r.output).toBe('before\n');

    const bg = await run('sleep 301 & sleep 302 & wait', { timeoutSec: 1 });
    expect(bg.timedOut).toBe(true);
    // Ignores TERM: timeout's KILL (2 s later) or the server's group kill ends it.
    const stubborn = await run(`trap '' TERM; sleep 303 & sleep 304; wait`, { timeoutSec: 1 });
    expect(stubborn.timedOut).toBe(true);
    expect(stubborn.durationMs).toBeLessThan(8000);

    const left = (await processes(box)).filter((c) => /sleep 30[0-9]/.test(c));
    expect(left).toEqual([]);
    // A command that merely exits 124 has not timed out.
    expect(await run('exit 124', { timeoutSec: 5 })).toMatchObject({ exitCode: 124, timedOut: false });
  });

  it('kills what a command leaves running: jobs, nohup, setsid and double-forked daemons', { timeout: T }, async () => {
    const t0 = Date.now();
    const r = await run(
      "sleep 305 & nohup sleep 306 >/dev/null 2>&1 & setsid sleep 307 & (setsid sh -c 'sleep 308 & echo $! > /tmp/d308' &); sleep 0.2; echo started",
    );
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(r.output).toBe('started\n');
    expect(r.leftoversKilled).toBeGreaterThanOrEqual(2);
    expect((await processes(box)).filter((c) => /sleep 30[5-8]/.test(c))).toEqual([]);
    // Nothing of the server's own is killed: the next command works as before.
    expect((await run('echo next')).output).toBe('next\n');
    // A shell of another user sweeps its own user's leftovers (and cannot touch root's).
    const nobody = await run('setsid sleep 310 & sleep 0.1; echo bye', { user: 'nobody', cwd: '/' });
    expect(nobody).toMatchObject({ output: 'bye\n', leftoversKilled: 1 });
    expect((await processes(box)).filter((c) => c.includes('sleep 310'))).toEqual([]);
  });

  it('keeps background services when asked, without waiting for them', { timeout: T }, async () => {
    const { containerId } = await createSandbox(spec({ backgroundServices: true }));
    const exec = (command: string) => execInSandbox({ containerId, command, timeoutSec: 20, outputCapBytes: 4000 });
    const t0 = Date.now();
    // A service that keeps writing to the command's stdout must not die of a closed pipe later.
    const r = await exec('while :; do echo tick; echo x >> /tmp/svc; sleep 0.1; done & setsid sleep 309 & echo up');
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(r.output).toMatch(/^(tick\n)*up\n/);
    expect(r.leftoversKilled).toBeUndefined();
    const lines = async () => Number((await exec('wc -l < /tmp/svc')).output.trim());
    const first = await lines();
    await new Promise((res) => setTimeout(res, 600));
    expect(await lines()).toBeGreaterThan(first);
    expect((await processes(containerId)).some((c) => c.includes('sleep 309'))).toBe(true);
    await removeSandbox(containerId);
  });

  it('caps the output to head and tail, marking the cut', { timeout: T }, async () => {
    const full = Array.from({ length: 20000 }, (_, i) => `${i + 1}\n`).join('');
    const r = await run('seq 1 20000', { outputCapBytes: 1000 });
    expect(r.truncated).toBe(true);
    expect(r.outputBytes).toBe(Buffer.byteLength(full));
    const cut = full.length - 1000;
    const marker = `\n[... ${cut} bytes cut ...]\n`;
    expect(r.output).toBe(full.slice(0, 500) + marker + full.slice(-500));
    // Exactly at the cap: not cut.
    const exact = await run('head -c 1000 /dev/zero | tr "\\0" x', { outputCapBytes: 1000 });
    expect(exact).toMatchObject({ truncated: false, outputBytes: 1000 });
    expect(exact.output).toBe('x'.repeat(1000));
  });

  it('handles huge output without reading it all', { timeout: T }, async () => {
    const before = process.memoryUsage().rss;
    const r = await run('yes | head -c 50000000; echo; echo END', { outputCapBytes: 10_000 });
    expect(r.exitCode).toBe(0);
    expect(r.outputBytes).toBe(50_000_000 + 1 + 4);
    expect(r.output.startsWith('y\ny\n')).toBe(true);
    expect(r.output.endsWith('y\n\nEND\n')).toBe(true);
    expect(r.output.length).toBeLessThan(10_100);
    expect(process.memoryUsage().rss - before).toBeLessThan(50_000_000);
    // The big output file is deleted once read.
    expect(
      (await run('du -sk /tmp/.agentscale-shell.* | cut -f1')).output
        .trim()
        .split('\n')
        .map(Number)
        .every((kb) => kb < 1000),
    ).toBe(true);
  });

  it('keeps the framing intact for binary output and output without a trailing newline', { timeout: T }, async () => {
    const bin = await run(`printf 'a\\x00b\\xff\\n\\x00'`);
    expect(bin.outputBytes).toBe(6);
    expect(Buffer.from(bin.output, 'utf8').includes(0)).toBe(true);
    const rnd = await run('head -c 300000 /dev/urandom', { outputCapBytes: 1_000_000 });
    expect(rnd).toMatchObject({ exitCode: 0, outputBytes: 300_000, truncated: false });
    const rndCut = await run('head -c 300000 /dev/urandom; exit 7', { outputCapBytes: 1000 });
    expect(rndCut).toMatchObject({ exitCode: 7, outputBytes: 300_000, truncated: true });
    expect((await run('printf abc')).output).toBe('abc');
    expect((await run('echo next')).output).toBe('next\n');
  });

  it('serializes concurrent commands on one shell, and runs other users alongside', { timeout: T }, async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => run(`echo ${i}; sleep 0.0${i % 3}`, { user: i % 2 ? 'nobody' : undefined })),
    );
    results.forEach((r, i) => expect(r.output).toBe(`${i}\n`));
  });
});

describe('isolation and limits', () => {
  it('has no network unless allowed', { timeout: T }, async () => {
    const dev = await run('tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "');
    expect(dev.output.trim().split('\n')).toEqual(['lo']);
    const py = await run(`python3 -c "import socket; s=socket.socket(); s.settimeout(3); s.connect(('1.1.1.1', 53))"`);
    expect(py.exitCode).not.toBe(0);
    expect(py.output).toMatch(/unreachable|Errno/i);
  });

  it('sets and enforces the resource limits', { timeout: T }, async () => {
    const s = spec({ cpus: 0.5, memoryMb: 256, pids: 64 });
    const { containerId } = await createSandbox(s);
    const info = await getDocker().getContainer(containerId).inspect();
    expect(info.HostConfig).toMatchObject({
      Memory: 256 * 1024 * 1024,
      MemorySwap: 256 * 1024 * 1024,
      NanoCpus: 500_000_000,
      PidsLimit: 64,
      NetworkMode: 'none',
    });
    expect(info.Config.Labels).toMatchObject({ ...s.labels, [LABEL.managed]: 'true' });
    const exec = (command: string) => execInSandbox({ containerId, command, timeoutSec: 30, outputCapBytes: 4000 });

    const pids = await exec(
      'python3 -c "\nimport os, time\nn = 0\ntry:\n    for i in range(200):\n        if os.fork() == 0:\n            time.sleep(3); os._exit(0)\n        n += 1\nexcept OSError as e:\n    print(\'capped at\', n, e)\n"',
    );
    const capped = /capped at (\d+)/.exec(pids.output);
    expect(capped, pids.output).not.toBeNull();
    expect(Number(capped![1])).toBeLessThan(64);

    const mem = await exec(`python3 -c "b = bytearray(600 * 1024 * 1024); print('survived')"`);
    expect(mem.exitCode).not.toBe(0);
    expect(mem.output).not.toContain('survived');
    // The sandbox stays usable after both.
    const after = await exec('sleep 0.5; echo ok');
    expect(after.output).toContain('ok');
    await removeSandbox(containerId);
  });
});

describe('disk', () => {
  it('caps output as it is produced: a flood never reaches the disk', { timeout: T }, async () => {
    const before = (await writableLayerBytes(box))!;
    const r = await run('yes | head -c 300000000; echo END', { outputCapBytes: 10_000 });
    expect(r).toMatchObject({ exitCode: 0, outputBytes: 300_000_004, truncated: true });
    expect(r.output.endsWith('y\nEND\n')).toBe(true);
    const grown = (await writableLayerBytes(box))! - before;
    expect(grown).toBeLessThan(1_000_000);
  });

  it('holds a container to its disk limit, also where the storage driver cannot', { timeout: T }, async () => {
    const driverCaps = (await storageDriver()).sizeLimits !== false;
    const one = await createSandbox(spec({ storageMb: 64 }));
    const exec = (containerId: string, command: string) =>
      execInSandbox({ containerId, command, timeoutSec: 30, outputCapBytes: 4000 });
    const big = await exec(one.containerId, 'head -c 100M /dev/zero > /tmp/one; echo "rc=$?"; stat -c %s /tmp/one');
    if (driverCaps) {
      expect(big.output).toMatch(/No space left/);
    } else {
      // One file: stopped at the limit by the file size limit, at once.
      expect(big.output).toMatch(/File size limit exceeded/);
      expect(big.output).toContain(`${64 * 2 ** 20}\n`);
      // The layer is now over the limit: the sandbox takes no more commands.
      await expect(exec(one.containerId, 'echo more')).rejects.toThrow(
        /unusable: its disk limit is exceeded: \d+ MB written, limit 64 MB/,
      );
    }
    await removeSandbox(one.containerId);

    // Many files, each under the limit: the watchdog stops the command while it runs.
    const many = await createSandbox(spec({ storageMb: 64 }));
    const t0 = Date.now();
    const filled = exec(
      many.containerId,
      'for i in $(seq 1 60); do head -c 4M /dev/zero > /tmp/f$i; sleep 0.2; done; echo done',
    );
    if (driverCaps) {
      expect((await filled).output).toMatch(/No space left/);
    } else {
      await expect(filled).rejects.toBeInstanceOf(SandboxUnusableError);
      await expect(filled).rejects.toThrow(/disk limit is exceeded/);
      // It would have run for 12 s; the 2 s watchdog cut it off well before.
      expect(Date.now() - t0).toBeLessThan(9000);
      expect((await writableLayerBytes(many.containerId))!).toBeLessThan(110 * 2 ** 20);
    }
    await removeSandbox(many.containerId);
  });

  it('refuses new containers while the host is low on disk', { timeout: T }, async () => {
    const s = spec({ minHostFreeMb: 1e9 });
    await expect(createSandbox(s)).rejects.toBeInstanceOf(HostDiskLowError);
    await expect(createSandbox(s)).rejects.toThrow(/low on disk: .* has \d+ MB available, below sandbox.minHostFreeMb/);
    expect(await listSandboxes({ [LABEL.attempt]: s.labels[LABEL.attempt]! })).toEqual([]);
  });
});

describe('recovery', () => {
  it('survives fork bombs: the next command runs at once, and nothing is left', { timeout: T }, async () => {
    const { containerId } = await createSandbox(spec({ pids: 128 }));
    const exec = (command: string) => execInSandbox({ containerId, command, timeoutSec: 10, outputCapBytes: 4000 });
    // The classic one (one process group), then one whose every process starts its own session.
    // (Its process group goes in one kill; leftoversKilled counts only what the sweep found.)
    expect((await exec(':(){ :|:& };:')).exitCode).toBe(0);
    let t0 = Date.now();
    expect((await exec('echo alive')).output).toBe('alive\n');
    const afterClassic = Date.now() - t0;
    // (The command waits with a builtin: once the bomb has every pid, no fork succeeds.)
    const sessions = await exec(
      `mkfifo /tmp/w; python3 -c "
import os
while True:
    try:
        if os.fork() == 0:
            os.setsid()
    except OSError:
        pass" & read -t 1 <> /tmp/w; echo bombed`,
    );
    expect(sessions.output).toContain('bombed');
    expect(sessions.leftoversKilled).toBeGreaterThan(10);
    t0 = Date.now();
    expect((await exec('echo alive')).output).toBe('alive\n');
    const afterSessions = Date.now() - t0;
    expect(afterClassic + afterSessions).toBeLessThan(5000);
    expect((await processes(containerId)).filter((c) => c.includes(':(){') || c.includes('python3'))).toEqual([]);
    await removeSandbox(containerId);
  });

  it(
    'says the sandbox is unusable when its process limit is held by processes it cannot end',
    { timeout: T },
    async () => {
      const { containerId } = await createSandbox(spec({ pids: 48 }));
      expect(
        (await execInSandbox({ containerId, command: 'echo ok', timeoutSec: 10, outputCapBytes: 100 })).output,
      ).toBe('ok\n');
      // A hog outside any command's reach (its own docker exec), holding every pid it can get.
      const hog = await getDocker()
        .getContainer(containerId)
        .exec({
          Cmd: [
            'python3',
            '-c',
            'import os, time\nkids = []\ntry:\n    while True:\n        pid = os.fork()\n        if pid == 0:\n            time.sleep(600); os._exit(0)\n        kids.append(pid)\nexcept OSError:\n    pass\nopen("/tmp/hog", "w").write(str(len(kids)))\ntime.sleep(600)',
          ],
        });
      await hog.start({ Detach: true });
      for (let i = 0; i < 100 && !(await readFileFromSandbox(containerId, '/tmp/hog')); i++)
        await new Promise((r) => setTimeout(r, 100));
      await expect(
        execInSandbox({ containerId, command: 'echo hi', timeoutSec: 10, outputCapBytes: 100 }),
      ).rejects.toThrow(/unusable: its process limit is used up \(\d+ of 48 processes\)/);
      // A shell that is not running yet cannot start either.
      const err = await execInSandbox({
        containerId,
        command: 'echo hi',
        timeoutSec: 10,
        outputCapBytes: 100,
        user: 'nobody',
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SandboxUnusableError);
      expect(String(err)).toMatch(/no shell can start/);
      await removeSandbox(containerId);
    },
  );

  it('survives the command killing every process (kill -9 -1)', { timeout: T }, async () => {
    const { containerId } = await createSandbox(spec());
    const exec = (command: string) => execInSandbox({ containerId, command, timeoutSec: 20, outputCapBytes: 4000 });
    expect((await exec('echo warm')).output).toBe('warm\n');
    const r = await exec('kill -9 -1');
    expect(r.exitCode === 137 || r.exitCode === -1).toBe(true);
    expect(r.output).toMatch(/shell .* killed|died|exited/i);
    expect((await exec('echo alive')).output).toBe('alive\n');
    // Killing just the server (the command's grandparent) is the same.
    const r2 = await exec('kill -9 "$(cut -d" " -f4 /proc/$PPID/stat)"; sleep 5');
    expect(r2.exitCode).not.toBe(0);
    expect(r2.output).toMatch(/shell/);
    expect((await exec('echo again')).output).toBe('again\n');
    await removeSandbox(containerId);
  });

  it('throws SandboxGoneError once the container is gone or stopped', { timeout: T }, async () => {
    const a = await createSandbox(spec());
    await execInSandbox({ containerId: a.containerId, command: 'true', timeoutSec: 5, outputCapBytes: 100 });
    // Removed behind our back (the cached shell still exists).
    await getDocker().getContainer(a.containerId).remove({ force: true });
    await expect(
      execInSandbox({ containerId: a.containerId, command: 'echo hi', timeoutSec: 5, outputCapBytes: 100 }),
    ).rejects.toBeInstanceOf(SandboxGoneError);
    await expect(readFileFromSandbox(a.containerId, '/etc/hostname')).rejects.toBeInstanceOf(SandboxGoneError);

    const b = await createSandbox(spec());
    await getDocker().getContainer(b.containerId).stop({ t: 1 });
    await expect(
      execInSandbox({ containerId: b.containerId, command: 'echo hi', timeoutSec: 5, outputCapBytes: 100 }),
    ).rejects.toBeInstanceOf(SandboxGoneError);

    // Removed while a command runs.
    const c = await createSandbox(spec());
    const pending = execInSandbox({
      containerId: c.containerId,
      command: 'sleep 30',
      timeoutSec: 60,
      outputCapBytes: 100,
    });
    await new Promise((r) => setTimeout(r, 500));
    await getDocker().getContainer(c.containerId).remove({ force: true });
    await expect(pending).rejects.toBeInstanceOf(SandboxGoneError);
    await expect(
      execInSandbox({
        containerId: 'agentscale-no-such-container',
        command: 'true',
        timeoutSec: 5,
        outputCapBytes: 100,
      }),
    ).rejects.toBeInstanceOf(SandboxGoneError);
    await removeSandbox(b.containerId);
  });
});

describe('lifecycle', () => {
  it('createSandbox is idempotent by name, and replaces what does not match', { timeout: T }, async () => {
    const s = spec();
    const first = await createSandbox(s);
    expect(first.reused).toBe(false);
    const again = await createSandbox(s);
    expect(again).toEqual({ containerId: first.containerId, reused: true });

    const relabelled = await createSandbox({ ...s, labels: { ...s.labels, [LABEL.attempt]: 'other' } });
    expect(relabelled.reused).toBe(false);
    expect(relabelled.containerId).not.toBe(first.containerId);

    await getDocker().getContainer(relabelled.containerId).stop({ t: 1 });
    const restarted = await createSandbox({ ...s, labels: { ...s.labels, [LABEL.attempt]: 'other' } });
    expect(restarted.reused).toBe(false);
    expect(
      (
        await execInSandbox({
          containerId: restarted.containerId,
          command: 'ls -d /logs/*',
          timeoutSec: 5,
          outputCapBytes: 1000,
        })
      ).output,
    ).toBe('/logs/agent\n/logs/artifacts\n/logs/verifier\n');
    // storageMb is applied where the driver can, and watched where it cannot (see 'disk').
    const sized = await createSandbox(spec({ storageMb: 2048 }));
    expect(
      (await execInSandbox({ containerId: sized.containerId, command: 'echo ok', timeoutSec: 5, outputCapBytes: 100 }))
        .output,
    ).toBe('ok\n');
    await removeSandbox(sized.containerId);
    await removeSandbox(s.name);
  });

  it('lists and removes sandboxes by label; removal is idempotent', { timeout: T }, async () => {
    const group = `${RUN}-group`;
    const made = await Promise.all(
      [1, 2, 3].map(() => createSandbox(spec({ labels: { [LABEL.run]: RUN, [LABEL.worker]: group } }))),
    );
    const listed = await listSandboxes({ [LABEL.worker]: group });
    expect(listed.map((s) => s.id).sort()).toEqual(made.map((m) => m.containerId).sort());
    expect(
      listed.every(
        (s) => s.state === 'running' && s.labels[LABEL.managed] === 'true' && s.name.startsWith('agentscale-'),
      ),
    ).toBe(true);

    await removeSandbox(listed[0]!.name);
    await removeSandbox(listed[0]!.name);
    await removeSandbox('agentscale-never-existed');
    expect(await removeSandboxes({ [LABEL.worker]: group })).toBe(2);
    expect(await listSandboxes({ [LABEL.worker]: group })).toEqual([]);
    expect(await removeSandboxes({ [LABEL.worker]: group })).toBe(0);
  });
});

describe('files', () => {
  it('copies files and folders in, and reads files back', { timeout: T }, async () => {
    const file = path.join(hostTmp, 'solve.sh');
    writeFileSync(file, '#!/bin/bash\necho solved\n', { mode: 0o755 });
    await copyIntoSandbox(box, file, '/opt/new/dir/solve.sh');
    expect((await run('/opt/new/dir/solve.sh; stat -c "%a %U" /opt/new/dir/solve.sh')).output).toBe(
      'solved\n755 root\n',
    );

    const dir = path.join(hostTmp, 'tests');
    mkdirSync(path.join(dir, 'sub', 'deeper'), { recursive: true });
    writeFileSync(path.join(dir, 'test.sh'), 'echo test\n');
    writeFileSync(path.join(dir, 'sub', 'deeper', 'data.bin'), Buffer.from([0, 1, 2, 255]));
    await copyIntoSandbox(box, dir, '/tests');
    expect((await run('cd /tests && find . -type f | sort')).output).toBe('./sub/deeper/data.bin\n./test.sh\n');
    // Merges into an existing folder.
    await run('mkdir -p /merge && echo keep > /merge/old.txt');
    await copyIntoSandbox(box, dir, '/merge');
    expect((await run('ls /merge')).output).toBe('old.txt\nsub\ntest.sh\n');

    expect(await readFileFromSandbox(box, '/tests/sub/deeper/data.bin')).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(await readFileFromSandbox(box, '/no/such/file')).toBeUndefined();
    await run('ln -sf /tests/test.sh /tmp/link.sh');
    expect((await readFileFromSandbox(box, '/tmp/link.sh'))?.toString()).toBe('echo test\n');
    await expect(readFileFromSandbox(box, '/tests')).rejects.toThrow(/folder/);
    expect(readFileSync(file, 'utf8')).toContain('solved');
  });

  it('writes files with a mode, creating parents', { timeout: T }, async () => {
    await writeFileToSandbox(box, '/logs/agent/deep/er/note.txt', 'hello\nworld');
    expect((await readFileFromSandbox(box, '/logs/agent/deep/er/note.txt'))?.toString()).toBe('hello\nworld');
    await writeFileToSandbox(box, '/usr/local/bin/tool', '#!/bin/sh\necho tool ran\n', 0o755);
    expect((await run('tool; stat -c %a /usr/local/bin/tool')).output).toBe('tool ran\n755\n');
    const big = Buffer.alloc(3_000_000, 7);
    await writeFileToSandbox(box, '/tmp/big.bin', big);
    expect((await readFileFromSandbox(box, '/tmp/big.bin'))?.equals(big)).toBe(true);
    expect((await run('wc -c < /tmp/big.bin')).output.trim()).toBe('3000000');
  });
});
