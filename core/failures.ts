// Failure types shared by activities (which throw them) and workflows (which branch on them).
export const FAILURE = {
  /** The container vanished or a step was interrupted: restart the attempt in a fresh container. */
  sandboxLost: 'SandboxLost',
  /**
   * The container runs but can no longer be trusted with commands (its disk limit exceeded,
   * processes that cannot be killed, no shell can start): the attempt ends with SandboxError.
   */
  sandboxUnusable: 'SandboxUnusable',
  /** Bad task, missing image or recipe, build error: retrying cannot help. */
  invalidTask: 'InvalidTask',
  /** The model API is unavailable for now (429, 529, 5xx, timeouts): Temporal retries with backoff. */
  modelUnavailable: 'ModelUnavailable',
  /** The model API refuses the request (bad key, invalid request): the rollout ends with ModelError. */
  modelFatal: 'ModelFatal',
} as const;
