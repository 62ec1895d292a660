// `compare` and each scheduled run's comparison: the verdict is a regression only when the drop is
// significant at the configured level, and says which test made it.
import { describe, expect, it } from 'vitest';
import { compareRuns, renderComparison, runGrid } from '../core/compare';
import { renderReportHtml } from '../core/reportHtml';
import { runReport } from '../core/report';
import type { RolloutResult } from '../core/rollout';

const rollout = (taskId: string, passed: boolean): RolloutResult => ({
  taskId,
  rolloutId: 'r0',
  exitStatus: 'Submitted',
  steps: 1,
  apiCalls: 1,
  costUsd: 0.01,
  passed,
  patchBytes: 1,
  sandboxRestarts: 0,
  durationMs: 1,
});

/** A sample run of one rollout per task; `solved(i)` says which tasks pass. */
const run = (runId: string, tasks: number, solved: (i: number) => boolean) =>
  runReport(
    { runId, strategy: 'sample', model: 'm' },
    new Map(Array.from({ length: tasks }, (_, i) => [`t${i}`, [rollout(`t${i}`, solved(i))]])),
  );

describe('compare', () => {
  const before = run('a', 60, (i) => i < 40);

  it('a drop of 15 tasks out of 40 solved is a regression, with its test and interval', () => {
    const c = compareRuns(
      before,
      run('b', 60, (i) => i < 25),
    );
    expect(c.newlyFailing).toHaveLength(15);
    // Exact McNemar with 15 discordant pairs all one way: 2 / 2^15.
    expect(c.significance!.pValue).toBeCloseTo(2 / 2 ** 15, 12);
    expect(c.significance!.verdict).toBe('regression');
    expect(c.significance!.difference!.estimate).toBeCloseTo(-15 / 60, 12);
    expect(c.significance!.difference!.high).toBeLessThan(0);
    expect(renderComparison(c)).toMatch(
      /\*\*regression\*\* at level 0\.05: p = 6\.10e-5 \(exact McNemar, two-sided, on 15 changed verdicts: 0 newly passing, 15 newly failing/,
    );
  });

  it('two tasks swapped either way are no significant change; the level is configurable', () => {
    const c = compareRuns(
      before,
      run('b', 60, (i) => (i < 40 && i !== 3) || i === 50),
    );
    expect(c.significance!.verdict).toBe('no significant change');
    expect(c.significance!.pValue).toBe(1);
    // Three one-way changes: p = 0.25; significant only at a lax level.
    const three = run('c', 60, (i) => i < 37);
    expect(compareRuns(before, three).significance!.verdict).toBe('no significant change');
    expect(compareRuns(before, three, { level: 0.3 }).significance!.verdict).toBe('regression');
    expect(compareRuns(three, before, { level: 0.3 }).significance!.verdict).toBe('improvement');
  });

  it('links each changed task to its workflow in both runs when the UI is known', () => {
    const c = compareRuns(
      before,
      run('b', 60, (i) => i < 39),
      { ui: { url: 'http://ui:8233', namespace: 'ns 1' } },
    );
    expect(Object.keys(c.links!)).toEqual(['t39']);
    expect(c.links!.t39).toEqual({
      previous: 'http://ui:8233/namespaces/ns%201/workflows/a%2Ft39',
      current: 'http://ui:8233/namespaces/ns%201/workflows/b%2Ft39',
    });
    expect(renderComparison(c)).toContain('t39 ([before](http://ui:8233/namespaces/ns%201/workflows/a%2Ft39), [now]');
  });

  it('grid: tasks by run, pass / fail / error, empty where a run lacked the task, each cell linked', () => {
    const a = run('a', 3, (i) => i === 0);
    const b = run('b', 2, (i) => i === 1);
    b.perTask[0]!.error = 'image build failed';
    const g = runGrid([a, b], { url: 'http://ui', namespace: 'default' });
    expect(g.runs).toEqual(['a', 'b']);
    expect(g.tasks.map((t) => [t.taskId, ...t.cells])).toEqual([
      ['t0', 'pass', 'error'],
      ['t1', 'fail', 'pass'],
      ['t2', 'fail', undefined],
    ]);
    expect(g.tasks[2]!.links).toEqual(['http://ui/namespaces/default/workflows/a%2Ft2', undefined]);
    const html = renderReportHtml(b, '', { grid: g, comparison: compareRuns(a, b) });
    expect(html).toMatch(
      /<table id="run-grid">[\s\S]*<td class="error"><a href="http:\/\/ui\/namespaces\/default\/workflows\/b%2Ft0">! error<\/a><\/td>/,
    );
    expect(html).toContain('<h2>Compared with a</h2>');
    expect(html).toMatch(/<table id="intervals">[\s\S]*pass@1<\/td><td>50\.0% \[/);
  });
});
