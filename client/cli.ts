// The `agentscale` command line. Each command that needs Temporal finds or starts the server,
// and by default runs a worker in-process, so one command does the whole job on one machine;
// with --no-worker it relies on workers started elsewhere (`agentscale worker`).
import { Command, InvalidArgumentError, Option } from 'commander';
import { reserveStdoutForJson } from './output';
import { VERSION } from './version';
import { loadConfig, ConfigError } from '../runtime/config';
import { SettingsError } from '../core/input';
import { DatasetError } from '../core/task';
import { log } from '../runtime/log';
import { runServerForeground, stopBackgroundServer } from '../runtime/temporal';
import { cancelCommand, listCommand, reportCommand, statusCommand, UsageError, watchCommand } from './control';
import { EXIT } from './exitCodes';
import { UnavailableError } from './preflight';
import { gcContainers } from './gc';
import { exportCommand } from './export';
import { regradeCommand } from './regrade';
import { searchAttributesCommand } from './searchAttributes';
import { selectionsCommand } from './selections';
import { compareCommand, OVERLAP, scheduleCommand, scheduleCreateCommand } from './schedule';
import { runCommand } from './run';
import { selectCommand } from './select';
import { validateCommand } from './validate';

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
};

const positiveIntList = (v: string) => v.split(',').map((x) => positiveInt(x.trim()));

const integer = (v: string) => {
  if (!/^\s*-?\d+\s*$/.test(v)) throw new InvalidArgumentError('expected an integer');
  return Number(v);
};

const positiveNumber = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
};

const probability = (v: string) => {
  const n = Number(v);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError('expected a number between 0 and 1');
  return n;
};

const atLeast = (min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer of at least ${min}`);
  return n;
};

/** The datasets argument and how tasks are chosen from them, for validate and run. */
function withDatasetOptions(cmd: Command): Command {
  return cmd
    .argument(
      '<datasets...>',
      'task folders, folders of task folders, or SWE-bench instance files (.json/.jsonl/.parquet)',
    )
    .option('--instances <ids>', 'only these task ids (comma-separated SWE-bench instance ids)')
    .option('--filter <regex>', 'only task ids matching this regular expression')
    .option(
      '--strict',
      'refuse the whole dataset when any task is unsupported or malformed (default: run the others, list those)',
    )
    .option(
      '--timeout-multiplier <x>',
      "multiplies every task's agent, verifier and build timeouts (Harbor's option)",
      positiveNumber,
    );
}

/** The method's options (strategy, N, T, K, G, V, context, judge input, seed), for run and schedule create. */
function withMethodOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--agent <kind>',
        'the agent for every task: bash (a fresh bash -lc per command) or terminal (keystrokes in a tmux session, after Terminus) (default: agent.byFormat: bash for SWE-bench, terminal for Terminal-Bench and Harbor)',
      ).choices(['bash', 'terminal']),
    )
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
    .option('--seed <n>', 'seed of grouping, random-K and tie breaks (default: scaling.seed)', integer)
    .option(
      '--max-cost <usd>',
      "the run's cost cap in dollars, all stages: no new rollouts past it, running ones finish (default: run.maxCostUsd)",
      positiveNumber,
    )
    .option(
      '--max-task-cost <usd>',
      "each task's cost cap in dollars, checked before each iteration (default: run.maxTaskCostUsd)",
      positiveNumber,
    )
    .option(
      '--batch',
      'rtv/pdr: summaries and judge votes through the Message Batches API, at half price (default: model.batch.enabled)',
    )
    .option('--no-batch', 'rtv/pdr: summaries and judge votes as direct calls');
}

const program = new Command()
  .name('agentscale')
  .description('Durable test-time scaling for coding agents, on Temporal and Docker')
  .version(VERSION, '--version', 'print the version')
  .option('-c, --config <file>', "config file (default: ./agentscale.yaml, then the project's)")
  .showHelpAfterError()
  .hook('preAction', (_program, action) => {
    if (action.opts<{ json?: boolean }>().json) reserveStdoutForJson();
  });

const config = () => loadConfig(program.opts<{ config?: string }>().config);

withDatasetOptions(
  program
    .command('validate')
    .description(
      "run each task's reference solution (oracle) and a do-nothing agent (null) through the hidden tests; a task is valid when the oracle passes and the null attempt fails",
    ),
)
  .option('--run-id <id>', 'run id (default: validate-<timestamp>); an existing run id attaches to that run')
  .option('--concurrency <n>', 'tasks validated at once (default: validate.concurrency from config)', positiveInt)
  .option('--detach', 'start and return: print the run id; workers started elsewhere (`agentscale worker`) do the work')
  .addOption(new Option('--no-worker', 'do not start an in-process worker; rely on `agentscale worker` processes'))
  .option('--json', 'print the results as JSON instead of a table')
  .action(async (datasets: string[], opts) => {
    const code = await validateCommand(config(), datasets, opts);
    process.exitCode = code;
  });

withDatasetOptions(
  withMethodOptions(
    program
      .command('run')
      .description(
        'run the agent on every task (strategy sample: N independent rollouts per task), each rollout evaluated with the hidden tests; the same --run-id continues a run',
      ),
  ),
)
  .option('--run-id <id>', 'run id (default: run-<timestamp>); an existing id attaches to or continues that run')
  .option(
    '--skip-image-check',
    'do not build the task images before starting (workers on other machines build them; default: build here first)',
  )
  .option('--concurrency <n>', 'tasks in flight (default: run.taskConcurrency from config)', positiveInt)
  .option('--detach', 'start and return: print the run id; workers started elsewhere (`agentscale worker`) do the work')
  .addOption(new Option('--no-worker', 'do not start an in-process worker; rely on `agentscale worker` processes'))
  .option('--json', 'print results.json instead of the table')
  .option(
    '--retry-errors',
    'with --run-id of a stopped or finished run: run again its rollouts that ended in ModelError or SandboxError (only those)',
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
  .option('--seed <n>', 'seed of grouping and tie breaks (default: scaling.seed)', integer)
  .addOption(new Option('--judge-input <what>', 'what the judge compares').choices(['summaries', 'trajectories']))
  .option(
    '--sizes <list>',
    'scaling curve: also play the final tournament on sub-samples of these sizes of the last iteration (e.g. 2,4,8)',
    positiveIntList,
  )
  .option('--repeats <n>', 'draws per size for --sizes (default 3)', positiveInt)
  .option(
    '--ks <list>',
    'Sel-K against K: also narrow each iteration to each of these K (e.g. 1,2,4,8) and report the pass rate of those kept',
    positiveIntList,
  )
  .option('--concurrency <n>', 'tasks at once (default: run.taskConcurrency)', positiveInt)
  .addOption(new Option('--no-worker', 'do not start an in-process worker'))
  .option('--json', 'print results.json instead of the table')
  .action(async (opts) => {
    process.exitCode = await selectCommand(config(), opts);
  });

const schedule = program
  .command('schedule')
  .description('nightly (cron) or periodic evaluations on Temporal Schedules, each run compared with the previous one');

withMethodOptions(
  schedule
    .command('create')
    .description("freeze the datasets' tasks and the run settings into a schedule that starts a run at each tick")
    .argument('<datasets...>', 'task folders, folders of task folders, or SWE-bench instance files'),
)
  .requiredOption('--id <id>', "the schedule id (also the prefix of its runs' ids)")
  .option('--instances <ids>', 'only these task ids (comma-separated SWE-bench instance ids)')
  .option('--filter <regex>', 'only task ids matching this regular expression')
  .option('--cron <expr>', 'when, as a cron expression (e.g. "0 2 * * *" for 02:00 every night)')
  .option('--every <interval>', 'or how often, e.g. 24h, 30m')
  .option('--timezone <tz>', 'time zone of --cron (e.g. Europe/Paris; default UTC)')
  .addOption(
    new Option('--overlap <policy>', 'when a tick finds the previous run still going (default: skip)').choices(
      Object.keys(OVERLAP),
    ),
  )
  .option('--catchup-window <duration>', 'how late a tick missed during an outage may still run (default 1h)')
  .option('--concurrency <n>', 'tasks in flight per run (default: run.taskConcurrency)', positiveInt)
  .option('--paused', 'create it paused')
  .action(async (datasets: string[], opts) => {
    process.exitCode = await scheduleCreateCommand(config(), datasets, opts);
  });

for (const [action, what] of [
  ['list', 'the schedules on this server'],
  ['describe', "a schedule's spec, policies, next ticks and runs so far"],
  ['pause', 'stop ticking (runs in flight go on)'],
  ['unpause', 'tick again'],
  ['trigger', 'start a run now'],
  ['delete', 'delete the schedule (its runs and folder stay)'],
] as const) {
  schedule
    .command(action)
    .description(what)
    .argument(action === 'list' ? '[id]' : '<id>')
    .option('--json', 'print as JSON')
    .action(async (id: string | undefined, opts: { json?: boolean }) => {
      process.exitCode = await scheduleCommand(config(), action, id, opts);
    });
}

program
  .command('compare')
  .description(
    'two finished runs on the tasks both ran: newly passing and failing tasks, pass rate and cost change, and whether the change is significant (exact McNemar)',
  )
  .argument('<previous>', 'the earlier run id')
  .argument('<current>', 'the later run id')
  .option('--level <p>', 'significance level of the verdict (default: report.regressionLevel, 0.05)', probability)
  .option('--json', 'print as JSON')
  .action((previous: string, current: string, opts: { json?: boolean; level?: number }) => {
    process.exitCode = compareCommand(config(), previous, current, opts);
  });

program
  .command('status')
  .description('where a run or validation stands: tasks and rollouts done, pass rate and cost so far, ETA')
  .argument('<run-id>')
  .option('--json', 'print it as JSON')
  .action(async (runId: string, opts) => {
    process.exitCode = await statusCommand(config(), runId, opts);
  });

program
  .command('watch')
  .description('follow a run or validation until it ends (a progress bar on a terminal), then print its report')
  .argument('<run-id>')
  .option('--interval <sec>', 'seconds between updates (default: 2 on a terminal, 10 otherwise)', positiveInt)
  .action(async (runId: string, opts: { interval?: number }) => {
    process.exitCode = await watchCommand(config(), runId, { intervalSec: opts.interval });
  });

program
  .command('list')
  .description('recent runs, validations and selections on this Temporal server')
  .option('--limit <n>', 'how many (default 20)', positiveInt)
  .option('--json', 'print them as JSON')
  .action(async (opts) => {
    process.exitCode = await listCommand(config(), opts);
  });

program
  .command('cancel')
  .description('cancel a run or validation: nothing new starts, work in flight is cancelled, its containers removed')
  .argument('<run-id>')
  .option('--json', 'print the outcome as JSON')
  .action(async (runId: string, opts) => {
    process.exitCode = await cancelCommand(config(), runId, opts);
  });

program
  .command('report')
  .description("print a finished run's report (results.md; --json: results.json)")
  .argument('<run-id>')
  .option('--json', 'print results.json')
  .action((runId: string, opts) => {
    process.exitCode = reportCommand(config(), runId, opts);
  });

program
  .command('selections')
  .description(
    "the run's own selection and every `select` replay on it, side by side: Final, selection efficiency and judge accuracy with intervals, judge cost",
  )
  .argument('<run-id>')
  .option('--json', 'print the rows as JSON')
  .action((runId: string, opts: { json?: boolean }) => {
    process.exitCode = selectionsCommand(config(), runId, opts);
  });

program
  .command('regrade')
  .description(
    "evaluate every stored rollout of a finished run again with today's grader (and the tasks' tests as read from DATASETS when given), without a model call; the verdicts that changed and the report from the new verdicts go to <run>/regrades/<id>/",
  )
  .argument('<run-id>', 'the finished run')
  .argument('[datasets...]', "the run's tasks read again (e.g. with fixed tests); default: as stored with the run")
  .option('--regrade-id <id>', 'names this regrade (default: regrade-<timestamp>); the same id resumes it')
  .option('--concurrency <n>', 'rollouts evaluated at once (default: validate.concurrency)', positiveInt)
  .addOption(new Option('--no-worker', 'do not start an in-process worker'))
  .option('--json', 'print the changes and the new report as JSON')
  .action(async (runId: string, datasets: string[], opts) => {
    process.exitCode = await regradeCommand(config(), runId, datasets, opts);
  });

program
  .command('export')
  .description(
    'every finished rollout of a run as JSON lines (task, iteration, outcome, reward, cost, tokens, the conversation as chat messages); see docs/export.md',
  )
  .argument('<run-id>')
  .option('-o, --out <file>', 'write to this file (default: stdout)')
  .option('--passed-only', 'only rollouts whose hidden tests passed')
  .option('--iteration <i>', 'only rollouts of this iteration (0 is the first)', atLeast(0))
  .option('--task <id...>', 'only these tasks')
  .action(async (runId: string, opts: { out?: string; passedOnly?: boolean; iteration?: number; task?: string[] }) => {
    process.exitCode = await exportCommand(config(), runId, {
      out: opts.out,
      passedOnly: opts.passedOnly,
      iteration: opts.iteration,
      taskIds: opts.task,
    });
  });

program
  .command('search-attributes')
  .description(
    "register the search attributes runs set (the Temporal UI's filters) on the configured namespace, or print the commands that do where the server refuses (Temporal Cloud)",
  )
  .option('--json', 'print the outcome as JSON')
  .action(async (opts: { json?: boolean }) => {
    process.exitCode = await searchAttributesCommand(config(), opts);
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
      console.log(stopBackgroundServer(cfg).message);
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
  if (e instanceof UnavailableError) {
    console.error(e.message);
    process.exitCode = EXIT.unavailable;
  } else if (
    e instanceof DatasetError ||
    e instanceof ConfigError ||
    e instanceof SettingsError ||
    e instanceof UsageError
  ) {
    console.error(e.message);
    process.exitCode = EXIT.usage;
  } else {
    console.error(`error: ${(e as Error).message}`);
    log.debug({ err: e }, 'stack');
    process.exitCode = EXIT.error;
  }
}
// Open handles (gRPC channels, docker sockets) must not keep a finished command alive.
setTimeout(() => process.exit(), 100).unref();
