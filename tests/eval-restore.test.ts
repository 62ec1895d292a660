// A container lost while the hidden tests run in it (a Docker daemon restart, an operator's
// `docker rm`) is restored in a fresh container, the rollout's steps replayed there, and the
// rollout evaluated again: its verdict is the tests', never an evaluation error.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutResult } from '../core/rollout';
import { runSettings } from '../core/settings';
import { loadDatasets } from '../datasets';
import { readJson } from '../runtime/artifacts';
import { getDocker } from '../runtime/docker';
import { rolloutFolder } from '../runtime/runFolder';
import { LABEL, listSandboxes } from '../runtime/sandbox';
import { startMessagesApiDouble, type MessagesApiDouble } from '../scripted-model/messagesApi';
import { scriptedAgent } from '../scripted-model/scriptedAgent';
import { closeTestClient, doubleConfig, startRun } from './runHarness';

let double: MessagesApiDouble;
beforeAll(async () => {
  process.env.ANTHROPIC_API_KEY = 'sk-ant-test-eval-restore';
  double = await startMessagesApiDouble({ latencyMs: 10 });
});
afterAll(async () => {
  await closeTestClient();
  await double?.close();
  delete process.env.ANTHROPIC_API_KEY;
});

/** A Harbor task whose verifier takes a few seconds, so its container can be lost under it. */
function slowVerifierTask(): string {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'agentscale-eval-restore-')), 'slow-verifier');
  const files: Record<string, string> = {
    'instruction.md': 'Create the file /app/done.\n',
    'task.toml': '[verifier]\ntimeout_sec = 60\n[environment]\nnetwork_mode = "no-network"\n',
    'environment/Dockerfile': 'FROM ubuntu:24.04\nWORKDIR /app\n',
    'solution/solve.sh': '#!/bin/bash\ntouch /app/done\n',
    'tests/test.sh':
      '#!/bin/bash\nsleep 4\nif [ -f /app/done ]; then echo 1; else echo 0; fi > /logs/verifier/reward.txt\n',
  };
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content, { mode: rel.endsWith('.sh') ? 0o755 : 0o644 });
  }
  return dir;
}

describe('evaluation in a lost container', () => {
  it('restores the rollout in a fresh container and evaluates it again', async () => {
    const tasks = await loadDatasets([slowVerifierTask()]);
    const { config } = doubleConfig(double, 'eval-restore');
    double.setReply(scriptedAgent(tasks, { 'slow-verifier': ['solve'] }).reply);

    // Removes the rollout's container once, while its verifier (test.sh) runs in it.
    let removed: string | undefined;
    let stop = false;
    const watcher = (async () => {
      while (!stop && !removed) {
        for (const box of await listSandboxes({ [LABEL.task]: 'slow-verifier' })) {
          const top = await getDocker()
            .getContainer(box.id)
            .top({ ps_args: '-o pid,args' })
            .catch(() => undefined);
          if ((top?.Processes as string[][] | undefined)?.some((p) => p.join(' ').includes('/tests/test.sh'))) {
            await getDocker().getContainer(box.id).remove({ force: true });
            removed = box.name;
            break;
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const run = await startRun(config, tasks, runSettings(config, { strategy: 'sample', n: 1 })).finally(() => {
      stop = true;
    });
    await watcher;
    expect(removed, 'the verifier was seen running').toBeDefined();
    const result = readJson<RolloutResult>(rolloutFolder(run.runDir, 'slow-verifier', 'it0-r0').result);
    expect(result).toMatchObject({ exitStatus: 'Submitted', passed: true, reward: 1, sandboxRestarts: 1 });
    expect(result.evalError).toBeUndefined();
    expect(await listSandboxes({ [LABEL.run]: run.runId })).toEqual([]);
  });
});
