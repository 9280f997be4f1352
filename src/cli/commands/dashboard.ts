import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { EmbeddedChainClient } from '../../chain/embedded/index.ts';
import { isEmbeddedChainUrl, loadRunNetworkConfig } from '../../node/config/network.ts';
import { DashboardError, startDashboard } from '../../dashboard/server.ts';
import type { MetagraphSource } from '../../obs/run-follower.ts';

export const DEFAULT_DASHBOARD_PORT = 7070;

/** The embedded chain of a run (from its network.json), for stake, incentive and emission; null when there is none. */
export function runChain(runDir: string): MetagraphSource | null {
  const net = loadRunNetworkConfig(runDir);
  if (net === null || !isEmbeddedChainUrl(net.chainUrl)) return null;
  return new EmbeddedChainClient({ url: net.chainUrl, netuid: net.netuid, timeoutMs: 3_000 });
}

export function parsePort(v: string, flag: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new DashboardError('BadPort', `${flag} must be a port number (0 = any free port), got ${JSON.stringify(v)}`);
  return n;
}

export function register(program: Command): void {
  program
    .command('dashboard')
    .description('live web dashboard of a local network run (running or finished): loss, scores, ratings, weights, uploads, flags')
    .requiredOption('--run-dir <dir>', 'run directory of `tessera net up` (or of one node)')
    .option('--port <port>', 'HTTP port (0 = any free port)', String(DEFAULT_DASHBOARD_PORT))
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--no-chain', 'do not read stake, incentive and emission from the run\'s chain')
    .action(async (o: { runDir: string; port: string; host: string; chain: boolean }) => {
      let d;
      try {
        if (!existsSync(resolve(o.runDir))) throw new DashboardError('NoRunDir', `no run directory ${resolve(o.runDir)}`);
        d = await startDashboard({ runDir: o.runDir, port: parsePort(o.port, '--port'), host: o.host, chain: o.chain ? runChain(o.runDir) : null });
      } catch (err) {
        if (!(err instanceof DashboardError)) throw err;
        process.stderr.write(`tessera: ${err.name} (${err.code}): ${err.message}\n`);
        process.exitCode = 1;
        return;
      }
      const dashboard = d;
      process.stdout.write(`tessera dashboard: ${dashboard.url} (following ${dashboard.follower.runDir}; Ctrl-C to stop)\n`);
      const stop = () => void dashboard.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
