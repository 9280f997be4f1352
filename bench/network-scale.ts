/**
 * A real local network at scale: 32 miners and 3 validators on the `tiny` model, every node its own process on this
 * machine, 10 windows after warm-up (bench/real-network.ts measures it). Prints ONE JSON object with --json:
 *   realMiners, validators, windows     the network and the windows the leader processed after warm-up
 *   realWindowSeconds                   configured window length and the measured median time per processed window
 *   allReplicasIdentical                every node's applied parameter hash agrees for every window
 *   startupSeconds, rssMiB, cpuSeconds  what the node processes cost here (per node: `nodes`)
 * Usage: npm run bench:network-scale -- [--json] [--miners 32] [--validators 3] [--windows 10] [--bpw 64]
 *        [--block-ms 250] [--inner-steps 2] [--delta-ms 1500]
 *        [--slot-blocks 14] [--eval-uids 2] [--miners-per-process 8] [--keep]
 */
import { arg, flag } from './args.ts';
import { measureRealNetwork } from './real-network.ts';

const json = flag('json');
const log = (line: string) => (json ? process.stderr : process.stdout).write(line + '\n');

const result = await measureRealNetwork({
  miners: Number(arg('miners', '32')),
  validators: Number(arg('validators', '3')),
  windows: Number(arg('windows', '10')),
  blocksPerWindow: Number(arg('bpw', '64')),
  blockTimeMs: Number(arg('block-ms', '250')),
  innerSteps: Number(arg('inner-steps', '2')),
  ...(flag('delta-ms') ? { timeWindowDeltaMs: Number(arg('delta-ms', '')) } : {}),
  ...(flag('slot-blocks') ? { leaderSlotBlocks: Number(arg('slot-blocks', '')) } : {}),
  uidsPerWindow: Number(arg('eval-uids', '2')),
  minersPerProcess: Number(arg('miners-per-process', '8')),
  keep: flag('keep'),
  log,
});
process.stdout.write(JSON.stringify({ bench: 'network-scale', ...result }, null, json ? undefined : 2) + '\n');
process.exit(0);
