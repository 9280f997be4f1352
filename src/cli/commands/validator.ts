import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { EmbeddedChainClient } from '../../chain/embedded/index.ts';
import { JsonlEvents } from '../../miner/node/events.ts';
import { Validator } from '../../validator/validator.ts';
import { nodeNetworkConfig, stopOnSignals, type NodeCliOptions } from './miner.ts';

export function register(program: Command): void {
  program
    .command('validator')
    .description('run a validator of a local network (gather, check, aggregate, evaluate, score, set weights)')
    .requiredOption('--run-dir <dir>', 'network run directory (holds network.json)')
    .requiredOption('--name <name>', 'dev key name of this node (hotkey <name>-hot), e.g. validator-0')
    .option('--chain-url <url>', 'chain endpoint (default: network.json)')
    .option('--store-root <dir>', 'filesystem store root (default: network.json)')
    .option('--until-window <w>', 'exit after processing this window')
    .action(async (o: NodeCliOptions) => {
      const net = nodeNetworkConfig(o);
      const nodeDir = join(resolve(o.runDir), 'nodes', o.name);
      const chain = new EmbeddedChainClient({ url: net.chainUrl, netuid: net.netuid, timeoutMs: 30_000 });
      const validator = new Validator({
        net,
        chain,
        name: o.name,
        nodeDir,
        events: new JsonlEvents(nodeDir, o.name),
        untilWindow: o.untilWindow === undefined ? undefined : Number(o.untilWindow),
      });
      stopOnSignals(validator);
      await validator.run();
    });
}
