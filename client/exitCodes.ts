// Exit statuses scripts can rely on (README, "Exit statuses").
export const EXIT = {
  /** The job finished and everything in it ran: all tasks valid; every rollout ran and was evaluated. */
  ok: 0,
  /** Infrastructure or internal error: the job could not be run or followed. */
  error: 1,
  /** Bad input: config, datasets, flags, or a run id of another kind. */
  usage: 2,
  /** The job finished, but not cleanly: invalid tasks (validate); tasks that could not run, or
   * rollouts that ended in ModelError / SandboxError or whose evaluation failed, or a cost cap
   * that left rollouts unstarted (run). */
  problems: 3,
  /** The job was cancelled. */
  cancelled: 4,
  /** A check before the start failed (the Temporal server, the model API and key, a task image): nothing was started. */
  unavailable: 5,
  /** Interrupted here (Ctrl-C); the job goes on in Temporal and can be attached to again. */
  interrupted: 130,
} as const;
