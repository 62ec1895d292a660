// `agentscale selections RUN`: the run's own selection and every `select` replay on it, side by
// side, so strategies (G, V, seed, judge input) compare on one stored population.
import { existsSync, readdirSync } from 'node:fs';
import type { Config } from '../core/config';
import type { RunReport } from '../core/report';
import { renderSelectionComparison, type ScalingReport, type SelectionRow } from '../core/scalingReport';
import type { RunSettings } from '../core/settings';
import type { SelectSpec } from '../workflows/select';
import { readIfExists, readJson } from '../runtime/artifacts';
import { runDirOf, runFolder, selectionFolder } from '../runtime/runFolder';
import { UsageError } from './control';
import { EXIT } from './exitCodes';
import { printJson } from './output';

/** The run's own selection (rtv, pdr) first, then its `select` replays by id. */
export function selectionRows(config: Config, runId: string): SelectionRow[] {
  const runDir = runDirOf(config, runId);
  const folder = runFolder(runDir);
  if (!existsSync(folder.run)) throw new UsageError(`no run ${runId} in ${runDir}`);
  const rows: SelectionRow[] = [];
  const own = readIfExists<RunReport>(folder.results)?.scaling;
  const settings = readJson<{ settings: RunSettings }>(folder.run).settings.scaling;
  if (own && settings) {
    const { groupSize, votes, seed, judgeInput } = settings;
    rows.push({ id: `${runId} (the run's own)`, groupSize, votes, seed, judgeInput, report: own });
  }
  const dir = folder.selections;
  for (const id of existsSync(dir) ? readdirSync(dir).sort() : []) {
    const s = readIfExists<{ spec: SelectSpec; report: ScalingReport }>(selectionFolder(runDir, id).results);
    if (s) rows.push({ id, ...s.spec, report: s.report });
  }
  return rows;
}

export function selectionsCommand(config: Config, runId: string, opts: { json?: boolean }): number {
  const rows = selectionRows(config, runId);
  if (!rows.length) throw new UsageError(`run ${runId} has no selection yet (a sample run: try \`agentscale select\`)`);
  if (opts.json) printJson(rows);
  else console.log(renderSelectionComparison(rows));
  return EXIT.ok;
}
