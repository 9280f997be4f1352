// Peers of different speed (docs/hetero.md): SparseLoCo with 4 replicas at speeds 1, 1, 0.5, 0.25 (the slow ones take
// fewer inner steps per round), final held-out loss with every peer weighing 1, with peers weighted by the samples
// they claim (sparseloco.peerWeighting: claimed-samples), and with the slow peers dropped; all at full speed as the
// reference. Several seeds, one JSON object with --json.
// Usage: npm run bench:speed-weighting -- [--json] [--model tiny] [--rounds 30] [--inner 10] [--seeds 0,1,2]
//        [--speeds 1,1,0.5,0.25] [--threads 2] [--outer-lr 0.4] [--rows equal,claimed-samples,...]
import { ensureDataset } from '../src/data/dataset.ts';
import { defaultSpeedWeightingOptions, runSpeedWeighting, SPEED_WEIGHTING_ROWS, type SpeedWeightingRowName } from '../src/experiment/speed-weighting.ts';
import { getModelConfig, type ModelConfigName } from '../src/model/config.ts';
import { arg, flag, round } from './args.ts';

const json = flag('json');
const base = defaultSpeedWeightingOptions(getModelConfig(arg('model', 'tiny') as ModelConfigName));
const seeds = arg('seeds', '0,1,2').split(',').map(Number);
const rows = arg('rows', SPEED_WEIGHTING_ROWS.join(',')).split(',') as SpeedWeightingRowName[];
const options = {
  ...base,
  rounds: Number(arg('rounds', String(base.rounds))),
  innerSteps: Number(arg('inner', String(base.innerSteps))),
  speeds: arg('speeds', base.speeds.join(',')).split(',').map(Number),
  outerLr: Number(arg('outer-lr', String(base.outerLr))),
  threads: Number(arg('threads', '2')),
};
const data = ensureDataset();
const bySeed: Record<string, Record<string, number>> = {};
const sums = new Map<SpeedWeightingRowName, number>();
let tokens: Record<string, number> = {};
for (const seed of seeds) {
  const r = runSpeedWeighting({ ...options, seed }, data, rows, (row) => {
    if (!json) process.stderr.write(`seed ${seed} ${row.name.padEnd(16)} steps ${row.innerSteps.join(',').padEnd(12)} loss ${row.initialLoss.toFixed(4)} -> ${row.finalLoss.toFixed(4)} (${row.seconds.toFixed(0)} s)\n`);
  });
  bySeed[seed] = Object.fromEntries(r.rows.map((row) => [row.name, round(row.finalLoss, 4)]));
  tokens = Object.fromEntries(r.rows.map((row) => [row.name, row.tokens]));
  for (const row of r.rows) sums.set(row.name, (sums.get(row.name) ?? 0) + row.finalLoss);
}
const mean = (n: SpeedWeightingRowName) => (sums.has(n) ? round(sums.get(n)! / seeds.length, 4) : null);
const out = {
  model: options.model.name,
  speeds: options.speeds,
  innerSteps: options.innerSteps,
  rounds: options.rounds,
  seeds,
  lossAllFullSpeed: mean('all-full-speed'),
  lossEqual: mean('equal'),
  lossClaimedSamples: mean('claimed-samples'),
  lossClaimedSamplesExtrapolated: mean('claimed-samples-extrapolated'),
  lossClaimedSamplesMean: mean('claimed-samples-mean'),
  lossClaimedSamplesMeanFloor: mean('claimed-samples-mean-floor'),
  lossDropSlow: mean('drop-slow'),
  tokens,
  bySeed,
};
process.stdout.write(json ? JSON.stringify(out) + '\n' : JSON.stringify(out, null, 2) + '\n');
