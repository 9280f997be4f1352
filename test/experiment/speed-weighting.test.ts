import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePeerPayloads } from '../../src/codec/index.ts';
import { CorpusStreams, SparseLoCoSim } from '../../src/experiment/index.ts';
import { runSpeedWeighting, stepsAtSpeed, type SpeedWeightingOptions } from '../../src/experiment/speed-weighting.ts';
import { createModel } from '../../src/model/llama.ts';
import { claimedTrainedSamples } from '../../src/protocol/index.ts';
import { MICRO_LM, testCorpus } from './helpers.ts';

const inner = { schedule: { lr: 1e-2, warmupSteps: 0, cosineSteps: 8 } };

test('slow replicas train their first steps of the round and their payloads claim exactly those samples', () => {
  const data = new CorpusStreams(testCorpus(), { seqLen: 16, batchSize: 2, seed: 4 });
  const model = createModel(MICRO_LM, { seed: 3, threads: 1 });
  const sim = new SparseLoCoSim(model, { replicas: 3, inner, innerSteps: [4, 2, 1], sparseloco: { peerWeighting: 'claimed-samples' } });
  try {
    sim.round([0, 1, 2].map((r) => data.roundBatches(r, 0, 4)));
    const { accepted } = decodePeerPayloads(sim.lastPayloads, sim.schema, { expectWindow: 0 });
    assert.deepEqual(accepted.map((m) => claimedTrainedSamples(m.meta)), [8, 4, 2]);
  } finally {
    sim.dispose();
    model.dispose();
  }
  assert.deepEqual([1, 0.5, 0.25, 0.1].map((s) => stepsAtSpeed(s, 10)), [10, 5, 2, 1]);
});

test('the speed-weighting rows: steps, tokens, and full speed is the plain simulation bit for bit', () => {
  const o: SpeedWeightingOptions = {
    model: MICRO_LM, speeds: [1, 0.5], innerSteps: 2, rounds: 2, batchSize: 2, seqLen: 16, innerLr: 1e-2, warmupSteps: 0,
    maxGradNorm: 1, weightDecay: 0.1, outerLr: 0.4, seed: 5, heldOutBatches: 2, threads: 1,
  };
  const r = runSpeedWeighting(o, testCorpus());
  const row = (n: string) => r.rows.find((x) => x.name === n)!;
  assert.deepEqual(r.rows.map((x) => x.name), ['all-full-speed', 'equal', 'claimed-samples', 'claimed-samples-extrapolated', 'claimed-samples-mean', 'claimed-samples-mean-floor', 'drop-slow']);
  assert.deepEqual(row('equal').innerSteps, [2, 1]);
  assert.deepEqual(row('drop-slow').innerSteps, [2]);
  assert.equal(row('claimed-samples').tokens, 2 * 3 * 2 * 16);
  for (const x of r.rows) assert.ok(Number.isFinite(x.finalLoss) && x.finalLoss < x.initialLoss, `${x.name}: ${x.initialLoss} -> ${x.finalLoss}`);
  assert.notEqual(row('equal').finalLoss, row('claimed-samples').finalLoss, 'the weighting changes the run');

  // the reference row is the simulation without per-replica steps or claims
  const data = new CorpusStreams(testCorpus(), { seqLen: 16, batchSize: 2, seed: 5 });
  const model = createModel(MICRO_LM, { seed: 5, threads: 1 });
  const sim = new SparseLoCoSim(model, {
    replicas: 2, inner: { schedule: { lr: 1e-2, warmupSteps: 0, cosineSteps: 4 }, adamw: { weightDecay: 0.1 }, maxGradNorm: 1 }, sparseloco: { outerLr: 0.4 },
  });
  try {
    for (let round = 0; round < 2; round++) sim.round([0, 1].map((i) => data.roundBatches(i, round, 2)));
    assert.equal(sim.evalLoss(data.heldOutBatches(2)), row('all-full-speed').finalLoss);
  } finally {
    sim.dispose();
    model.dispose();
  }
});
