import type { Command } from 'commander';
import { startNodeTelemetry, telemetryOptions, type TelemetryCliOptions } from '../node-telemetry.ts';
import { Validator } from '../../validator/validator.ts';
import { stopOnSignals } from './miner.ts';
import { addNodeOptions, runNode, type NodeCliOptions } from './node-options.ts';

export function register(program: Command): void {
  telemetryOptions(addNodeOptions(
    program
      .command('validator')
      .description('run a validator (gather, check, aggregate, evaluate, score, set weights) on a local network or on real backends'),
  ))
    .option('--until-window <w>', 'exit after processing this window')
    .action(async (o: NodeCliOptions & TelemetryCliOptions) => {
      await runNode(o, async ({ net, chain, backend, nodeDir, data }) => {
        const validator = new Validator({
          net,
          chain,
          name: o.name,
          nodeDir,
          events: await startNodeTelemetry(nodeDir, o.name, 'validator', o),
          untilWindow: o.untilWindow === undefined ? undefined : Number(o.untilWindow),
          backend,
          data,
        });
        stopOnSignals(validator);
        await validator.run();
      });
    });
}
