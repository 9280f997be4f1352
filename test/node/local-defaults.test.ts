// The local network's stake cap between miners and validators: a miner's staked emission over a long run must not
// push it over the cap (it would silently stop being gathered), and validators must stay above it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildNetworkConfig, LOCAL_VALIDATOR_STAKE } from '../../src/node/config/local-defaults.ts';

test('local networks: the miner stake cap sits between a long run\'s miner earnings and the validators\' stake', () => {
  for (const model of ['tiny', 'small'] as const) {
    const cap = buildNetworkConfig({ model, networkSeed: 't', storeRoot: '/tmp/x' }, '').protocol.maxMinerStake;
    // a 3-miner tiny network stakes ~100 tokens to a miner in 30 windows (npm start); allow 30× that
    assert.ok(cap >= 3_000, `${model}: cap ${cap}`);
    assert.ok(cap < LOCAL_VALIDATOR_STAKE, `${model}: cap ${cap} vs validator stake ${LOCAL_VALIDATOR_STAKE}`);
  }
});
