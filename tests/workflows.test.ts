// The rollout and task-scaling workflows' control flow, on the real Temporal test server with
// mocked activities: the fast specification of what each workflow decides, beside the end-to-end
// tests that run the real activities against Docker.
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Activities } from '../activities';
import type { ExecSummary, TurnSummary } from '../activities/rollout';
import type { AgentLimits } from '../core/agent';
import { FAILURE } from '../core/failures';
import type { TaskScalingResult } from '../core/pdr';
import type { RolloutResult } from '../core/rollout';
import type { ScalingSettings } from '../core/settings';
import type { TaskRef } from '../core/task';
import type { Bracket } from '../core/tournament';
import { workflowBundle } from '../worker';
import type { RolloutInput } from '../workflows/rollout';
import type { TaskScalingInput } from '../workflows/scaling';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress') });
});
afterAll(async () => {
  await env?.teardown();
});

const task: TaskRef = {
  id: 'calc-1',
  format: 'swebench',
  grading: 'patch',
  hasSolution: true,
  agentTimeoutSec: 600,
  verifierTimeoutSec: 60,
  buildTimeoutSec: 60,
};
const limits: AgentLimits = { stepLimit: 6, costLimitUsd: 0, formatErrorLimit: 2 };
const modelRetry = { maxAttempts: 2, initialIntervalSec: 0.1, maxIntervalSec: 0.2 };

type Turn = Pick<TurnSummary, 'kind'> & { submit?: boolean };

/**
 * Activities that record every call, with an agent that plays `script(rolloutId)` step by step
 * (past its end it keeps acting without submitting) and a judge that picks `favourite(order)`.
 */
function mocks(opts: {
  script: (rolloutId: string) => Turn[];
  favourite?: (order: string[]) => string | null;
  passed?: (rolloutId: string) => boolean;
  finished?: RolloutResult[];
  execFails?: (rolloutId: string, step: number, container: string) => Error | undefined;
  evalFails?: (rolloutId: string) => boolean;
}) {
  const calls: { name: string; input: Record<string, unknown> }[] = [];
  const log = (name: string, input: unknown) => void calls.push({ name, input: input as Record<string, unknown> });
  let containers = 0;
  const turn = (rolloutId: string, step: number): Turn => opts.script(rolloutId)[step - 1] ?? { kind: 'action' };
  const acts: Partial<Activities> = {
    async prepareImage(input) {
      log('prepareImage', input);
      return { image: 'img', how: 'cached' };
    },
    async finishedRollouts(input) {
      log('finishedRollouts', input);
      return opts.finished ?? [];
    },
    async initRollout(input) {
      log('initRollout', input);
    },
    async startSandbox(input) {
      log('startSandbox', input);
      return { containerId: `c${++containers}`, network: { requested: 'none', effective: 'none' } };
    },
    async modelTurn(input) {
      log('modelTurn', input);
      const t = turn(input.rolloutId, input.step);
      return {
        kind: t.kind,
        preview: t.kind === 'action' ? 'ls' : undefined,
        costUsd: 0.01,
        stopReason: 'end_turn',
        called: true,
      };
    },
    async execStep(input): Promise<ExecSummary> {
      log('execStep', input);
      const fail = opts.execFails?.(input.rolloutId, input.step, input.containerId);
      if (fail) throw fail;
      return { exitCode: 0, timedOut: false, submitted: !!turn(input.rolloutId, input.step).submit, outputBytes: 1 };
    },
    async replaySteps(input) {
      log('replaySteps', input);
      return { replayed: input.upTo - 1 };
    },
    async collectPatch(input) {
      log('collectPatch', input);
      return { patchBytes: 10 };
    },
    async evaluateRollout(input) {
      log('evaluateRollout', input);
      if (opts.evalFails?.(input.rolloutId)) throw new Error('the hidden tests could not run');
      const passed = input.submitted && (opts.passed?.(input.rolloutId) ?? true);
      return {
        passed,
        reason: passed ? 'resolved' : 'unresolved',
        durationMs: 1,
        patchBytes: input.submitted ? 10 : 0,
      };
    },
    async removeSandbox(input) {
      log('removeSandbox', input);
    },
    async finishRollout(input) {
      log('finishRollout', input);
    },
    async summarize(input) {
      log('summarize', input);
      return { fallback: false, costUsd: 0.001, made: true };
    },
    async judgeVote(input) {
      log('judgeVote', input);
      return { order: input.order, choice: (opts.favourite ?? ((o) => o[0]!))(input.order), costUsd: 0.002 };
    },
    async recordBracket(input) {
      log('recordBracket', input);
    },
    async bracketCost(input) {
      log('bracketCost', input);
      return 0.1;
    },
    async recordTaskScaling(input) {
      log('recordTaskScaling', input);
    },
  };
  const of = (name: string) => calls.filter((c) => c.name === name).map((c) => c.input);
  return { acts, calls, of };
}

async function withWorker<T>(acts: Partial<Activities>, fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `wf-${Math.random().toString(36).slice(2)}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: acts,
  });
  return worker.runUntil(fn(taskQueue));
}

const rolloutInput = (rolloutId = 'it0-r0'): RolloutInput => ({
  runDir: '/nowhere',
  runId: 'run-wf',
  task,
  rolloutId,
  image: 'img',
  limits,
  commandTimeoutSec: 30,
  wallTimeSec: 600,
  modelRetry,
});

const runRollout = (acts: Partial<Activities>, input = rolloutInput()) =>
  withWorker(
    acts,
    (taskQueue) =>
      env.client.workflow.execute('rollout', {
        workflowId: `wf-rollout-${Math.random().toString(36).slice(2)}`,
        taskQueue,
        args: [input],
      }) as Promise<RolloutResult>,
  );

describe('rollout workflow', () => {
  it('acts until the agent submits, then evaluates, removes its container and records the result', async () => {
    const m = mocks({ script: () => [{ kind: 'action' }, { kind: 'action' }, { kind: 'action', submit: true }] });
    const r = await runRollout(m.acts);
    expect(r).toMatchObject({ exitStatus: 'Submitted', steps: 3, apiCalls: 3, passed: true, sandboxRestarts: 0 });
    expect(r.costUsd).toBeCloseTo(0.03);
    expect(m.of('execStep').map((i) => i.step)).toEqual([1, 2, 3]);
    expect(m.of('evaluateRollout')[0]).toMatchObject({ submitted: true, containerId: 'c1' });
    expect(m.calls.map((c) => c.name).slice(-2)).toEqual(['removeSandbox', 'finishRollout']);
    expect(m.of('finishRollout')[0]!.result).toEqual(r);
  });

  it('format errors run no command; too many in a row end the rollout unsubmitted', async () => {
    const m = mocks({
      script: () => [{ kind: 'format_error' }, { kind: 'action' }, { kind: 'format_error' }, { kind: 'format_error' }],
    });
    const r = await runRollout(m.acts);
    expect(r).toMatchObject({ exitStatus: 'RepeatedFormatError', steps: 4, passed: false });
    expect(m.of('execStep').map((i) => i.step)).toEqual([2]);
    expect(m.of('evaluateRollout')[0]).toMatchObject({ submitted: false });
  });

  it('stops at the step limit', async () => {
    const m = mocks({ script: () => [] });
    const r = await runRollout(m.acts);
    expect(r).toMatchObject({ exitStatus: 'LimitsExceeded', steps: limits.stepLimit });
    expect(m.of('modelTurn')).toHaveLength(limits.stepLimit);
  });

  it('a lost container is replaced, earlier steps replayed without the model, and the step run again', async () => {
    const lost = ApplicationFailure.create({
      message: 'container gone',
      type: FAILURE.sandboxLost,
      nonRetryable: true,
    });
    const m = mocks({
      script: () => [{ kind: 'action' }, { kind: 'action' }, { kind: 'action', submit: true }],
      execFails: (_, step, container) => (step === 2 && container === 'c1' ? lost : undefined),
    });
    const r = await runRollout(m.acts);
    expect(r).toMatchObject({ exitStatus: 'Submitted', steps: 3, sandboxRestarts: 1 });
    expect(m.of('modelTurn')).toHaveLength(3); // no model call repeated
    expect(m.of('replaySteps')).toEqual([expect.objectContaining({ containerId: 'c2', upTo: 2 })]);
    expect(m.of('execStep').map((i) => `${i.step}@${i.containerId}`)).toEqual(['1@c1', '2@c1', '2@c2', '3@c2']);
    // Both containers go: the lost one when it is replaced, the new one at the end.
    expect(new Set(m.of('removeSandbox').map((i) => i.name)).size).toBe(2);
  });

  it('a refused model request ends the rollout with ModelError; its container still goes', async () => {
    const m = mocks({ script: () => [] });
    m.acts.modelTurn = async () => {
      throw ApplicationFailure.create({ message: 'invalid x-api-key', type: FAILURE.modelFatal, nonRetryable: true });
    };
    const r = await runRollout(m.acts);
    expect(r).toMatchObject({ exitStatus: 'ModelError', steps: 0 });
    expect(r.detail).toMatch(/invalid x-api-key/);
    expect(m.of('removeSandbox')).toHaveLength(1);
    expect(m.of('finishRollout')).toHaveLength(1);
  });
});

const scaling = (over: Partial<ScalingSettings>): ScalingSettings => ({
  strategy: 'pdr',
  n: 4,
  iterations: 2,
  k: 2,
  groupSize: 2,
  votes: 2,
  context: 'select-K',
  judgeInput: 'summaries',
  seed: 1,
  ...over,
});

const runScaling = (acts: Partial<Activities>, s: ScalingSettings) =>
  withWorker(acts, (taskQueue) => {
    const input: TaskScalingInput = {
      runId: `run-${Math.random().toString(36).slice(2)}`,
      runDir: '/nowhere',
      task,
      scaling: s,
      limits,
      commandTimeoutSec: 30,
      wallTimeSec: 600,
      modelRetry,
    };
    return env.client.workflow.execute('taskScaling', {
      workflowId: `wf-scaling-${Math.random().toString(36).slice(2)}`,
      taskQueue,
      args: [input],
    }) as Promise<TaskScalingResult>;
  });

const index = (id: string) => Number(id.split('-r')[1]);

describe('taskScaling workflow', () => {
  it('PDR: summaries, K winners carried into every next rollout, then one final pick', async () => {
    // Every rollout submits; the judge prefers the higher rollout number.
    const m = mocks({
      script: () => [{ kind: 'action', submit: true }],
      favourite: (order) => order.reduce((a, b) => (index(b) > index(a) ? b : a)),
    });
    const r = await runScaling(m.acts, scaling({}));
    expect(r.iterations.map((it) => it.rollouts.map((x) => x.rolloutId))).toEqual([
      ['it0-r0', 'it0-r1', 'it0-r2', 'it0-r3'],
      ['it1-r0', 'it1-r1', 'it1-r2', 'it1-r3'],
    ]);
    expect(r.iterations[0]!.selected).toHaveLength(2);
    expect(r.iterations[0]!.selected).toContain('it0-r3'); // the favourite wins whatever its group
    for (const init of m.of('initRollout').filter((i) => String(i.rolloutId).startsWith('it1'))) {
      expect(init.contextFrom).toEqual(r.iterations[0]!.selected);
    }
    expect(r.final).toBe('it1-r3');
    expect(m.of('summarize')).toHaveLength(8);
    const brackets = m.of('recordBracket').map((i) => i.bracket as Bracket);
    for (const g of brackets.flatMap((b) => b.rounds.flatMap((round) => round.groups))) {
      expect(index(g.winner)).toBe(Math.max(...g.members.map(index)));
    }
    expect(brackets.map((b) => [b.id, b.target])).toEqual([
      ['it0-select-2', 2],
      ['it1-final', 1],
    ]);
    expect(r.cost).toEqual({ agent: expect.closeTo(0.08), summary: expect.closeTo(0.008), judge: expect.closeTo(0.2) });
    expect(m.of('recordTaskScaling')).toHaveLength(1);
  });

  it('the judge sees only what produced something; a judge that always abstains still ends in a pick', async () => {
    // Rollouts 0 and 1 never submit (empty patch); the judge never answers.
    const m = mocks({
      script: (id) => (index(id) < 2 ? [] : [{ kind: 'action', submit: true }]),
      favourite: () => null,
    });
    const r = await runScaling(m.acts, scaling({ iterations: 1, strategy: 'rtv' }));
    expect(r.iterations[0]!.dropped).toEqual(['it0-r0', 'it0-r1']);
    expect(['it0-r2', 'it0-r3']).toContain(r.final);
    const judged = new Set(m.of('judgeVote').flatMap((i) => i.order as string[]));
    expect(judged).toEqual(new Set(['it0-r2', 'it0-r3']));
  });

  it('selection is blind: a rollout whose hidden-test evaluation failed is judged like any other', async () => {
    const m = mocks({
      script: () => [{ kind: 'action', submit: true }],
      favourite: (order) => (order.includes('it0-r1') ? 'it0-r1' : order[0]!),
      evalFails: (id) => id === 'it0-r1',
    });
    const r = await runScaling(m.acts, scaling({ iterations: 1, strategy: 'rtv' }));
    const broken = r.iterations[0]!.rollouts.find((x) => x.rolloutId === 'it0-r1')!;
    expect(broken.evalError).toMatch(/could not run/);
    expect(broken.patchBytes).toBe(10); // from the rollout's own diff, not from the evaluation
    expect(r.iterations[0]!.dropped).toEqual([]);
    expect(r.final).toBe('it0-r1');
  });

  it('sample: N rollouts, no summaries, no judge, no pick', async () => {
    const m = mocks({ script: () => [{ kind: 'action', submit: true }] });
    const r = await runScaling(
      m.acts,
      scaling({ strategy: 'sample', n: 3, iterations: 1, k: 0, votes: 0, context: 'none' }),
    );
    expect(r.iterations).toHaveLength(1);
    expect(r.iterations[0]!.rollouts).toHaveLength(3);
    expect(r.final).toBeUndefined();
    expect(m.of('summarize')).toEqual([]);
    expect(m.of('judgeVote')).toEqual([]);
  });

  it('a continued run skips rollouts that already have results', async () => {
    const earlier: RolloutResult = {
      taskId: task.id,
      rolloutId: 'it0-r1',
      exitStatus: 'Submitted',
      steps: 7,
      apiCalls: 7,
      costUsd: 0.5,
      passed: true,
      patchBytes: 3,
      sandboxRestarts: 0,
      durationMs: 1,
    };
    const m = mocks({ script: () => [{ kind: 'action', submit: true }], finished: [earlier] });
    const r = await runScaling(
      m.acts,
      scaling({ strategy: 'sample', n: 3, iterations: 1, k: 0, votes: 0, context: 'none' }),
    );
    expect(
      m
        .of('initRollout')
        .map((i) => i.rolloutId)
        .sort(),
    ).toEqual(['it0-r0', 'it0-r2']);
    expect(r.iterations[0]!.rollouts[1]).toEqual(earlier);
    expect(r.cost.agent).toBeCloseTo(0.52);
  });
});
