// Task images and sandboxes: building a task's image once, starting and removing the containers
// its attempts run in, and sweeping what a run left behind. Every container carries labels (run,
// task, attempt, worker, server) so that a worker's shutdown and `gc` find it.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import type { Config } from '../core/config';
import { loadRunTask, writeFileAtomic, writeJson } from '../runtime/artifacts';
import type { NetworkMode } from '../core/harbor';
import { composeVars, prepareSandbox, sandboxSpec, taskNetwork } from '../runtime/evaluate';
import { prepareServiceImages, prepareTaskImage, type PreparedImage } from '../runtime/images';
import type { Task } from '../core/task';
import { taskFolder } from '../runtime/runFolder';
import { createSandbox, LABEL, removeSandbox, removeSandboxes } from '../runtime/sandbox';
import { guarded } from './failures';
import { withHeartbeat } from './heartbeat';

/** Identifies containers made by this worker process, so its shutdown can remove them. */
export const WORKER_ID = `${os.hostname()}-${process.pid}`;

export interface AttemptRef {
  runDir: string;
  runId: string;
  taskId: string;
  /** oracle / null, or a rollout id. */
  attempt: string;
  /** Container name; unique per try so a restarted attempt never inherits a half-done state. */
  name: string;
}

/** Container labels for an attempt of a run. */
export type LabelsFor = (ref: { runId: string; taskId: string; attempt: string }) => Record<string, string>;

/**
 * @param server the `serverKey` of the Temporal server these activities work for; containers
 *   carry it so that `gc` judges them by the runs of the right server.
 */
export const containerLabels =
  (server: string): LabelsFor =>
  (ref) => ({
    [LABEL.run]: ref.runId,
    [LABEL.task]: ref.taskId,
    [LABEL.attempt]: ref.attempt,
    [LABEL.worker]: WORKER_ID,
    [LABEL.server]: server,
  });

/** The compose services' images recorded by prepareImage (none for a task without services). */
function serviceImages(runDir: string, task: Task): Record<string, string> | undefined {
  if (!task.compose?.services.length) return undefined;
  const file = taskFolder(runDir, task.id).serviceImages;
  if (!existsSync(file)) throw new Error(`${task.id}: ${file} is missing; the task's images were not prepared`);
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
}

export function createSandboxActivities(config: Config, labelsFor: LabelsFor) {
  return {
    async prepareImage(input: { runDir: string; taskId: string }): Promise<PreparedImage> {
      const task = loadRunTask(input.runDir, input.taskId);
      const lines: string[] = [];
      return guarded(() =>
        withHeartbeat(
          async () => {
            try {
              const prepared = await prepareTaskImage(task, config, (l) => lines.push(l));
              const folder = taskFolder(input.runDir, task.id);
              let rewrites = prepared.rewrites ?? [];
              if (task.compose?.services.length) {
                // Other compose services: their images are recorded beside the task's, for startSandbox.
                const services = await prepareServiceImages(
                  task,
                  config,
                  composeVars(task, config, prepared.image),
                  (l) => lines.push(l),
                );
                writeJson(folder.serviceImages, services.images);
                rewrites = [...rewrites, ...services.rewrites];
              }
              writeJson(folder.imageMappings, rewrites);
              return rewrites.length ? { ...prepared, rewrites } : prepared;
            } finally {
              if (lines.length) writeFileAtomic(taskFolder(input.runDir, task.id).buildLog, `${lines.join('\n')}\n`);
            }
          },
          () => ({ lines: lines.length }),
        ),
      );
    },

    /** Also says which network the container got: the task's, or none on an offline host. */
    async startSandbox(
      input: AttemptRef & { image: string },
    ): Promise<{ containerId: string; network: { requested: NetworkMode; effective: NetworkMode } }> {
      const task = loadRunTask(input.runDir, input.taskId);
      return guarded(() =>
        withHeartbeat(async () => {
          const spec = sandboxSpec(
            task,
            config,
            input.image,
            input.name,
            labelsFor(input),
            serviceImages(input.runDir, task),
          );
          const { containerId } = await createSandbox(spec);
          // environment/ files of a prebuilt image, then the task's healthcheck (may take a while).
          await prepareSandbox(task, containerId, config);
          return { containerId, network: taskNetwork(task, config) };
        }),
      );
    },

    async removeSandbox(input: { name: string }): Promise<void> {
      await removeSandbox(input.name);
    },

    /** Removes whatever a run still has (after crashes); returns how many containers it removed. */
    async removeRunContainers(input: { runId: string }): Promise<number> {
      return removeSandboxes({ [LABEL.run]: input.runId });
    },
  };
}
