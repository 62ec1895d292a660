// report.html: the run's report as one self-contained page with charts, beside results.md. The
// numbers are the ones results.json holds (core/report.ts, core/scalingReport.ts); the charts are
// drawn by Chart.js, whose source is inlined (the caller reads it from node_modules), so the page
// works offline and can be mailed or archived as one file.
import { totalCost, type RunReport } from './report';
import { renderBudget } from './budget';
import type { RunComparison, RunGrid } from './compare';
import { formatInterval, type Interval } from './statistics';

/** What a scheduled run's page adds: its comparison with the previous run, and its schedule's recent runs. */
export interface ReportExtras {
  comparison?: RunComparison;
  grid?: RunGrid;
}

/** What the page plots, derived from the report: one entry per chart. */
export interface ChartSpec {
  id: string;
  title: string;
  /** What the chart shows, in a sentence under its title. */
  caption: string;
  /** A Chart.js configuration (type, data, options). */
  config: Record<string, unknown>;
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? null : Math.round(1000 * x) / 10);
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const percentAxis = { y: { min: 0, max: 100, title: { display: true, text: '%' } } };

function bar(labels: string[], datasets: { label: string; data: (number | null)[] }[], options = {}) {
  return {
    type: 'bar',
    data: { labels, datasets: datasets.map((d, i) => ({ ...d, backgroundColor: COLORS[i % COLORS.length] })) },
    options,
  };
}

function line(
  labels: string[],
  datasets: { label: string; data: (number | null)[]; pointStyle?: string; pointRadius?: number }[],
  options = {},
) {
  return {
    type: 'line',
    data: {
      labels,
      datasets: datasets.map((d, i) => ({
        borderColor: COLORS[i % COLORS.length],
        backgroundColor: COLORS[i % COLORS.length],
        spanGaps: true,
        // Points at 0 or 100% are drawn whole, not cut at the axis.
        clip: false,
        pointRadius: 5,
        // A series with its own marker (Final) is drawn on top, so it shows where it meets another.
        order: d.pointStyle ? -1 : i,
        ...d,
      })),
    },
    options,
  };
}

/** Tasks by how many rollouts passed, as bars over 0..max. */
function solveBars(dists: { label: string; counts: Record<number, number> }[]) {
  const max = Math.max(0, ...dists.flatMap((d) => Object.keys(d.counts).map(Number)));
  const xs = Array.from({ length: max + 1 }, (_, i) => i);
  return bar(
    xs.map(String),
    dists.map((d) => ({ label: d.label, data: xs.map((x) => d.counts[x] ?? 0) })),
    {
      scales: {
        x: { title: { display: true, text: 'rollouts that passed' } },
        y: { title: { display: true, text: 'tasks' }, ticks: { precision: 0 } },
      },
    },
  );
}

export function reportCharts(r: RunReport): ChartSpec[] {
  const s = r.scaling;
  const charts: ChartSpec[] = [];
  if (!s) {
    charts.push({
      id: 'pass-rate',
      title: 'Pass rate',
      caption:
        'pass@1: the mean over tasks of the share of rollouts that passed; pass@N: tasks where any rollout passed.',
      config: bar(['pass@1', 'pass@N'], [{ label: 'this run', data: [pct(r.pass1), pct(r.passN)] }], {
        scales: percentAxis,
      }),
    });
    charts.push({
      id: 'cost',
      title: 'Cost by stage',
      caption: 'Dollars; a sample run has one stage, the agent.',
      config: bar(['agent'], [{ label: 'USD', data: [r.costUnknown ? null : r.costUsd] }]),
    });
    charts.push({
      id: 'solve-counts',
      title: 'Solve counts',
      caption: 'Tasks by how many of their rollouts passed.',
      config: solveBars([{ label: 'tasks', counts: countBy(r.perTask.map((t) => t.passed)) }]),
    });
    return charts;
  }

  const its = s.iterations;
  const labels = its.map((it) => `iteration ${it.iteration}`);
  const selK = new Map(s.selK.map((x) => [x.iteration, x.mean]));
  charts.push({
    id: 'pass-rate',
    title: 'Pass rate per iteration',
    caption:
      "The paper's figure for this run: pass@1 (mean over rollouts), Sel-K (the K kept for the next iteration), oracle pass@N (any rollout passed), and Final (the one answer RTV picked, after the last iteration).",
    config: line(
      labels,
      [
        { label: 'pass@1', data: its.map((it) => pct(it.pass1)) },
        { label: 'Sel-K', data: its.map((it) => pct(selK.get(it.iteration))) },
        { label: 'oracle pass@N', data: its.map((it) => pct(it.passN)) },
        {
          label: 'Final',
          data: its.map((_, i) => (i === its.length - 1 ? pct(s.final) : null)),
          pointStyle: 'rectRot',
          pointRadius: 10,
        },
      ],
      { scales: percentAxis },
    ),
  });

  const stages = ['agent', 'summaries', 'judge'];
  charts.push({
    id: 'cost',
    title: 'Cost by stage',
    caption: `Dollars per stage; the run's total is ${money(totalCost(r))}.`,
    config: bar(stages, [{ label: 'USD', data: [s.cost.agent, s.cost.summary, s.cost.judge] }]),
  });
  if (s.tokens) {
    const t = [s.tokens.agent, s.tokens.summary, s.tokens.judge];
    charts.push({
      id: 'tokens',
      title: 'Tokens by stage',
      caption: 'Input, output and cache tokens of every model call, by stage.',
      config: bar(
        stages,
        [
          { label: 'input', data: t.map((u) => u.inputTokens) },
          { label: 'output', data: t.map((u) => u.outputTokens) },
          { label: 'cache read', data: t.map((u) => u.cacheReadTokens) },
          { label: 'cache write', data: t.map((u) => u.cacheWriteTokens) },
        ],
        { scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: 'tokens' } } } },
      ),
    });
  }
  charts.push({
    id: 'solve-counts',
    title: 'Solve-count distributions',
    caption: 'Tasks by how many of the iteration’s rollouts passed, one series per iteration.',
    config: solveBars(its.map((it) => ({ label: `iteration ${it.iteration}`, counts: it.solveCounts }))),
  });

  const depth = Math.max(0, ...its.map((it) => it.rounds.length));
  const rounds = Array.from({ length: depth }, (_, i) => `round ${i + 1}`);
  charts.push({
    id: 'judge-accuracy',
    title: 'Judge accuracy',
    caption: `In groups holding both a passing and a failing rollout, how often the judge picked a passing one (overall ${accuracy(s.judgeAccuracy)}).`,
    config: bar(
      ['all rounds', ...rounds],
      its.map((it) => ({
        label: `iteration ${it.iteration}`,
        data: [pct(it.judgeAccuracy.rate), ...rounds.map((_, i) => pct(it.rounds[i]?.judgeAccuracy.rate))],
      })),
      { scales: percentAxis },
    ),
  });
  charts.push({
    id: 'survivors',
    title: 'RTV survivor curves',
    caption:
      'Pass rate of the candidates left after each tournament round, one curve per iteration: selection working shows as a rising curve.',
    config: line(
      ['start', ...rounds.map((x) => `after ${x}`)],
      its.map((it) => ({
        label: `iteration ${it.iteration}`,
        data: [pct(it.pass1), ...rounds.map((_, i) => pct(it.rounds[i]?.survivorPassRate))],
      })),
      { scales: percentAxis },
    ),
  });
  return charts;
}

function countBy(xs: number[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

const money = (x: number | null) => (x === null ? 'unknown' : `$${x.toFixed(4)}`);
const accuracy = (a: { correct: number; groups: number; rate: number | null }) =>
  a.rate === null ? 'no mixed groups' : `${(100 * a.rate).toFixed(1)}%, ${a.correct}/${a.groups} groups`;

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** JSON that may sit inside a <script> element: no `</script>` or `<!--` can close it early. */
const scriptJson = (x: unknown) => JSON.stringify(x).replace(/</g, '\\u003c');

/** The draw script: every chart without animation, then each canvas's inked pixels counted (the test reads them). */
const DRAW = `
const charts = JSON.parse(document.getElementById('agentscale-charts').textContent);
for (const c of charts) {
  const canvas = document.getElementById(c.id);
  const config = { ...c.config, options: { ...c.config.options, animation: false, responsive: false,
    plugins: { legend: { position: 'bottom' } } } };
  new Chart(canvas, config);
  const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i] > 0) inked++;
  canvas.dataset.inked = String(inked);
}
document.body.dataset.charts = String(charts.length);
`;

const pctText = (x: number) => `${(100 * x).toFixed(1)}%`;
const withInterval = (x: number, i: Interval | null | undefined) => (i ? formatInterval(i, pctText) : pctText(x));

/** Every rate with its 95% interval (results.json's `intervals`), as table rows. */
function intervalRows(r: RunReport): [string, Interval | null][] {
  const rows: [string, Interval | null][] = [];
  if (r.intervals) {
    rows.push(['pass@1', r.intervals.pass1], ['pass@N (oracle)', r.intervals.passN]);
    for (const p of r.intervals.passAtK) if (p.k > 1) rows.push([`pass@${p.k} (unbiased)`, p.interval]);
  }
  const iv = r.scaling?.intervals;
  if (iv) {
    for (const it of iv.iterations) {
      rows.push(
        [`iteration ${it.iteration}: pass@1`, it.pass1],
        [`iteration ${it.iteration}: pass@N`, it.passN],
        ...(it.selK !== undefined ? [[`iteration ${it.iteration}: Sel-K`, it.selK] as [string, Interval | null]] : []),
        [`iteration ${it.iteration}: judge accuracy`, it.judgeAccuracy],
        [`iteration ${it.iteration}: selection efficiency`, it.efficiency],
      );
    }
    rows.push(['Final', iv.final], ['judge accuracy (all rounds)', iv.judgeAccuracy]);
  }
  return rows;
}

function intervalsTable(r: RunReport): string {
  const rows = intervalRows(r);
  if (!rows.length) return '';
  const b = r.intervals?.bootstrap ?? r.scaling?.intervals?.bootstrap;
  return `<h2>Rates with their intervals</h2>
<p class="small">${b ? `${Math.round(100 * b.level)}% intervals, bootstrap over tasks (a task's rollouts resampled together), ${b.resamples} resamples, seed ${b.seed}` : ''}</p>
<table id="intervals"><thead><tr><th>rate</th><th>estimate [low, high]</th></tr></thead><tbody>
${rows.map(([name, i]) => `<tr><td>${escapeHtml(name)}</td><td>${escapeHtml(formatInterval(i, pctText))}</td></tr>`).join('\n')}
</tbody></table>`;
}

function comparisonSection(c: RunComparison): string {
  const s = c.significance;
  const verdict = s
    ? `${s.verdict} at level ${s.level}: p = ${s.pValue.toPrecision(3)} (${s.test}); solved difference ${formatInterval(
        s.difference,
        (x) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} pts`,
      )}`
    : '';
  const list = (ids: string[]) =>
    ids.length
      ? ids
          .map((id) => {
            const l = c.links?.[id];
            return l ? `<a href="${escapeHtml(l.current)}">${escapeHtml(id)}</a>` : escapeHtml(id);
          })
          .join(', ')
      : 'none';
  return `<h2>Compared with ${escapeHtml(c.previous)}</h2>
<p class="${s?.verdict === 'regression' ? 'note' : ''}">${escapeHtml(verdict)}</p>
<p>solved ${pctText(c.solved.previous)} → ${pctText(c.solved.current)} on ${c.tasks} shared tasks; newly passing: ${list(c.newlyPassing)}; newly failing: ${list(c.newlyFailing)}</p>`;
}

function gridSection(g: RunGrid): string {
  const mark = { pass: '✓', fail: '✗', error: '!' } as const;
  return `<h2>This schedule's recent runs</h2>
<table id="run-grid"><thead><tr><th>task</th>${g.runs.map((r) => `<th>${escapeHtml(r)}</th>`).join('')}</tr></thead><tbody>
${g.tasks
  .map(
    (t) =>
      `<tr><td>${escapeHtml(t.taskId)}</td>${t.cells
        .map((c, i) => {
          if (!c) return '<td></td>';
          const link = t.links[i];
          const text = `${mark[c]} ${c}`;
          return `<td class="${c}">${link ? `<a href="${escapeHtml(link)}">${text}</a>` : text}</td>`;
        })
        .join('')}</tr>`,
  )
  .join('\n')}
</tbody></table>`;
}

/** The page. `chartJs` is Chart.js's UMD build, inlined as is. */
export function renderReportHtml(r: RunReport, chartJs: string, extras: ReportExtras = {}): string {
  const charts = reportCharts(r);
  const total = totalCost(r);
  const headline = [
    `strategy ${r.strategy}, model ${r.model}: ${r.tasks} tasks, ${r.rollouts} rollouts`,
    `pass@1 ${withInterval(r.pass1, r.intervals?.pass1)}, pass@N ${withInterval(r.passN, r.intervals?.passN)}` +
      (r.scaling ? `, Final ${withInterval(r.scaling.final, r.scaling.intervals?.final)}` : '') +
      `, cost ${money(total)}${r.scaling ? ' (all stages)' : ''}`,
  ];
  const budget = r.budget ? renderBudget(r.budget.caps, r.budget.stops) : [];
  const rows = r.perTask
    .map(
      (t) =>
        `<tr><td>${escapeHtml(t.taskId)}</td><td>${t.passed}/${t.rollouts}</td><td>${(100 * t.pass1).toFixed(1)}%</td>` +
        `<td>${t.final === undefined ? '' : t.final ? 'passed' : 'failed'}</td><td>$${t.costUsd.toFixed(4)}</td>` +
        `<td>${escapeHtml(
          t.error
            ? `task failed: ${t.error.split('\n')[0]}`
            : Object.entries(t.exitStatuses)
                .map(([k, v]) => `${k} ${v}`)
                .join(', '),
        )}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Run ${escapeHtml(r.runId)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
.grid { display: flex; flex-wrap: wrap; gap: 1.5em; }
figure { margin: 0; border: 1px solid #ddd; padding: 0.8em; border-radius: 6px; }
figcaption { max-width: 560px; font-size: 0.85em; color: #555; }
h2 { font-size: 1.05em; margin: 0 0 0.3em; }
table { border-collapse: collapse; margin-top: 1.5em; }
td, th { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }
.note { background: #fff6d6; padding: 0.5em; }
.small { font-size: 0.85em; color: #555; }
td.pass { background: #e3f5e1; } td.fail { background: #fbe3e3; } td.error { background: #fff0c2; }
</style>
</head>
<body>
<h1>Run ${escapeHtml(r.runId)}</h1>
${r.note ? `<p class="note">${escapeHtml(r.note)}</p>` : ''}
${headline.map((l) => `<p>${escapeHtml(l)}</p>`).join('\n')}
${budget.map((l) => `<p>${escapeHtml(l.replace(/\*\*/g, '').replace(/^- /, '• '))}</p>`).join('\n')}
<div class="grid">
${charts
  .map(
    (c) =>
      `<figure><h2>${escapeHtml(c.title)}</h2><canvas id="${c.id}" width="560" height="300"></canvas><figcaption>${escapeHtml(c.caption)}</figcaption></figure>`,
  )
  .join('\n')}
</div>
<table><thead><tr><th>task</th><th>passed</th><th>pass@1</th><th>final</th><th>cost</th><th>exit statuses</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${intervalsTable(r)}
${extras.comparison ? comparisonSection(extras.comparison) : ''}
${extras.grid ? gridSection(extras.grid) : ''}
<script type="application/json" id="agentscale-charts">${scriptJson(charts)}</script>
<script>${chartJs.replace(/<\/script/gi, '<\\/script')}</script>
<script>${DRAW}</script>
</body>
</html>
`;
}
