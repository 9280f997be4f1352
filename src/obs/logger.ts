/**
 * Structured logs of a node: pino JSON lines on stdout (a node under `net up` writes stdout to `node.log`), or
 * pino-pretty's readable lines when asked (`--log-pretty`) or when stdout is a terminal. Writes are synchronous so
 * the last lines before an exit are not lost.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Node name, added to every line as `node`. */
  readonly node: string;
  /** Readable lines instead of JSON (default: when stdout is a TTY). */
  readonly pretty?: boolean;
  readonly level?: string;
  /** Where lines go (default: stdout, fd 1). */
  readonly fd?: number;
}

export function createLogger(o: LoggerOptions): Logger {
  const fd = o.fd ?? 1;
  const usePretty = o.pretty ?? (fd === 1 && process.stdout.isTTY === true);
  const opts = { level: o.level ?? 'info', base: { node: o.node } };
  if (usePretty) return pino(opts, pretty({ destination: fd, sync: true, colorize: fd === 1 && process.stdout.isTTY === true, ignore: 'pid,hostname' }));
  return pino(opts, pino.destination({ dest: fd, sync: true }));
}
