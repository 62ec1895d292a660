// Round trip of a trivial command through three paths, interleaved per iteration so machine
// noise hits all equally:
//   1. execInSandbox (the in-container command server)
//   2. a plain dockerode exec: create + start + wait for the output + inspect for the exit code
//   3. `docker exec <id> bash -lc <cmd>` through child_process (the CLI baseline; only here)
// Usage: npx tsx scripts/bench-exec.ts [--n 200] [--warmup 20] [--cmd true] [--image IMG]
import { execFile } from 'node:child_process';
import { PassThrough, type Duplex } from 'node:stream';
import { promisify } from 'node:util';
import { getDocker } from '../runtime/docker';
import { closeAllShells, createSandbox, execInSandbox, LABEL, removeSandbox } from '../runtime/sandbox';

const execFileP = promisify(execFile);

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const N = Number(arg('n', '200'));
const WARMUP = Number(arg('warmup', '20'));
const CMD = arg('cmd', 'true');
const IMAGE = arg('image', 'agentscale/base:bookworm');
const CPUS = Number(arg('cpus', '1'));

async function viaServer(containerId: string): Promise<void> {
  const r = await execInSandbox({ containerId, command: CMD, timeoutSec: 30, outputCapBytes: 10_000 });
  if (r.exitCode !== 0) throw new Error(`execInSandbox: exit ${r.exitCode}: ${r.output}`);
}

async function viaDockerode(containerId: string): Promise<void> {
  const docker = getDocker();
  const exec = await docker.getContainer(containerId).exec({
    Cmd: ['bash', '-lc', CMD],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = (await exec.start({ hijack: true, stdin: false })) as Duplex;
  const out = new PassThrough();
  const err = new PassThrough();
  out.resume();
  err.resume();
  docker.modem.demuxStream(stream, out, err);
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  const info = await exec.inspect();
  if (info.ExitCode !== 0) throw new Error(`dockerode exec: exit ${info.ExitCode}`);
}

async function viaCli(containerId: string): Promise<void> {
  await execFileP('docker', ['exec', containerId, 'bash', '-lc', CMD]);
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function time(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function main(): Promise<void> {
  const name = `agentscale-bench-${process.pid}-${Date.now().toString(36)}`;
  let containerId: string | undefined;
  try {
    ({ containerId } = await createSandbox({
      name,
      image: IMAGE,
      labels: { [LABEL.run]: 'bench-exec' },
      cpus: CPUS,
      memoryMb: 1024,
      pids: 512,
      allowInternet: false,
    }));
    const id = containerId;
    const methods: [string, () => Promise<void>][] = [
      ['execInSandbox', () => viaServer(id)],
      ['dockerode exec', () => viaDockerode(id)],
      ['docker CLI exec', () => viaCli(id)],
    ];
    for (let i = 0; i < WARMUP; i++) for (const [, fn] of methods) await fn();
    const samples = new Map<string, number[]>(methods.map(([m]) => [m, []]));
    for (let i = 0; i < N; i++) {
      // Rotate the order too, so no method always runs right after another.
      for (let j = 0; j < methods.length; j++) {
        const [m, fn] = methods[(i + j) % methods.length]!;
        samples.get(m)!.push(await time(fn));
      }
    }
    const stats = methods.map(([m]) => {
      const s = samples.get(m)!.sort((a, b) => a - b);
      return { m, median: pct(s, 0.5), p90: pct(s, 0.9) };
    });
    const cli = stats.find((s) => s.m === 'docker CLI exec')!;
    console.log(`command: bash -lc ${JSON.stringify(CMD)}   iterations: ${N} (after ${WARMUP} warm-up), cpus=${CPUS}`);
    console.log(`${'method'.padEnd(18)}${'median ms'.padStart(11)}${'p90 ms'.padStart(10)}${'vs CLI'.padStart(9)}`);
    for (const s of stats) {
      console.log(
        `${s.m.padEnd(18)}${s.median.toFixed(2).padStart(11)}${s.p90.toFixed(2).padStart(10)}${`${(s.median / cli.median).toFixed(2)}x`.padStart(9)}`,
      );
    }
    for (const s of stats) if (s !== cli) console.log(`${s.m} / docker CLI = ${(s.median / cli.median).toFixed(2)}x`);
  } finally {
    closeAllShells();
    await removeSandbox(containerId ?? name).catch((e: unknown) => console.error('cleanup failed:', e));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
