// Fail early, through the real CLI against the real server and Docker: a missing key, a wrong
// key, an unknown model, an image that cannot be built and a Temporal server that does not
// answer each stop `run` before anything starts, with one line and exit status 5; no workflow,
// no container. The model is the Messages-API test double, which refuses wrong keys as the API does.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../client/exitCodes';
import { PROJECT_ROOT } from '../runtime/config';
import { runDirOf } from '../runtime/runFolder';
import { LABEL, listSandboxes } from '../runtime/sandbox';
import { freePort } from '../runtime/temporal';
import { startMessagesApiDouble, type MessagesApiDouble } from '../scripted-model/messagesApi';
import { EXAMPLES } from './helpers';
import { doubleConfig } from './runHarness';

const CLI = path.join(PROJECT_ROOT, 'bin', 'agentscale');
const TASK_DIR = path.join(EXAMPLES, 'harbor', 'hello-file');
const RIGHT_KEY = 'sk-ant-preflight-right-key';

function cli(args: string[], key: string | undefined) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.ANTHROPIC_API_KEY;
  if (key) env.ANTHROPIC_API_KEY = key;
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(CLI, args, { env }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let double: MessagesApiDouble;
let config: ReturnType<typeof doubleConfig>;

beforeAll(async () => {
  double = await startMessagesApiDouble({ apiKeys: [RIGHT_KEY], models: ['claude-test'] });
  config = doubleConfig(double, 'preflight');
});
afterAll(() => double?.close());

/** Nothing of the run exists: no workflow was started (status says so), no container, no run folder. */
async function nothingStarted(runId: string, cfg = config) {
  expect(await listSandboxes({ [LABEL.run]: runId })).toEqual([]);
  expect(existsSync(path.join(runDirOf(cfg.config, runId), 'run.json'))).toBe(false);
  const status = await cli(['--config', config.file, 'status', runId], RIGHT_KEY);
  expect(status.code).toBe(EXIT.usage);
}

const messagesCalls = () => double.calls.filter((c) => c.path === '/v1/messages').length;

describe('fail early', () => {
  it('a missing key, a wrong key and an unknown model: one line each, exit 5, nothing started', async () => {
    const c = ['--config', config.file, 'run', '--detach', '-n', '1'];
    const missing = await cli([...c, '--run-id', `pf-nokey-${Date.now()}`, TASK_DIR], undefined);
    expect(missing.code, missing.stderr).toBe(EXIT.unavailable);
    expect(missing.stderr.trim()).toBe(
      'model check failed: anthropic model claude-test: no API key: set the environment variable ANTHROPIC_API_KEY',
    );

    const wrongId = `pf-wrongkey-${Date.now()}`;
    const wrong = await cli([...c, '--run-id', wrongId, TASK_DIR], 'sk-ant-preflight-wrong-key');
    expect(wrong.code, wrong.stderr).toBe(EXIT.unavailable);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    expect(wrong.stderr).toMatch(
      /model check failed: anthropic model claude-test: authentication failed \(HTTP 401 authentication_error\): invalid x-api-key .*ANTHROPIC_API_KEY/,
    );
    expect(wrong.stderr).not.toContain('sk-ant-preflight-wrong-key');
    // The double answered the models endpoint with 401; no message was ever sent.
    expect(double.calls.some((call) => call.path === '/v1/models/claude-test' && call.status === 401)).toBe(true);
    await nothingStarted(wrongId);

    const other = doubleConfig(double, 'preflight-model', {
      model: {
        ...config.config.model,
        name: 'claude-nope',
        prices: { 'claude-nope': { inputPerMTok: 1, outputPerMTok: 1 } },
      },
    } as never);
    const unknown = await cli(['--config', other.file, 'run', '--detach', '-n', '1', TASK_DIR], RIGHT_KEY);
    expect(unknown.code, unknown.stderr).toBe(EXIT.unavailable);
    expect(unknown.stderr).toMatch(/model check failed: anthropic model claude-nope: .*HTTP 404.*is model.name right/);
    expect(messagesCalls()).toBe(0);
  });

  it('a cost cap for a model without a price is refused before anything starts', async () => {
    const unpriced = doubleConfig(double, 'preflight-price', {
      model: { ...config.config.model, prices: {} },
    } as never);
    const r = await cli(['--config', unpriced.file, 'run', '--detach', '--max-cost', '5', TASK_DIR], RIGHT_KEY);
    expect(r.code, r.stderr).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/a cost cap .* needs the model's price: model.prices has none for claude-test/);
  });

  it('an image that cannot be built: its task named, exit 5, nothing started', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'agentscale-unbuildable-'));
    const task = path.join(dir, 'unbuildable');
    cpSync(TASK_DIR, task, { recursive: true });
    writeFileSync(path.join(task, 'environment', 'Dockerfile'), 'FROM ubuntu:24.04\nRUN echo broken step && exit 3\n');
    const runId = `pf-image-${Date.now()}`;
    const r = await cli(['--config', config.file, 'run', '--detach', '--run-id', runId, '-n', '1', task], RIGHT_KEY);
    expect(r.code, r.stderr).toBe(EXIT.unavailable);
    expect(r.stderr).toMatch(/image check failed for 1 of 1 tasks/);
    expect(r.stderr).toMatch(
      / {2}unbuildable: building agentscale\/task-unbuildable:\w+ failed: .*returned a non-zero code: 3 \(build output: .*image-check-unbuildable\.log\)/,
    );
    await nothingStarted(runId);
    expect(messagesCalls()).toBe(0);
  });

  it('a Temporal server that does not answer: one line, exit 5', async () => {
    const port = await freePort();
    const dead = doubleConfig(double, 'preflight-server', {
      temporal: { address: `127.0.0.1:${port}`, namespace: 'default', taskQueue: 'preflight-dead' },
    } as never);
    const r = await cli(['--config', dead.file, 'run', '--detach', '-n', '1', TASK_DIR], RIGHT_KEY);
    expect(r.code, r.stderr).toBe(EXIT.unavailable);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`Temporal server check failed: 127\\.0\\.0\\.1:${port} does not answer`));
  });
});
