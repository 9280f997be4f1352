/** `node:os` for the browser bundle. */
export function availableParallelism(): number {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return n !== undefined && n > 0 ? n : 1;
}

export function cpus(): { model: string }[] {
  return Array.from({ length: availableParallelism() }, () => ({ model: 'browser' }));
}

export const EOL = '\n';
export const homedir = (): string => '/home';
export const tmpdir = (): string => '/tmp';
export const hostname = (): string => 'browser';
export const platform = (): string => 'browser';
export const totalmem = (): number => 0;
export const freemem = (): number => 0;
export default { availableParallelism, cpus, EOL, homedir, tmpdir, hostname, platform, totalmem, freemem };
