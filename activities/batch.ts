// Summaries and judge votes through the Message Batches API (config model.batch), at half price.
// The workflow (workflows/batch.ts) submits a batch, waits on durable timers between polls, then
// collects: each succeeded entry's reply is stored where the summary or vote activity looks for
// its first answer (runFolder batchFolder().reply), so that activity then runs as it always does,
// parsing, retrying an invalid answer directly, and storing its result; an entry that errored,
// was canceled or expired leaves nothing there, and its activity calls the API directly.
//
// Submission is idempotent by the batch's key: the batch id is written to the run folder as soon
// as the API returns it, and a retried submit (a worker killed while the batch was pending)
// finds it there and submits nothing. (The window left is the instant between the API's answer
// and that write.)
import { existsSync } from 'node:fs';
import { SHORT_TTL } from '../core/cache';
import type { Config } from '../core/config';
import type { ModelRequest } from '../core/model';
import { readIfExists, writeJson } from '../runtime/artifacts';
import { createBatchClient, type BatchClient, type BatchStatus } from '../runtime/model/batches';
import { batchFolder, rolloutFolder, tournamentFolder } from '../runtime/runFolder';
import { toFailure } from './failures';
import { scalingPrompts } from './scaling';
import path from 'node:path';

export type BatchJob =
  | { kind: 'summary'; rolloutId: string }
  | {
      kind: 'vote';
      tournament: string;
      selectId?: string;
      key: string;
      order: string[];
      judgeInput: 'summaries' | 'trajectories';
      shared?: boolean;
    };

export interface BatchRef {
  runDir: string;
  taskId: string;
  /** Names the batch in the task's folder: the same key is the same batch, submitted once. */
  key: string;
}

interface BatchRecord {
  batchId: string;
  submittedAt: string;
  /** custom_id -> the summary or vote file (relative to the run folder) its answer is for. */
  entries: Record<string, string>;
  /** Set once its results are stored. */
  collected?: { succeeded: number; fellBack: string[] };
}

export function createBatchActivities(config: Config) {
  const prompts = scalingPrompts(config);
  let client: BatchClient | undefined;
  const batches = () => (client ??= createBatchClient(config.model));
  const target = (ref: BatchRef, job: BatchJob) =>
    job.kind === 'summary'
      ? rolloutFolder(ref.runDir, ref.taskId, job.rolloutId).summary
      : tournamentFolder(ref.runDir, { taskId: ref.taskId, tournament: job.tournament, selectId: job.selectId }).vote(
          job.key,
        );
  const request = (ref: BatchRef, job: BatchJob): ModelRequest => {
    if (job.kind === 'summary') {
      const c = prompts.summaryConversation({ ...ref, rolloutId: job.rolloutId });
      // The first attempt, unmarked as a direct first attempt is (activities/scaling.ts).
      return { system: c.system, messages: c.messages, sampling: config.model.sampling.summariser };
    }
    const c = prompts.voteConversation({ ...ref, order: job.order, judgeInput: job.judgeInput, shared: job.shared });
    return { system: c.system, messages: c.messages, sampling: config.model.sampling.judge, cacheTtl: SHORT_TTL };
  };
  const fail = (e: unknown) => {
    throw toFailure(e);
  };

  return {
    /** Submits the jobs not yet answered, once per key; null when there was nothing to ask. */
    async submitBatch(input: BatchRef & { jobs: BatchJob[] }): Promise<{ batchId: string | null; entries: number }> {
      const folder = batchFolder(input.runDir, input.taskId);
      const done = readIfExists<BatchRecord>(folder.record(input.key));
      if (done) return { batchId: done.batchId, entries: Object.keys(done.entries).length };
      const pending = input.jobs.filter((j) => {
        const file = target(input, j);
        return !existsSync(file) && !existsSync(folder.reply(file));
      });
      if (pending.length === 0) return { batchId: null, entries: 0 };
      const entries = pending.map((job, i) => ({
        customId: `${i}-${job.kind === 'summary' ? job.rolloutId : job.key}`
          .replace(/[^a-zA-Z0-9_-]/g, '_')
          .slice(0, 64),
        job,
        request: request(input, job),
      }));
      const created = await batches().create(entries).catch(fail);
      const record: BatchRecord = {
        batchId: created.id,
        submittedAt: new Date().toISOString(),
        entries: Object.fromEntries(
          entries.map((e) => [e.customId, path.relative(input.runDir, target(input, e.job))]),
        ),
      };
      writeJson(folder.record(input.key), record);
      return { batchId: created.id, entries: entries.length };
    },

    /** Where the batch stands. */
    async pollBatch(input: BatchRef): Promise<BatchStatus> {
      const record = readIfExists<BatchRecord>(batchFolder(input.runDir, input.taskId).record(input.key));
      if (!record) throw new Error(`${input.key}: no batch was submitted`);
      return batches().retrieve(record.batchId).catch(fail);
    },

    /** Past the run's maximum wait: what is still pending goes to the normal API instead. */
    async cancelBatch(input: BatchRef): Promise<BatchStatus> {
      const record = readIfExists<BatchRecord>(batchFolder(input.runDir, input.taskId).record(input.key));
      if (!record) throw new Error(`${input.key}: no batch was submitted`);
      return batches().cancel(record.batchId).catch(fail);
    },

    /**
     * Stores each succeeded entry's reply for its summary or vote; the others are left to the
     * normal API. Returns the custom ids that fall back.
     */
    async collectBatch(input: BatchRef): Promise<{ succeeded: number; fellBack: string[] }> {
      const folder = batchFolder(input.runDir, input.taskId);
      const file = folder.record(input.key);
      const record = readIfExists<BatchRecord>(file);
      if (!record) throw new Error(`${input.key}: no batch was submitted`);
      if (record.collected) return record.collected;
      const results = await batches().results(record.batchId).catch(fail);
      const answered = new Set<string>();
      for (const r of results) {
        const rel = record.entries[r.customId];
        if (rel === undefined || r.type !== 'succeeded') continue;
        writeJson(folder.reply(path.join(input.runDir, rel)), r.reply);
        answered.add(r.customId);
      }
      const collected = {
        succeeded: answered.size,
        fellBack: Object.keys(record.entries).filter((id) => !answered.has(id)),
      };
      writeJson(file, { ...record, collected });
      return collected;
    },
  };
}

export type BatchActivities = ReturnType<typeof createBatchActivities>;
