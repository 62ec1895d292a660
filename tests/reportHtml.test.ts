// report.html in a real browser: a small pdr run (real containers, real Temporal, the model played
// by the Messages-API test double) writes report.html; headless Chromium from Debian's package
// (scripts/setup.sh installs it) loads it offline and the test reads back, from the DOM after
// load, that every chart drew (inked pixels counted in the page) from the run's own numbers.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportCharts } from '../core/reportHtml';
import { runSettings } from '../core/settings';
import type { Task } from '../core/task';
import { loadDatasets } from '../datasets';
import { runFolder } from '../runtime/runFolder';
import { startMessagesApiDouble, type MessagesApiDouble } from '../scripted-model/messagesApi';
import { scriptedAgent } from '../scripted-model/scriptedAgent';
import { EXAMPLES } from './helpers';
import { closeTestClient, doubleConfig, startRun } from './runHarness';

function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return (
        execFileSync('sh', ['-c', `command -v ${name}`])
          .toString()
          .trim() || undefined
      );
    } catch {
      /* next */
    }
  }
  return undefined;
}
const chromium = findChromium();
if (!chromium)
  console.warn('report.html test skipped: no chromium on PATH (scripts/setup.sh installs Debian’s package)');

/** Headless Chromium on a local file: no network, a throwaway profile. */
function browse(args: string[], file: string): Promise<string> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'agentscale-chromium-'));
  return new Promise((resolve, reject) =>
    execFile(
      chromium!,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        `--user-data-dir=${profile}`,
        '--proxy-server=127.0.0.1:9', // offline: anything the page fetched would fail
        ...args,
        `file://${file}`,
      ],
      { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    ),
  );
}

let double: MessagesApiDouble;
let tasks: Task[];
beforeAll(async () => {
  process.env.ANTHROPIC_API_KEY = 'sk-ant-report-html-test';
  double = await startMessagesApiDouble({ latencyMs: 5 });
  tasks = await loadDatasets([path.join(EXAMPLES, 'harbor', 'hello-file'), path.join(EXAMPLES, 'harbor', 'csv-sum')]);
});
afterAll(async () => {
  await closeTestClient();
  await double?.close();
});

describe('report.html', () => {
  it.skipIf(!chromium)('renders every chart of a pdr run in headless Chromium, offline', async () => {
    double.setReply(
      scriptedAgent(
        tasks,
        Object.fromEntries(
          tasks.map((t, i) => [t.id, i ? ['giveUp', 'solve', 'giveUp', 'giveUp'] : ['solve', 'giveUp']]),
        ),
      ).reply,
    );
    const { config } = doubleConfig(double, 'report-html');
    const settings = runSettings(config, { strategy: 'pdr', n: 4, iterations: 2, k: 2, groupSize: 2, votes: 2 });
    const { runDir, report } = await startRun(config, tasks, settings);
    const file = runFolder(runDir).html;
    const html = readFileSync(file, 'utf8');
    // Self-contained: no script, style or image is fetched from anywhere.
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|<img/i);
    expect(html).toContain('Chart.js v4');

    const dom = await browse(['--dump-dom'], file);
    const charts = reportCharts(report);
    expect(charts.map((c) => c.id)).toEqual([
      'pass-rate',
      'cost',
      'tokens',
      'solve-counts',
      'judge-accuracy',
      'survivors',
    ]);
    expect(dom).toContain(`data-charts="${charts.length}"`);
    for (const c of charts) {
      const inked = new RegExp(`<canvas id="${c.id}"[^>]*data-inked="(\\d+)"`).exec(dom);
      expect(inked, `${c.id} was not drawn`).not.toBeNull();
      // Axes, labels and the series: thousands of pixels; an empty canvas has none.
      expect(Number(inked![1]), c.id).toBeGreaterThan(2000);
    }
    // The figure's numbers are this run's: pass@1 per iteration and Final from the report.
    const pass = charts[0]!.config as { data: { datasets: { label: string; data: (number | null)[] }[] } };
    expect(pass.data.datasets.find((d) => d.label === 'pass@1')!.data).toEqual(
      report.scaling!.iterations.map((it) => Math.round(1000 * it.pass1) / 10),
    );
    expect(pass.data.datasets.find((d) => d.label === 'Final')!.data.at(-1)).toBe(
      Math.round(1000 * report.scaling!.final) / 10,
    );

    // A screenshot beside the report, for a person to look at.
    const png = path.join(runDir, 'report.png');
    await browse([`--screenshot=${png}`, '--window-size=1280,1500', '--hide-scrollbars'], file);
    expect(existsSync(png) && statSync(png).size).toBeGreaterThan(20_000);
    console.log(`report.html screenshot: ${png}`);
  });

  it.skipIf(!chromium)('a sample run: pass rates, cost and solve counts drawn', async () => {
    double.setReply(scriptedAgent(tasks, Object.fromEntries(tasks.map((t) => [t.id, ['solve', 'giveUp']]))).reply);
    const { config } = doubleConfig(double, 'report-html-sample');
    const { runDir, report } = await startRun(config, tasks, runSettings(config, { strategy: 'sample', n: 2 }));
    const dom = await browse(['--dump-dom'], runFolder(runDir).html);
    const charts = reportCharts(report);
    expect(charts.map((c) => c.id)).toEqual(['pass-rate', 'cost', 'solve-counts']);
    expect(dom).toContain(`data-charts="3"`);
    for (const c of charts)
      expect(Number(new RegExp(`<canvas id="${c.id}"[^>]*data-inked="(\\d+)"`).exec(dom)?.[1]), c.id).toBeGreaterThan(
        2000,
      );
    // Every task solved once in two: solve counts put both tasks at 1.
    const solve = charts[2]!.config as { data: { labels: string[]; datasets: { data: number[] }[] } };
    expect(solve.data.labels).toEqual(['0', '1']);
    expect(solve.data.datasets[0]!.data).toEqual([0, tasks.length]);
  });
});
