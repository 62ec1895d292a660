// Fail early: what `run` checks before it starts anything, so that a missing key, a typo in the
// model name or a task image that cannot be built is one clear line now, not every rollout failing
// later in its container. The Temporal server is checked where every command connects
// (client/job.ts withClient).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config';
import { slug, type Task } from '../core/task';
import { dataPaths } from '../runtime/config';
import { prepareTaskImage } from '../runtime/images';
import { checkModel } from '../runtime/modelCheck';

/** A check before the start failed: nothing was started (exit status EXIT.unavailable). */
export class UnavailableError extends Error {
  override name = 'UnavailableError';
}

/** The model answers with the configured key and knows the model; else UnavailableError. */
export async function assertModelAnswers(config: Config): Promise<void> {
  const problem = await checkModel(config.model);
  if (problem) throw new UnavailableError(`model check failed: ${problem}`);
}

/**
 * Every task's image is present or builds (two builds at a time). The images are the ones the
 * run's workers use: cached by content hash, they find them ready. One line per task that fails;
 * its build output goes to the logs folder.
 */
export async function assertImagesReady(config: Config, tasks: Task[]): Promise<{ built: number }> {
  const failures: string[] = [];
  let built = 0;
  let next = 0;
  let ready = 0;
  // Many images can take long the first time: say where it stands every 15 s.
  const timer = setInterval(
    () => console.error(`  checking task images: ${ready}/${tasks.length} ready, ${failures.length} failed`),
    15_000,
  );
  const worker = async () => {
    for (let i = next++; i < tasks.length; i = next++) {
      const task = tasks[i]!;
      const lines: string[] = [];
      try {
        const prepared = await prepareTaskImage(task, config, (l) => lines.push(l));
        if (prepared.how === 'built') built++;
        ready++;
      } catch (e) {
        const logs = dataPaths(config).logs;
        mkdirSync(logs, { recursive: true });
        const file = path.join(logs, `image-check-${slug(task.id)}.log`);
        writeFileSync(file, `${(e as Error).message}\n\n${lines.join('\n')}\n`);
        failures.push(`${task.id}: ${(e as Error).message.split('\n')[0]} (build output: ${file})`);
      }
    }
  };
  try {
    await Promise.all([worker(), worker()]);
  } finally {
    clearInterval(timer);
  }
  if (failures.length)
    throw new UnavailableError(
      `image check failed for ${failures.length} of ${tasks.length} tasks (nothing was started; leave them out with --filter, or fix them):\n` +
        failures
          .sort()
          .map((f) => `  ${f}`)
          .join('\n'),
    );
  return { built };
}
