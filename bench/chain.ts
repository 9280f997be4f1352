// Embedded chain costs: one Yuma epoch (I32F32 fixed point on bigint) for dense subnets, and transaction
// verification (canonical payload + sr25519 signature check) per second. Single thread; medians over --runs.
// Usage: npm run bench:chain -- [--json] [--runs N]
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { devKey } from '../src/chain/keys.ts';
import { signTx, verifyTx } from '../src/chain/embedded/tx.ts';
import { runYumaEpoch, type YumaInput } from '../src/chain/yuma/index.ts';
import { median } from './args.ts';

function parseArgs(argv: string[]): { json: boolean; runs: number } {
  const out = { json: false, runs: 5 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--json') out.json = true;
    else if (argv[i] === '--runs') out.runs = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!Number.isInteger(out.runs) || out.runs < 1) throw new Error('--runs must be a positive integer');
  return out;
}

/** n uids, the first `v` validators weighting every miner and bonded to every miner. */
function denseSubnet(n: number, v: number, liquidAlpha: boolean): YumaInput {
  const miners = n - v;
  return {
    n,
    block: 1000,
    tempo: 100,
    activityCutoff: 5000,
    lastMechanismStepBlock: 900,
    stake: Array.from({ length: n }, (_, i) => (i < v ? BigInt(1000 + i) * 1_000_000_000n : 0n)),
    lastUpdate: new Array<number>(n).fill(950),
    blockAtRegistration: new Array<number>(n).fill(0),
    validatorPermit: Array.from({ length: n }, (_, i) => i < v),
    weights: Array.from({ length: n }, (_, i) => (i < v ? Array.from({ length: miners }, (_, j) => [v + j, 1 + ((i * 7919 + j * 104729) % 65535)] as [number, number]) : [])),
    bonds: Array.from({ length: n }, (_, i) => (i < v ? Array.from({ length: miners }, (_, j) => [v + j, (i * 31 + j * 17) % 65535] as [number, number]) : [])),
    params: {
      kappa: 32767,
      bondsPenalty: 65535,
      bondsMovingAverage: 900_000,
      yuma3: true,
      liquidAlpha,
      alphaLow: 45875,
      alphaHigh: 58982,
      alphaSigmoidSteepness: 1000,
      maxAllowedValidators: 64,
      stakeThreshold: 0n,
    },
  };
}

function timeMs(f: () => void, runs: number): number {
  f();
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    f();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const epochs: Record<string, number> = {};
  for (const [n, v] of [[64, 16], [256, 64]] as const) {
    for (const liquid of [false, true]) {
      const input = denseSubnet(n, v, liquid);
      epochs[`n${n}_v${v}${liquid ? '_liquid' : ''}_ms`] = Number(timeMs(() => runYumaEpoch(input), args.runs).toFixed(2));
    }
  }
  await cryptoWaitReady();
  const signer = devKey('bench', 'hot');
  const chain = '0x' + '11'.repeat(32);
  const txs = Array.from({ length: 200 }, () =>
    signTx(chain, 10, signer, { call: 'set_weights', args: { netuid: 1, uids: Array.from({ length: 64 }, (_, i) => i), values: Array.from({ length: 64 }, (_, i) => i + 1), versionKey: 0 } }),
  );
  const verifyMs = timeMs(() => {
    for (const tx of txs) verifyTx(tx, chain);
  }, args.runs);
  const result = {
    bench: 'chain',
    runs: args.runs,
    yuma_epoch_median: epochs,
    tx_verify_per_s: Math.round((txs.length / verifyMs) * 1000),
  };
  if (args.json) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    for (const [k, v] of Object.entries(epochs)) console.log(`yuma epoch ${k.replace(/_ms$/, '')}: ${v} ms`);
    console.log(`transaction verification: ${result.tx_verify_per_s}/s (64-weight set_weights)`);
  }
}

await main();
