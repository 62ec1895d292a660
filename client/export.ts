// `agentscale export RUN`: every finished rollout of a run as one JSON line (core/export.ts), to a
// file or stdout, with filters. Reads the run folder only: no server, no worker.
import { createWriteStream, existsSync } from 'node:fs';
import { once } from 'node:events';
import type { Config } from '../core/config';
import { exportLine, exportWanted, type ExportFilter } from '../core/export';
import { byRolloutId } from '../core/rollout';
import { loadRunDataset, readIfExists, readJson } from '../runtime/artifacts';
import { finishedRollouts } from '../runtime/rollouts';
import { rolloutFolder, runDirOf, runFolder } from '../runtime/runFolder';
import { UsageError } from './control';
import { EXIT } from './exitCodes';

interface Trajectory {
  messages: { role: string; content: string }[];
}

export async function exportCommand(config: Config, runId: string, opts: ExportFilter & { out?: string }) {
  const runDir = runDirOf(config, runId);
  const folder = runFolder(runDir);
  if (!existsSync(folder.dataset) || !existsSync(folder.run)) {
    throw new UsageError(`no run ${runId} in ${runDir} (looked for dataset.json and run.json)`);
  }
  const taskIds = loadRunDataset(runDir).map((t) => t.id);
  const unknown = (opts.taskIds ?? []).filter((id) => !taskIds.includes(id));
  if (unknown.length) throw new UsageError(`run ${runId} has no task ${unknown.join(', ')}`);
  const model = readJson<{ model: string }>(folder.run).model;
  const out = opts.out ? createWriteStream(opts.out) : process.stdout;
  let lines = 0;
  let withoutTrajectory = 0;
  for (const taskId of taskIds) {
    for (const r of finishedRollouts(runDir, taskId).sort(byRolloutId)) {
      if (!exportWanted(r, opts)) continue;
      const traj = readIfExists<Trajectory>(rolloutFolder(runDir, taskId, r.rolloutId).traj);
      if (!traj) withoutTrajectory++;
      if (!out.write(`${JSON.stringify(exportLine(runId, model, r, traj?.messages ?? []))}\n`))
        await once(out, 'drain');
      lines++;
    }
  }
  if (opts.out) {
    out.end();
    await once(out, 'finish');
  }
  console.error(
    `${lines} rollouts exported${opts.out ? ` to ${opts.out}` : ''}` +
      (withoutTrajectory ? ` (${withoutTrajectory} without a trajectory file: their messages are empty)` : ''),
  );
  return EXIT.ok;
}
