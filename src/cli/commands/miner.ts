import type { Command } from 'commander';
import { adversaryPolicy, isAdversaryKind, ADVERSARY_KINDS } from '../../net/adversaries.ts';
import { Miner } from '../../miner/miner.ts';
import { parseSpeedFlag } from '../../node/config/flags.ts';
import { COMPUTE_KINDS, isComputeKind } from '../../miner/inner-device.ts';
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
    .option('--speed <fraction>', 'testing peers of different speed: train like hardware this fraction as fast as one that just fits the window\'s inner steps (steps are padded by sleeping; the step budget cuts the window honestly and the upload states the samples trained)')
    .option('--backend <kind>', `where the inner steps run: ${COMPUTE_KINDS.join(', ')} (webgpu falls back to wasm, saying why, when no adapter is found)`, 'wasm')
    .action(async (o: NodeCliOptions & TelemetryCliOptions & { adversary?: string; speed?: string; backend: string }) => {
      if (o.adversary !== undefined && !isAdversaryKind(o.adversary)) throw new Error(`unknown adversary kind ${o.adversary}`);
      const speed = o.speed === undefined ? undefined : parseSpeedFlag('--speed', o.speed);
      const compute = o.backend;
      if (!isComputeKind(compute)) throw new Error(`--backend: unknown compute backend ${compute} (one of ${COMPUTE_KINDS.join(', ')})`);
      const policy = o.adversary === undefined ? undefined : adversaryPolicy(o.adversary);
      await runNode(o, async ({ net, chain, backend, nodeDir, data }) => {
        const miner = new Miner({
          net,
          chain,
          name: o.name,
          nodeDir,
          events: await startNodeTelemetry(nodeDir, o.name, 'miner', o),
          policy,
          untilWindow: o.untilWindow === undefined ? undefined : Number(o.untilWindow),
          speed,
          backend,
          data,
          compute,
        });
        stopOnSignals(miner);
        await miner.run();
      });
    });
}
