// The local network's stake cap between miners and validators: a miner's staked emission over a long run must not
// push it over the cap (it would silently stop being gathered), and validators must stay above it. Every plan is a
// valid network.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildNetworkConfig, LOCAL_VALIDATOR_STAKE } from '../../src/node/config/local-defaults.ts';
import { loadNetworkConfig, NetworkConfigError, saveNetworkConfig } from '../../src/node/config/network.ts';
import type { ScoringParams } from '../../src/node/config/scoring.ts';

test('local networks: the miner stake cap sits between a long run\'s miner earnings and the validators\' stake', () => {
  for (const model of ['tiny', 'small'] as const) {
    const cap = buildNetworkConfig({ model, networkSeed: 't', storeRoot: '/tmp/x' }, '').protocol.maxMinerStake;
    // a 3-miner tiny network stakes ~100 tokens to a miner in 30 windows (npm start); allow 30× that
    assert.ok(cap >= 3_000, `${model}: cap ${cap}`);
    assert.ok(cap < LOCAL_VALIDATOR_STAKE, `${model}: cap ${cap} vs validator stake ${LOCAL_VALIDATOR_STAKE}`);
  }
});

test('local networks: every model\'s plan is a valid network.json that round-trips; a bad plan names the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-plan-'));
  try {
    for (const model of ['tiny', 'small'] as const) {
      const net = buildNetworkConfig({ model, networkSeed: 'p', storeRoot: join(dir, 'store'), scoring: { bmaWarmupWindows: 3 } }, 'http://127.0.0.1:9944');
      saveNetworkConfig(join(dir, `${model}.json`), net);
      assert.deepEqual(loadNetworkConfig(join(dir, `${model}.json`)), net);
      assert.equal(net.scoring.bmaWarmupWindows, 3);
    }
    const typo = { bmaWarmupWindow: 3 } as Partial<ScoringParams>;
    assert.throws(
      () => buildNetworkConfig({ model: 'tiny', networkSeed: 'p', storeRoot: '/tmp/x', scoring: typo }, ''),
      (e: unknown) => e instanceof NetworkConfigError && e.code === 'UnknownField' && e.message.includes('scoring.bmaWarmupWindow: unknown field'),
    );
    assert.throws(
      () => buildNetworkConfig({ model: 'tiny', networkSeed: 'p', storeRoot: '/tmp/x', train: { seqLen: 65 } }, ''),
      (e: unknown) => e instanceof NetworkConfigError && e.code === 'InvalidField' && e.message.includes('train.seqLen'),
    );
  } finally {
    rmSync(dir, { recursive: true });
  }
});
