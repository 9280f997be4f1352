import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLAIMED_WORK, claimedSampleWeight, claimedSampleWeights, encodeGradientMeta, ProtocolError, weightedOuterStepOptions } from '../../src/protocol/index.ts';
import { DEFAULT_SPARSELOCO, outerStepOptions } from '../../src/optim/sparseloco/index.ts';

const meta = (samples: number) => encodeGradientMeta({ window: 3, sampleDigest: 'ab'.repeat(16), sampleCount: 40, samples });

test('a claim weighs its samples over the step budget, capped at the budget and at least one sample', () => {
  assert.equal(claimedSampleWeight(meta(40), 40), 1);
  assert.equal(claimedSampleWeight(meta(10), 40), 0.25);
  assert.equal(claimedSampleWeight(meta(4000), 40), 1, 'a claim above the budget counts as the budget');
  assert.equal(claimedSampleWeight(meta(0), 40), 1 / 40);
  assert.equal(claimedSampleWeight(new Uint8Array([1, 2, 3]), 40), 1, 'no readable claim: checked against the whole pool, weighs a full window');
  assert.equal(claimedSampleWeight(new TextEncoder().encode('{"samples":-3}'), 40), 1);
  assert.throws(() => claimedSampleWeight(meta(1), 0), ProtocolError);
  assert.deepEqual([...claimedSampleWeights([{ uid: 4, meta: meta(20) }, { uid: 1, meta: meta(40) }], 40)], [[4, 0.5], [1, 1]]);
  assert.deepEqual([...claimedSampleWeights([{ uid: 2, meta: meta(0), nullRound: true }], 40)], [[2, 1]], 'a null round weighs 1');
});

test('the outer step options carry the claims only under a claimed-samples weighting', () => {
  const msgs = [{ uid: 2, meta: meta(10) }, { uid: 7, meta: meta(40) }];
  const base = outerStepOptions(DEFAULT_SPARSELOCO);
  assert.equal(weightedOuterStepOptions(base, { peerWeighting: 'equal' }, msgs, 40), base);
  const work = weightedOuterStepOptions(base, { peerWeighting: 'claimed-samples' }, msgs, 40);
  assert.deepEqual([...work.peerWeights!], [[2, 0.25], [7, 1]]);
  assert.deepEqual([work.peerWeightUse, work.peerWeightFloor], [CLAIMED_WORK.use, CLAIMED_WORK.floor]);
  assert.deepEqual(CLAIMED_WORK, { use: 'work', floor: 1 });
  const mean = weightedOuterStepOptions(base, { peerWeighting: 'claimed-samples' }, msgs, 40, { use: 'mean', floor: 0 });
  assert.deepEqual([mean.peerWeightUse, mean.peerWeightFloor], ['mean', 0]);
  assert.equal(work.lr, base.lr);
  assert.equal(weightedOuterStepOptions(base, {}, msgs, 40).peerWeightUse, 'work', 'absent: the default, claimed-samples');
});
