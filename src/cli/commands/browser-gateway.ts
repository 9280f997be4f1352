import { resolve } from 'node:path';
import type { Command } from 'commander';
import { startBrowserGateway, type BrowserGateway } from '../../browser/gateway.ts';
import { isEmbeddedChainUrl, loadRunNetworkConfig, type NetworkConfig } from '../../node/config/network.ts';
import { NodeConfigError } from '../../node/config/errors.ts';
import { parsePort } from './dashboard.ts';

export const DEFAULT_BROWSER_PORT = 7080;

/** Starts the gateway for a network, printing where to point a browser. */
export async function serveBrowserMiners(net: NetworkConfig, runDir: string, port: number, host = '127.0.0.1'): Promise<BrowserGateway> {
  const gateway = await startBrowserGateway({ net, runDir, port, host });
  process.stdout.write(`tessera: browser miners join at ${gateway.url} (miner bundle ${(gateway.bundleBytes / 1024).toFixed(0)} KiB)\n`);
  return gateway;
}

export function register(program: Command): void {
  program
    .command('browser-gateway')
    .description('serve the browser miner page for a local network run: a tab that opens it trains, uploads and is paid like any miner')
    .requiredOption('--run-dir <dir>', 'run directory of `tessera net up` (its network.json names the chain and the store)')
    .option('--port <port>', 'HTTP port (0 = any free port)', String(DEFAULT_BROWSER_PORT))
    .option('--host <host>', 'listen address', '127.0.0.1')
    .action(async (o: { runDir: string; port: string; host: string }) => {
      const net = loadRunNetworkConfig(o.runDir);
      if (net === null) throw new NodeConfigError('MissingField', `no network.json in ${resolve(o.runDir)} (start the network with \`tessera net up\` first)`);
      if (!isEmbeddedChainUrl(net.chainUrl)) throw new NodeConfigError('Incompatible', `the run's chain ${net.chainUrl} is not an embedded chain; browser miners join local networks`);
      const gateway = await serveBrowserMiners(net, o.runDir, parsePort(o.port, '--port'), o.host);
      const stop = () => void gateway.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
