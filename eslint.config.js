// Lint: typescript-eslint's recommended rules everywhere, plus the rule that keeps workflow code
// deterministic. Workflow code is replayed from history, so it may only import the workflow SDK,
// the pure domain folder (core/) and other workflow modules; types from elsewhere are fine.
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
  {
    group: ['../activities', '../activities/*', '../client/*', '../worker'],
    message: 'Workflows call activities through proxyActivities; import their types only.',
  },
];

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
    files: ['workflows/**/*.ts', 'core/**/*.ts'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: nonDeterministic.map((p) => ({ ...p, allowTypeImports: true })),
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() in a loop from @temporalio/workflow.' },
        { name: 'process', message: 'Workflows have no process; pass values in the input.' },
      ],
    },
  },
);
