// Lint: typescript-eslint's recommended rules everywhere, plus two import rules.
// Layers: core <- runtime, datasets, scripted-model <- activities <- workflows <- client, worker.
// Nothing imports from a layer above its own, not even a type.
// Determinism: workflow code is replayed from history, so it (and core/, which it shares) may only
// import the workflow SDK, core/ and other workflow modules; types from elsewhere are fine.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

const nonDeterministic = [
  { group: ['node:*'], message: 'Node built-ins are not deterministic; do this in an activity.' },
  {
    group: [
      'fs',
      'fs/*',
      'path',
      'os',
      'child_process',
      'crypto',
      'http',
      'https',
      'net',
      'dns',
      'timers',
      'worker_threads',
      'process',
    ],
    message: 'Node built-ins are not deterministic; do this in an activity.',
  },
  {
    group: ['dockerode', '@anthropic-ai/*', 'openai', 'pino', 'tar-*'],
    message: 'I/O libraries belong in activities.',
  },
  {
    group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing'],
    message: 'Workflow code may use @temporalio/workflow and @temporalio/common only.',
  },
];
/** Workflows call activities through proxyActivities: their types only. */
const activityValues = {
  group: ['../activities', '../activities/*'],
  message: 'Workflows call activities through proxyActivities; import their types only.',
  allowTypeImports: true,
};

/** Folders above each layer: importing from them, even a type, is an upward edge. */
const above = (...folders) =>
  folders.map((f) => ({
    group: [`../${f}`, `../${f}/*`, `../../${f}`, `../../${f}/*`],
    message: `${f}/ is a layer above this one (core <- runtime, datasets, scripted-model <- activities <- workflows <- client, worker).`,
    allowTypeImports: false,
  }));
const restrict = (patterns) => ({
  'no-restricted-imports': 'off',
  '@typescript-eslint/no-restricted-imports': ['error', { patterns }],
});
const deterministic = nonDeterministic.map((p) => ({ ...p, allowTypeImports: true }));
const SERVICE = ['activities', 'workflows', 'client', 'worker'];

export default tseslint.config(
  { ignores: ['node_modules/**', '.agentscale/**', 'dist/**', 'examples/**', 'tests/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['core/**/*.ts'],
    rules: restrict([...above('runtime', 'datasets', 'scripted-model', ...SERVICE), ...deterministic]),
  },
  {
    files: ['runtime/**/*.ts', 'datasets/**/*.ts', 'scripted-model/**/*.ts'],
    rules: restrict(above(...SERVICE)),
  },
  { files: ['activities/**/*.ts'], rules: restrict(above('workflows', 'client', 'worker')) },
  { files: ['workflows/**/*.ts'], rules: restrict([...above('client', 'worker'), ...deterministic, activityValues]) },
  {
    files: ['workflows/**/*.ts', 'core/**/*.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() in a loop from @temporalio/workflow.' },
        { name: 'process', message: 'Workflows have no process; pass values in the input.' },
      ],
    },
  },
);
