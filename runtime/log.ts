// One structured logger for worker, activities and CLI. Logs go to stderr so the CLI's stdout
// stays the result (tables, JSON). LOG_LEVEL sets the level (default info; tests use warn);
// LOG_FORMAT=json keeps pino's JSON lines for log collectors, else lines read like
// `12:00:01 WARN  message key=value`.
import pino from 'pino';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
// The SDK's bookkeeping fields make lines long without helping a reader; LOG_FORMAT=json keeps them.
const OMIT = new Set([
  'level',
  'time',
  'msg',
  'pid',
  'hostname',
  'taskToken',
  'sdkComponent',
  'isLocal',
  'namespace',
  'taskQueue',
  'workflowRunId',
]);

/** pino writes JSON lines; this turns each into one readable line. */
const readable = {
  write(line: string) {
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      const time = new Date(o.time as number).toISOString().slice(11, 19);
      const fields = Object.entries(o)
        .filter(([k]) => !OMIT.has(k))
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      process.stderr.write(
        `${time} ${LEVELS[o.level as number] ?? o.level} ${o.msg ?? ''}${fields ? ` ${fields}` : ''}\n`,
      );
    } catch {
      process.stderr.write(line);
    }
  },
};

export const log = pino(
  { level: process.env.LOG_LEVEL ?? 'info', base: undefined, redact: ['*.apiKey', '*.api_key', 'apiKey'] },
  process.env.LOG_FORMAT === 'json' ? pino.destination(2) : readable,
);
