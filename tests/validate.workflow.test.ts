// The validate workflow end to end on the real Temporal server and real Docker: a dataset of all
// three formats, with tasks that should be valid, one whose oracle fails and one whose null
// attempt passes; verdicts, run folder and no containers left.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDatasets } from '../datasets';
import { runDirOf, runFolder } from '../runtime/runFolder';
import { LABEL, listSandboxes } from '../runtime/sandbox';
import type { ServerHandle } from '../runtime/temporal';
import { createWorker, runWorker } from '../worker';
import { startValidation } from '../client/validate';
import type { ValidationResult } from '../workflows/validate';
import { EXAMPLES, FIXTURES, testConfig } from './helpers';

const { config } = testConfig('validate-wf');
let connection: Connection;
let client: Client;
let server: ServerHandle;

beforeAll(async () => {
  server = { address: config.temporal.address!, namespace: config.temporal.namespace, searchAttributes: true };
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection, namespace: server.namespace });
});
afterAll(async () => connection?.close());

describe('validate workflow', () => {
  it('gives every task its verdict and writes the run folder', async () => {
    const tasks = await loadDatasets([
      path.join(EXAMPLES, 'harbor', 'hello-file'),
      path.join(EXAMPLES, 'terminal-bench'),
      path.join(EXAMPLES, 'swebench', 'instances.jsonl'),
      path.join(FIXTURES, 'harbor', 'broken-oracle'),
      path.join(FIXTURES, 'terminal-bench', 'null-passes'),
    ]);
    const runId = `wf-${Date.now()}`;
    const handle = await startValidation(config, server, client, tasks, runId, 3);
    const worker = await createWorker(config, server);
    const result = (await runWorker(worker, handle.result())) as ValidationResult;

    const byId = Object.fromEntries(result.verdicts.map((v) => [v.taskId, v]));
    expect(Object.keys(byId).sort()).toEqual(tasks.map((t) => t.id).sort());
    // quiz: the interactive example; its oracle answers through a pseudo-terminal.
    for (const id of ['hello-file', 'count-lines', 'json-names', 'quiz', 'example__calc-1', 'example__calc-2']) {
      expect(byId[id], `${id}: ${byId[id]?.problems.join('; ')}`).toMatchObject({ status: 'valid' });
    }
    expect(byId['broken-oracle']).toMatchObject({
      status: 'invalid',
      oracle: { passed: false },
      null: { passed: false },
    });
    expect(byId['broken-oracle']!.problems[0]).toMatch(/oracle fails/);
    expect(byId['null-passes']).toMatchObject({ status: 'invalid', null: { passed: true } });
    expect(result.summary).toMatchObject({ total: tasks.length, valid: 6, invalid: 2, error: 0 });

    const paths = runFolder(runDirOf(config, runId));
    expect(JSON.parse(readFileSync(paths.results, 'utf8')).verdicts).toHaveLength(tasks.length);
    expect(readFileSync(paths.table, 'utf8')).toContain('| broken-oracle | harbor | fail | fail | invalid |');
    expect(existsSync(path.join(paths.task('example__calc-1').attempt('oracle'), 'report.json'))).toBe(true);
    expect(existsSync(path.join(paths.task('hello-file').attempt('oracle'), 'solution.log'))).toBe(true);

    // Searchable by run id in the UI and CLI, with a readable summary per child workflow.
    const children = [];
    for await (const w of client.workflow.list({ query: `AgentscaleRunId = '${runId}'` })) children.push(w.workflowId);
    expect(children.length).toBeGreaterThanOrEqual(tasks.length);

    expect(await listSandboxes({ [LABEL.run]: runId })).toEqual([]);
  });

  it('attaching to an existing run id returns that run instead of starting another', async () => {
    const tasks = await loadDatasets([path.join(EXAMPLES, 'harbor', 'hello-file')]);
    const runId = `wf-attach-${Date.now()}`;
    const first = await startValidation(config, server, client, tasks, runId, 1);
    const second = await startValidation(config, server, client, tasks, runId, 1);
    expect(second.workflowId).toBe(first.workflowId);
    const worker = await createWorker(config, server);
    const result = (await runWorker(worker, first.result())) as ValidationResult;
    expect(result.summary).toMatchObject({ total: 1, valid: 1 });
  });
});
