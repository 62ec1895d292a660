// Every workflow the worker bundles. Workflow code is replayed: keep it deterministic (the lint
// rule in eslint.config.js enforces the imports).
export { validateDataset, validateTask, progressQuery } from './validate';
export { rollout } from './rollout';
export { benchmarkRun, taskRun, runProgressQuery } from './run';
export { taskScaling } from './scaling';
export { selectRun, selectTask } from './select';
export { scheduledRun } from './schedule';
export { regradeRun } from './regrade';
