import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetworkConfigError, stepBudgetSamples, validateNetworkConfig } from '../../src/node/config/network.ts';
import { buildNetworkConfig } from '../../src/node/config/local-defaults.ts';
import { peerWeightingOf } from '../../src/optim/sparseloco/index.ts';

const local = buildNetworkConfig({ model: 'tiny', networkSeed: 'pw', storeRoot: '/tmp/x' }, '');

test('sparseloco.peerWeighting: local networks weigh claimed samples, Templar\'s preset weighs peers alike, absent means the default', () => {
  assert.equal(local.sparseloco.peerWeighting, 'claimed-samples');
  const templar = buildNetworkConfig({ model: 'tiny', preset: 'templar', networkSeed: 'pw', storeRoot: '/tmp/x' }, '');
  assert.equal(templar.sparseloco.peerWeighting, 'equal');
  const { peerWeighting: _, ...older } = local.sparseloco;
  const read = validateNetworkConfig({ ...local, sparseloco: older });
  assert.equal(read.sparseloco.peerWeighting, undefined, 'a network.json written before the field stays without it');
  assert.equal(peerWeightingOf(read.sparseloco), 'claimed-samples');
  assert.equal(validateNetworkConfig({ ...local, sparseloco: { ...local.sparseloco, peerWeighting: 'equal' } }).sparseloco.peerWeighting, 'equal');
});

test('a bad peerWeighting is an InvalidField error naming the field, nothing half-read', () => {
  for (const bad of ['tokens', 1, null]) {
    assert.throws(
      () => validateNetworkConfig({ ...local, sparseloco: { ...local.sparseloco, peerWeighting: bad as unknown as 'equal' } }),
      (e: unknown) => e instanceof NetworkConfigError && e.code === 'InvalidField' && /sparseloco\.peerWeighting/.test(e.message),
      String(bad),
    );
  }
});

test('the step budget in samples is the assigned pool: innerSteps batches', () => {
  assert.equal(stepBudgetSamples(local), local.protocol.innerSteps * local.train.batchSize);
});
