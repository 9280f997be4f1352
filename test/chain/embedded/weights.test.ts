/** set_weights: each of subtensor's checks produces its own error name; success stores what subtensor stores. */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { Driver, makeKeys, rejectsWith, TOKEN, type Keys } from './helpers.ts';

describe('set_weights checks (subtensor internal_set_weights order and names)', () => {
  let k: Keys;
  let d: Driver;
  const NETUID = 1;
  const sw = (i: number, uids: number[], values: number[], versionKey = 7) =>
    d.tx(k.hot[i], { call: 'set_weights', args: { netuid: NETUID, uids, values, versionKey } });

  before(async () => {
    k = await makeKeys('weights', 6);
    d = Driver.genesis({
      subnets: [
        {
          netuid: NETUID,
          ownerColdkey: k.ownerCold.address,
          ownerHotkey: k.ownerHot.address,
          params: { tempo: 3, weightsRateLimit: 5, weightsVersionKey: 7, minAllowedWeights: 2, maxAllowedValidators: 2 },
          // uids: owner 0, validators 1..3, miners 4..5; hot[5] stays unregistered
          neurons: [
            { hotkey: k.hot[0].address, coldkey: k.cold[0].address, stake: (100n * TOKEN).toString() },
            { hotkey: k.hot[1].address, coldkey: k.cold[1].address, stake: (50n * TOKEN).toString() },
            { hotkey: k.hot[2].address, coldkey: k.cold[2].address, stake: (10n * TOKEN).toString() },
            { hotkey: k.hot[3].address, coldkey: k.cold[3].address },
            { hotkey: k.hot[4].address, coldkey: k.cold[4].address },
          ],
        },
      ],
    });
    d.step(3); // first epoch at block 3 issues permits: the two largest stakes, plus the owner
    const permits = d.rt.state.subnets.get(NETUID)!.neurons.map((n) => n.validatorPermit);
    assert.deepEqual(permits, [true, true, true, false, false, false]);
    d.step();
  });

  test('WeightVecNotEqualSize', () => rejectsWith('WeightVecNotEqualSize', () => sw(0, [4, 5], [1])));
  test('UidsLengthExceedUidsInSubNet', () => rejectsWith('UidsLengthExceedUidsInSubNet', () => sw(0, [0, 1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 1, 1])));
  test('HotKeyNotRegisteredInSubNet', () => rejectsWith('HotKeyNotRegisteredInSubNet', () => sw(5, [4, 5], [1, 1])));
  test('IncorrectWeightVersionKey', () => rejectsWith('IncorrectWeightVersionKey', () => sw(0, [4, 5], [1, 1], 6)));
  test('NeuronNoValidatorPermit (a self-weight needs none)', () => {
    rejectsWith('NeuronNoValidatorPermit', () => sw(2, [4, 5], [1, 1]));
    sw(2, [3], [100]);
    assert.deepEqual(d.rt.state.subnets.get(NETUID)!.neurons[3].weights, [[3, 65535]]);
  });
  test('SettingWeightsTooFast', () => {
    d.step();
    rejectsWith('SettingWeightsTooFast', () => sw(2, [3], [1]));
  });
  test('DuplicateUids', () => rejectsWith('DuplicateUids', () => sw(0, [4, 4], [1, 2])));
  test('UidVecContainInvalidOne', () => rejectsWith('UidVecContainInvalidOne', () => sw(0, [4, 9], [1, 2])));
  test('WeightVecLengthIsLow', () => rejectsWith('WeightVecLengthIsLow', () => sw(0, [4], [1])));
  test('MaxWeightExceeded', () => {
    rejectsWith('NotSubnetOwner', () => d.tx(k.cold[0], { call: 'set_subnet_params', args: { netuid: NETUID, params: { maxWeightsLimit: 40000 } } }));
    d.tx(k.ownerCold, { call: 'set_subnet_params', args: { netuid: NETUID, params: { maxWeightsLimit: 40000 } } });
    rejectsWith('MaxWeightExceeded', () => sw(0, [4, 5], [65535, 1000]));
    d.tx(k.ownerCold, { call: 'set_subnet_params', args: { netuid: NETUID, params: { maxWeightsLimit: 65535 } } });
  });
  test('NotEnoughStakeToSetWeights', () => {
    d.tx(k.ownerCold, { call: 'set_subnet_params', args: { netuid: NETUID, params: { stakeThreshold: (60n * TOKEN).toString() } } });
    rejectsWith('NotEnoughStakeToSetWeights', () => sw(1, [4, 5], [1, 1]));
    d.tx(k.ownerCold, { call: 'set_subnet_params', args: { netuid: NETUID, params: { stakeThreshold: '0' } } });
  });
  test('unknown subnet: SubnetNotExists', () =>
    rejectsWith('SubnetNotExists', () => d.tx(k.hot[0], { call: 'set_weights', args: { netuid: 9, uids: [1], values: [1], versionKey: 7 } })));

  test('success: values max-upscaled in fixed point, explicit zeros kept, LastUpdate set', () => {
    sw(0, [4, 5, 3], [300, 100, 0]);
    const n = d.rt.state.subnets.get(NETUID)!.neurons[1];
    assert.deepEqual(n.weights, [[4, 65535], [5, 21845], [3, 0]]);
    assert.equal(n.lastUpdate, d.block);
    // a refused call changes nothing
    rejectsWith('SettingWeightsTooFast', () => sw(0, [4, 5], [1, 1]));
    assert.deepEqual(n.weights, [[4, 65535], [5, 21845], [3, 0]]);
  });

  test('the subnet owner may set weights without a permit of its own making', () => {
    d.tx(k.ownerHot, { call: 'set_weights', args: { netuid: NETUID, uids: [4, 5], values: [1, 1], versionKey: 7 } });
    assert.deepEqual(d.rt.state.subnets.get(NETUID)!.neurons[0].weights, [[4, 65535], [5, 65535]]);
  });
});
