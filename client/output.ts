// What the CLI prints. With --json, stdout carries the JSON alone: whatever else would reach it
// (a library's console.log, console.info or console.warn, an SDK's notices) goes to stderr.
import { format } from 'node:util';

const toStderr = (...args: unknown[]) => void process.stderr.write(`${format(...args)}\n`);

/** From here on, console output other than printJson goes to stderr. */
export function reserveStdoutForJson(): void {
  console.log = toStderr;
  console.info = toStderr;
  console.warn = toStderr;
  console.debug = toStderr;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
