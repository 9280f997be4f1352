// The `templar` preset of a local network: every Templar hyperparameter the issue names, training and scoring alike,
// lands in the network.json (which round-trips), with only the timing and batch shape sized locally.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildNetworkConfig } from '../../src/node/config/local-defaults.ts';
import { loadNetworkConfig, NetworkConfigError, saveNetworkConfig } from '../../src/node/config/network.ts';
import { isPresetName } from '../../src/node/config/templar-preset.ts';
import { lrAt } from '../../src/optim/schedule.ts';

test('templar preset: Templar\'s training, SparseLoCo, evaluation, scoring and protocol numbers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-preset-'));
  try {
    const net = buildNetworkConfig({ model: 'tiny', preset: 'templar', networkSeed: 'p', storeRoot: join(dir, 'store') }, 'http://127.0.0.1:9944');
    saveNetworkConfig(join(dir, 'network.json'), net);
    assert.deepEqual(loadNetworkConfig(join(dir, 'network.json')), net);

    const t = net.train;
    assert.deepEqual([t.lr, t.warmupSteps, t.cosineSteps, t.weightDecay, t.decayAllParams], [1.17e-4, 1500, 140_000, 0.1, true]);
    // LinearLR from 1e-6·lr, cosine to 0.1·lr: step 0 ≈ 1.17e-10, step 1500 = 1.17e-4, end 1.17e-5.
    const schedule = { lr: t.lr, warmupSteps: t.warmupSteps, cosineSteps: t.cosineSteps };
    assert.ok(Math.abs(lrAt(schedule, 0) - 1.17e-10) < 1e-20);
    assert.equal(lrAt(schedule, 1500), 1.17e-4);
    assert.ok(Math.abs(lrAt(schedule, 1500 + 140_000) - 1.17e-5) < 1e-18);
    assert.equal(net.sparseloco.outerLr, 0.4);
    assert.equal(net.sparseloco.beta, 0.95);
    assert.deepEqual([net.sparseloco.topk, net.sparseloco.chunkTarget, net.sparseloco.quantBins, net.sparseloco.quantRange], [64, 64, 4, 6]);
    assert.deepEqual(net.eval, { batchSize: 8, lrFactor: 0.2 });

    const s = net.scoring;
    assert.deepEqual([s.overlapHighThreshold, s.overlapMaxThreshold, s.overlapMegaThreshold, s.overlapMinGlobalStep], [0.4, 0.5, 0.6, 20]);
    assert.equal(s.uidsPerWindow, 20);
    assert.equal(s.evalStarvationFactor, 0);

    const p = net.protocol;
    assert.deepEqual([p.gatherPeerCount, p.reservePeerCount, p.burnRate, p.windowsPerWeights, p.innerSteps], [20, 10, 0.5, 3, 30]);
    assert.deepEqual([p.peerReplacementFrequency, p.checkpointFrequency, p.version], [2, 10, '2.1.28']);
    assert.equal(p.gradientFormat, 1, "Templar's 12-bit index packing");
    assert.equal(p.burnUid, 0, 'validator-0 stands in for the subnet owner');
    assert.deepEqual([p.blockTimeMs, p.blocksPerWindow], [250, 48], 'local timing');

    const local = buildNetworkConfig({ model: 'tiny', networkSeed: 'p', storeRoot: join(dir, 'store') }, '');
    assert.equal(local.train.decayAllParams, undefined, 'the local preset is unchanged');
    assert.equal(local.scoring.overlapHighThreshold, 0.75);
    assert.equal(local.protocol.burnRate, 0);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('decayAllParams is validated by name', () => {
  assert.throws(
    () => buildNetworkConfig({ model: 'tiny', preset: 'templar', networkSeed: 'p', storeRoot: '/tmp/x', train: { decayAllParams: 'yes' as unknown as boolean } }, ''),
    (e: unknown) => e instanceof NetworkConfigError && e.message.includes('train.decayAllParams'),
  );
});

test('preset names', () => {
  assert.ok(isPresetName('templar') && isPresetName('local'));
  assert.ok(!isPresetName('Templar') && !isPresetName(''));
});
