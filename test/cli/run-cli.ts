import { execFile } from 'node:child_process';

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `node <argv>` as a child process and resolves with its exit status and output (as spawnSync would give them).
 * Asynchronous, so that independent invocations run side by side: each one spends seconds loading modules on one core.
 */
export function runNode(argv: readonly string[], o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { encoding: 'utf8', timeout: o.timeoutMs ?? 120_000, env: o.env ?? process.env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const status = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ status, stdout, stderr });
    });
  });
}
