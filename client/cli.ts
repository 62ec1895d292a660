// The `agentscale` command line. Each command that needs Temporal finds or starts the server,
// and by default runs a worker in-process, so one command does the whole job on one machine;
// with --no-worker it relies on workers started elsewhere (`agentscale worker`).
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig, ConfigError } from '../runtime/config';
import { DatasetError } from '../core/task';
import { log } from '../runtime/log';
import { runServerForeground, stopBackgroundServer } from '../runtime/temporal';
import { gcContainers } from './gc';
import { runCommand } from './run';
import { selectCommand } from './select';
import { validateCommand } from './validate';

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
};

const positiveNumber = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
};

const atLeast = (min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer of at least ${min}`);
  return n;
};

const program = new Command()
  .name('agentscale')
  .description('Durable test-time scaling for coding agents, on Temporal and Docker')
  .option('-c, --config <file>', "config file (default: ./agentscale.yaml, then the project's)")
  .showHelpAfterError();

const config = () => loadConfig(program.opts<{ config?: string }>().config);

program
  .command('validate')
  .description(
    "run each task's reference solution (oracle) and a do-nothing agent (null) through the hidden tests; a task is valid when the oracle passes and the null attempt fails",
  )
  .argument('<datasets...>', 'task folders, folders of task folders, or SWE-bench instance files (.json/.jsonl)')
  .option('--run-id <id>', 'run id (default: validate-<timestamp>); an existing run id attaches to that run')
  .option('--concurrency <n>', 'tasks validated at once (default: validate.concurrency from config)', positiveInt)
  .addOption(new Option('--no-worker', 'do not start an in-process worker; rely on `agentscale worker` processes'))
  .option('--json', 'print the results as JSON instead of a table')
  .option(
    '--strict',
    'refuse the whole dataset when any task is unsupported or malformed (default: run the others, list those)',
  )
  .option(
    '--timeout-multiplier <x>',
    "multiplies every task's agent, verifier and build timeouts (Harbor's option)",
    positiveNumber,
  )
  .action(async (datasets: string[], opts) => {
    const code = await validateCommand(config(), datasets, opts);
    process.exitCode = code;
  });

program
  .command('run')
  .description(
    'run the agent on every task (strategy sample: N independent rollouts per task), each rollout evaluated with the hidden tests; the same --run-id continues a run',
  )
  .argument('<datasets...>', 'task folders, folders of task folders, or SWE-bench instance files (.json/.jsonl)')
  .option('--run-id <id>', 'run id (default: run-<timestamp>); an existing id attaches to or continues that run')
  .addOption(
    new Option(
      '--strategy <name>',
      'sample: N independent rollouts; rtv: N rollouts then Recursive Tournament Voting to one; pdr: Parallel-Distill-Refine',
    )
      .choices(['sample', 'rtv', 'pdr'])
      .default('sample'),
  )
  .option('-n, --n <n>', 'rollouts per task (per iteration for rtv/pdr; default: run.n, scaling.n)', positiveInt)
  .option('-T, --iterations <t>', 'pdr: iterations (default: scaling.iterations, 2)', positiveInt)
  .option('-k, --k <k>', 'pdr: summaries carried forward (default: scaling.k, 4)', positiveInt)
  .option('-G, --group-size <g>', 'tournament group size (default: scaling.groupSize, 2)', atLeast(2))
  .option('-V, --votes <v>', 'judge votes per group (default: scaling.votes, 8)', positiveInt)
  .addOption(
    new Option('--context <mode>', 'pdr: what new rollouts are given (default: scaling.context, select-K)').choices([
      'select-K',
      'random-K',
      'own',
      'none',
    ]),
  )
  .addOption(
    new Option('--judge-input <what>', 'what the judge compares (default: scaling.judgeInput, summaries)').choices([
      'summaries',
      'trajectories',
    ]),
  )
  .option('--seed <n>', 'seed of grouping, random-K and tie breaks (default: scaling.seed)', (v) =>
    Number.parseInt(v, 10),
  )
  .option('--concurrency <n>', 'tasks in flight (default: run.taskConcurrency from config)', positiveInt)
  .addOption(new Option('--no-worker', 'do not start an in-process worker; rely on `agentscale worker` processes'))
  .option('--json', 'print results.json instead of the table')
  .option(
    '--strict',
    'refuse the whole dataset when any task is unsupported or malformed (default: run the others, list those)',
  )
  .option(
    '--timeout-multiplier <x>',
    "multiplies every task's agent, verifier and build timeouts (Harbor's option)",
    positiveNumber,
  )
  .action(async (datasets: string[], opts) => {
    process.exitCode = await runCommand(config(), datasets, opts);
  });

program
  .command('select')
  .description(
    'play the tournaments of a finished run again with other G, V, seed or judge input, on its stored summaries: no new rollouts',
  )
  .requiredOption('--run-id <id>', 'the finished run')
  .option('--select-id <id>', 'names this selection (default: select-<timestamp>); written to <run>/selections/<id>/')
  .option('-G, --group-size <g>', 'tournament group size (default: scaling.groupSize)', atLeast(2))
  .option('-V, --votes <v>', 'judge votes per group (default: scaling.votes)', positiveInt)
  .option('--seed <n>', 'seed of grouping and tie breaks (default: scaling.seed)', (v) => Number.parseInt(v, 10))
  .addOption(new Option('--judge-input <what>', 'what the judge compares').choices(['summaries', 'trajectories']))
  .option('--concurrency <n>', 'tasks at once (default: run.taskConcurrency)', positiveInt)
  .addOption(new Option('--no-worker', 'do not start an in-process worker'))
  .option('--json', 'print results.json instead of the table')
  .action(async (opts) => {
    process.exitCode = await selectCommand(config(), opts);
  });

program
  .command('worker')
  .description('run a worker (workflows and activities) until SIGINT/SIGTERM')
  .action(async () => {
    const { serveWorker } = await import('../worker');
    await serveWorker(config());
  });

program
  .command('server')
  .description('run the embedded Temporal dev server in the foreground (Web UI on the configured ui port)')
  .option('--stop', 'stop a dev server that an earlier command started in the background')
  .action(async (opts: { stop?: boolean }) => {
    const cfg = config();
    if (opts.stop) {
      console.log(
        stopBackgroundServer(cfg) ? 'stopped the background dev server' : 'no background dev server recorded',
      );
      return;
    }
    process.exitCode = await runServerForeground(cfg);
  });

program
  .command('gc')
  .description('remove containers of runs that are no longer running (left by crashes)')
  .option('--dry-run', 'list what would be removed')
  .option(
    '--all',
    'judge every agentscale container, also those of runs on other Temporal servers (they count as not found)',
  )
  .action(async (opts: { dryRun?: boolean; all?: boolean }) => {
    const removed = await gcContainers(config(), { dryRun: !!opts.dryRun, all: !!opts.all });
    for (const c of removed)
      console.log(`${opts.dryRun ? 'would remove' : 'removed'} ${c.name} (run ${c.run ?? '?'}: ${c.why})`);
    console.log(
      `${removed.length} container${removed.length === 1 ? '' : 's'} ${opts.dryRun ? 'to remove' : 'removed'}`,
    );
  });

try {
  await program.parseAsync();
} catch (e) {
  if (e instanceof DatasetError || e instanceof ConfigError) {
    console.error(e.message);
    process.exitCode = 2;
  } else {
    console.error(`error: ${(e as Error).message}`);
    log.debug({ err: e }, 'stack');
    process.exitCode = 1;
  }
}
// Open handles (gRPC channels, docker sockets) must not keep a finished command alive.
setTimeout(() => process.exit(), 100).unref();
