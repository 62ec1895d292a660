// Chart.js's UMD build, read from node_modules once, for report.html to inline (so the page
// needs no network). The package's exports hide its dist/ folder; its main entry finds it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

let source: string | undefined;
export function chartLibrary(): string {
  source ??= readFileSync(
    path.join(path.dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js'),
    'utf8',
  );
  return source;
}
