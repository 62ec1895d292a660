// The bundled local model for trying agentscale without an API key: the Messages-API test double
// (messagesApi.ts) answering as a scripted agent, summariser and judge on the bundled examples.
// It demonstrates the pipeline; its "results" say nothing about any model.
//   node --import tsx/esm scripted-model/main.ts [--port N] [--latency-ms N] [DATASETS...]
// prints its base URL and runs until killed. DATASETS: more tasks it should know (task folders,
// folders of them, instance files), besides the bundled examples; it plays the bash agent or the
// terminal agent, whichever prompt it is sent.
import { loadDatasets } from '../datasets';
import { PROJECT_ROOT } from '../runtime/config';
import { startMessagesApiDouble } from './messagesApi';
import { scriptedAgent, type Behaviour } from './scriptedAgent';

const flag = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : undefined;
};
const extra = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
const tasks = await loadDatasets([
  ...['harbor', 'terminal-bench', 'swebench/instances.jsonl'].map((d) => `${PROJECT_ROOT}/examples/${d}`),
  ...extra,
]);
// One rollout in four solves its task, so selection has something to find.
// The interactive example is solved by answering its questions at the terminal.
const behaviours = Object.fromEntries(
  tasks.map((t) => [
    t.id,
    ['giveUp', t.id === 'quiz' ? 'interact' : 'solve', 'giveUp', 'giveUp'] satisfies Behaviour[],
  ]),
);
const double = await startMessagesApiDouble({
  port: flag('--port'),
  latencyMs: flag('--latency-ms') ?? 20,
  reply: scriptedAgent(tasks, behaviours).reply,
});
console.log(double.baseUrl.anthropic);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => void double.close().then(() => process.exit(0)));
