// Tournament wall time against its ideal: with every judge call taking a fixed latency L and calls
// unthrottled, a 16-candidate tournament with G = 2, V = 8 needs 4 rounds (16 -> 8 -> 4 -> 2 -> 1),
// all groups of a round and all votes of a group in parallel: about 4 x L. This plays one through
// the real Temporal dev server and worker, with the Messages-API test double as the judge.
//   npx tsx scripts/bench-tournament.ts [--latency-ms 1000] [--candidates 16] [--votes 8] [--group-size 2] [--repeat 3]
import './bench-env';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ConfigSchema } from '../core/config';
import { loadDatasets } from '../datasets';
import { storeDataset, writeJson } from '../runtime/artifacts';
import { loadConfig, PROJECT_ROOT } from '../runtime/config';
import { writeResult } from '../runtime/rollouts';
import { rolloutFolder, runDirOf } from '../runtime/runFolder';
import { startDevServer } from '../runtime/temporal';
import { startMessagesApiDouble } from '../scripted-model/messagesApi';
import { createWorker, runWorker } from '../worker';
import { startSelection } from '../client/select';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const L = arg('latency-ms', 1000);
const N = arg('candidates', 16);
const V = arg('votes', 8);
const G = arg('group-size', 2);
const REPEAT = arg('repeat', 3);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'agentscale-bench-tournament-'));
const double = await startMessagesApiDouble({ latencyMs: L });
const server = await startDevServer(loadConfig(path.join(PROJECT_ROOT, 'agentscale.yaml')), {
  dbFile: path.join(tmp, 'temporal.db'),
  logFile: path.join(tmp, 'server.log'),
});
try {
  const config = ConfigSchema.parse({
    dataDir: tmp,
    temporal: { address: server.address, taskQueue: 'bench-tournament' },
    model: { name: 'bench-judge', baseUrl: double.baseUrl.anthropic, prices: {} },
    // Unthrottled: every vote of the widest round runs at once.
    worker: { maxConcurrentActivityTaskExecutions: 4 * N * V, maxConcurrentWorkflowTaskExecutions: 64 },
  });
  const [task] = await loadDatasets([path.join(PROJECT_ROOT, 'examples', 'harbor', 'hello-file')]);
  // A judge with a strict order (the higher attempt number wins), so no group ties: ties cost an
  // extra sequential vote by design, which is not what this measures.
  double.setReply((req) => {
    const shown = [...(req.messages[0]?.content ?? '').matchAll(/<attempt id="([A-Z])">\n[^\n]*attempt (\d+)/g)];
    const best = shown.reduce((a, b) => (Number(b[2]) > Number(a[2]) ? b : a), shown[0]!);
    return { text: `<answer>${best[1]}</answer>` };
  });
  const runDir = runDirOf(config, 'synthetic');
  storeDataset(runDir, [task!]);
  // A finished run: N rollouts with their summaries, as `run` would have left them.
  for (let i = 0; i < N; i++) {
    const rolloutId = `it0-r${i}`;
    const p = rolloutFolder(runDir, task!.id, rolloutId);
    writeResult(p, {
      taskId: task!.id,
      rolloutId,
      exitStatus: 'Submitted',
      steps: 3,
      apiCalls: 3,
      costUsd: null,
      sandboxRestarts: 0,
      durationMs: 0,
      patchBytes: 1,
    });
    writeJson(p.summary, {
      rolloutId,
      text: `[plan ${i === 5 ? 'solve' : 'giveUp'}] attempt ${i}`,
      fallback: false,
      attempts: 1,
      costUsd: 0,
    });
  }
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const serverHandle = { address: server.address, namespace: 'default', searchAttributes: true };
  const worker = await createWorker(config, serverHandle);
  const rounds = Math.ceil(Math.log(N) / Math.log(G));
  const ideal = rounds * L;
  const times: number[] = [];
  await runWorker(
    worker,
    (async () => {
      for (let r = 0; r < REPEAT; r++) {
        const selectId = `bench-${r}`;
        const calls = double.calls.length;
        const started = performance.now();
        const spec = { groupSize: G, votes: V, seed: r, judgeInput: 'summaries' } as const;
        const handle = await startSelection(config, serverHandle, client, {
          runId: 'synthetic',
          runDir,
          selectId,
          spec,
        });
        await handle.result();
        const ms = performance.now() - started;
        times.push(ms);
        const made = double.calls.length - calls;
        console.log(
          `run ${r + 1}: ${(ms / 1000).toFixed(2)} s, ${made} judge calls${made > (N - 1) * V ? ` (${made - (N - 1) * V} tie breaks)` : ''}`,
        );
      }
    })(),
  );
  await connection.close();
  const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
  console.log(
    `\n${N} candidates, G=${G}, V=${V}, judge latency ${L} ms: ideal ${rounds} rounds x L = ${(ideal / 1000).toFixed(2)} s`,
  );
  console.log(`measured median ${(median / 1000).toFixed(2)} s; ratio to ideal ${(median / ideal).toFixed(2)}x`);
} finally {
  await double.close();
  await server.stop();
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
