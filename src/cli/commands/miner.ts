import type { Command } from 'commander';
import { adversaryPolicy, isAdversaryKind, ADVERSARY_KINDS } from '../../net/adversaries.ts';
import { Miner } from '../../miner/miner.ts';
import { slowedPolicy } from '../../miner/slowed-policy.ts';
import { parseNumberFlag } from '../../node/config/flags.ts';
import { startNodeTelemetry, telemetryOptions, type TelemetryCliOptions } from '../node-telemetry.ts';
import { addNodeOptions, runNode, type NodeCliOptions } from './node-options.ts';

export type { NodeCliOptions } from './node-options.ts';

/** SIGINT/SIGTERM stop the node cleanly (state is saved after every window). */
export function stopOnSignals(node: { stop(): void }): void {
  const onSignal = () => node.stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

export function register(program: Command): void {
  telemetryOptions(addNodeOptions(
    program
      .command('miner')
      .description('run a miner (train, compress, upload, follow the aggregator manifests) on a local network or on real backends'),
  ))
    .option('--adversary <kind>', `dishonest behaviour: ${ADVERSARY_KINDS.join(', ')}`)
    .option('--until-window <w>', 'exit after uploading this window')
    .option('--speed-factor <f>', 'a slowed honest miner (local networks): trains ⌈f·H⌉ of the H inner steps, f in (0, 1]')
    .action(async (o: NodeCliOptions & TelemetryCliOptions & { adversary?: string; speedFactor?: string }) => {
      if (o.adversary !== undefined && !isAdversaryKind(o.adversary)) throw new Error(`unknown adversary kind ${o.adversary}`);
      if (o.adversary !== undefined && o.speedFactor !== undefined) throw new Error('--adversary and --speed-factor exclude each other');
      const policy = o.adversary !== undefined ? adversaryPolicy(o.adversary) : o.speedFactor !== undefined ? slowedPolicy(parseNumberFlag('--speed-factor', o.speedFactor, 0, 1)) : undefined;
      await runNode(o, async ({ net, chain, backend, nodeDir, data }) => {
        const miner = new Miner({
          net,
          chain,
          name: o.name,
          nodeDir,
          events: await startNodeTelemetry(nodeDir, o.name, 'miner', o),
          policy,
          untilWindow: o.untilWindow === undefined ? undefined : Number(o.untilWindow),
          backend,
          data,
        });
        stopOnSignals(miner);
        await miner.run();
      });
    });
}
