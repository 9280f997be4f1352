/** Injected into the browser bundle wherever `Buffer` or `process` is used as a free variable. */
import { Buffer } from 'buffer';

const startedAt = performance.now();

export const process = {
  env: {} as Record<string, string | undefined>,
  pid: 1,
  platform: 'browser',
  version: 'v20.0.0',
  versions: {} as Record<string, string>,
  argv: [] as string[],
  cwd: (): string => '/',
  nextTick: (fn: (...args: unknown[]) => void, ...args: unknown[]): void => queueMicrotask(() => fn(...args)),
  hrtime: Object.assign(
    (prev?: [number, number]): [number, number] => {
      const ns = Math.round((performance.now() - startedAt) * 1e6);
      const now: [number, number] = [Math.floor(ns / 1e9), ns % 1e9];
      return prev === undefined ? now : [now[0] - prev[0], now[1] - prev[1]];
    },
    { bigint: (): bigint => BigInt(Math.round((performance.now() - startedAt) * 1e6)) },
  ),
  memoryUsage: () => ({ rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 }),
  uptime: (): number => (performance.now() - startedAt) / 1000,
  on: (): void => undefined,
  once: (): void => undefined,
  off: (): void => undefined,
  emitWarning: (): void => undefined,
  stdout: { write: (s: string): boolean => (console.log(s), true), isTTY: false },
  stderr: { write: (s: string): boolean => (console.error(s), true), isTTY: false },
};

export { Buffer };

export function setImmediate(fn: (...args: unknown[]) => void, ...args: unknown[]): ReturnType<typeof setTimeout> {
  return setTimeout(fn, 0, ...args);
}

export function clearImmediate(handle: ReturnType<typeof setTimeout>): void {
  clearTimeout(handle);
}
