// Hostile agents and oracles on real containers and the real Temporal server (the model is the
// Messages-API double): a fork bomb costs the agent one observation, not the rest of its rollout;
// a disk filler ends its rollout with SandboxError saying why, and no verifier verdict is made up
// for it. In validation, an oracle that fills the disk makes its task an error, not valid, and one
// that leaves a fork bomb behind still gets a fair verifier run.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSettings } from '../core/settings';
import type { RolloutResult } from '../core/rollout';
import { submitCommand } from '../core/agent';
import type { Task } from '../core/task';
import { loadDatasets } from '../datasets';
import { readJson } from '../runtime/artifacts';
import type { StoredModelStep, StoredObservation } from '../runtime/rollouts';
import { rolloutFolder } from '../runtime/runFolder';
import { LABEL, listSandboxes } from '../runtime/sandbox';
import { startMessagesApiDouble, type DoubleReplyFn, type MessagesApiDouble } from '../scripted-model/messagesApi';
import { solutionCommand } from '../scripted-model/scriptedAgent';
import { startValidation } from '../client/validate';
import type { ServerHandle } from '../runtime/temporal';
import { createWorker, runWorker } from '../worker';
import type { ValidationResult } from '../workflows/validate';
import { EXAMPLES, FIXTURES, testConfig } from './helpers';
import { closeTestClient, doubleConfig, startRun, testClient } from './runHarness';

let double: MessagesApiDouble;
let task: Task;

beforeAll(async () => {
  process.env.ANTHROPIC_API_KEY = 'sk-ant-test-containment';
  double = await startMessagesApiDouble({ latencyMs: 5 });
  const [t] = await loadDatasets([path.join(EXAMPLES, 'harbor', 'hello-file')]);
  // A small disk, so that filling it is quick.
  task = { ...t!, limits: { ...t!.limits, storageMb: 64 } };
});
afterAll(async () => {
  await closeTestClient();
  await double?.close();
  delete process.env.ANTHROPIC_API_KEY;
});

/** The first rollout to ask bombs, then solves; the second fills the disk, then would go on. */
function hostileAgent(t: Task): DoubleReplyFn {
  const plans: Record<string, string[]> = {
    bomb: [':(){ :|:& };:', 'echo alive after the bomb', solutionCommand(t), submitCommand(t)],
    fill: [
      'for i in 1 2 3 4; do head -c 30M /dev/zero > /tmp/fill$i; done; echo filled',
      'echo still here',
      submitCommand(t),
    ],
  };
  let first = 0;
  return (req) => {
    const turns = req.messages.filter((m) => m.role === 'assistant');
    const plan =
      turns.length === 0 ? (first++ % 2 === 0 ? 'bomb' : 'fill') : /\[plan (\w+)\]/.exec(turns[0]!.content)![1]!;
    const steps = plans[plan]!;
    const command = steps[Math.min(turns.length, steps.length - 1)]!;
    return { text: `THOUGHT: ${turns.length === 0 ? `[plan ${plan}] ` : ''}next.\n\n\`\`\`bash\n${command}\n\`\`\`` };
  };
}

describe('hostile rollouts', () => {
  it(
    'a fork bomb costs one step; a full disk ends the rollout with SandboxError and no verdict',
    { timeout: 180_000 },
    async () => {
      const { config } = doubleConfig(double, 'containment');
      double.setReply(hostileAgent(task));
      // The bash agent's containment (the command server's sweep and disk watchdog): pinned to it.
      const { runId, runDir } = await startRun(
        config,
        [task],
        runSettings(config, { strategy: 'sample', n: 2, agent: 'bash' }),
      );
      const result = (id: string) => readJson<RolloutResult>(rolloutFolder(runDir, task.id, id).result);
      const observation = (id: string, step: number) =>
        readJson<StoredObservation>(rolloutFolder(runDir, task.id, id).observation(step));

      // Which rollout got which plan depends on whose first call came first: read it back.
      const planOf = (id: string) =>
        /\[plan (\w+)\]/.exec(readJson<StoredModelStep>(rolloutFolder(runDir, task.id, id).model(1)).reply.text)?.[1];
      const [bombId, fillId] = planOf('it0-r0') === 'bomb' ? ['it0-r0', 'it0-r1'] : ['it0-r1', 'it0-r0'];
      expect([planOf(bombId!), planOf(fillId!)]).toEqual(['bomb', 'fill']);

      const bomb = result(bombId!);
      expect(bomb.exitStatus, bomb.detail).toBe('Submitted');
      expect(bomb.passed, bomb.evalReason).toBe(true);
      expect(observation(bombId!, 2).output).toBe('alive after the bomb\n');
      expect(observation(bombId!, 2).durationMs).toBeLessThan(5000);

      const fill = result(fillId!);
      expect(fill.exitStatus).toBe('SandboxError');
      expect(fill.detail).toMatch(/unusable: its disk limit is exceeded: \d+ MB written, limit 64 MB/);
      expect(fill.passed).toBeUndefined();
      expect(fill.evalError).toMatch(/^not evaluated: .*disk limit is exceeded/);
      expect(await listSandboxes({ [LABEL.run]: runId })).toEqual([]);
    },
  );
});

describe('hostile oracles', () => {
  it(
    'a disk-filling oracle makes its task an error; a fork bomb left behind does not spoil the verifier',
    { timeout: 180_000 },
    async () => {
      const { config } = testConfig('containment-validate');
      const server: ServerHandle = {
        address: config.temporal.address!,
        namespace: config.temporal.namespace,
        searchAttributes: true,
      };
      const tasks = await loadDatasets([
        path.join(FIXTURES, 'harbor', 'disk-hog-oracle'),
        path.join(FIXTURES, 'terminal-bench', 'bomb-oracle'),
      ]);
      const runId = `hostile-oracles-${Date.now()}`;
      const handle = await startValidation(config, server, await testClient(config), tasks, runId, 2);
      const result = (await runWorker(await createWorker(config, server), handle.result())) as ValidationResult;
      const byId = Object.fromEntries(result.verdicts.map((v) => [v.taskId, v]));

      const hog = byId['disk-hog-oracle']!;
      expect(hog.status).toBe('error');
      expect(hog.oracle.error).toMatch(/unusable: its disk limit is exceeded: \d+ MB written, limit 64 MB/);
      const bomb = byId['bomb-oracle']!;
      expect(bomb, bomb.problems.join('; ')).toMatchObject({ status: 'valid', oracle: { passed: true } });
      expect(await listSandboxes({ [LABEL.run]: runId })).toEqual([]);
    },
  );
});
