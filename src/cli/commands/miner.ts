import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { EmbeddedChainClient } from '../../chain/embedded/index.ts';
import { isAdversaryKind, ADVERSARY_KINDS } from '../../miner/adversary.ts';
import { Miner } from '../../miner/miner.ts';
import { loadNetworkConfig, type NetworkConfig } from '../../miner/node/config.ts';
import { JsonlEvents } from '../../miner/node/events.ts';

export interface NodeCliOptions {
  runDir: string;
  name: string;
  chainUrl?: string;
  storeRoot?: string;
  untilWindow?: string;
}

/** network.json of the run directory, with command-line overrides. */
export function nodeNetworkConfig(o: NodeCliOptions): NetworkConfig {
  const net = loadNetworkConfig(join(resolve(o.runDir), 'network.json'));
  return { ...net, chainUrl: o.chainUrl ?? net.chainUrl, storeRoot: o.storeRoot ?? net.storeRoot };
}

/** SIGINT/SIGTERM stop the node cleanly (state is saved after every window). */
export function stopOnSignals(node: { stop(): void }): void {
  const onSignal = () => node.stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

export function register(program: Command): void {
  program
    .command('miner')
    .description('run a miner of a local network (train, compress, upload, follow the aggregator manifests)')
    .requiredOption('--run-dir <dir>', 'network run directory (holds network.json)')
    .requiredOption('--name <name>', 'dev key name of this node (hotkey <name>-hot), e.g. miner-0')
    .option('--chain-url <url>', 'chain endpoint (default: network.json)')
    .option('--store-root <dir>', 'filesystem store root (default: network.json)')
    .option('--adversary <kind>', `dishonest behaviour: ${ADVERSARY_KINDS.join(', ')}`)
    .option('--until-window <w>', 'exit after uploading this window')
    .action(async (o: NodeCliOptions & { adversary?: string }) => {
      if (o.adversary !== undefined && !isAdversaryKind(o.adversary)) throw new Error(`unknown adversary kind ${o.adversary}`);
      const net = nodeNetworkConfig(o);
      const nodeDir = join(resolve(o.runDir), 'nodes', o.name);
      const chain = new EmbeddedChainClient({ url: net.chainUrl, netuid: net.netuid, timeoutMs: 30_000 });
      const miner = new Miner({
        net,
        chain,
        name: o.name,
        nodeDir,
        events: new JsonlEvents(nodeDir, o.name),
        adversary: o.adversary,
        untilWindow: o.untilWindow === undefined ? undefined : Number(o.untilWindow),
      });
      stopOnSignals(miner);
      await miner.run();
    });
}
