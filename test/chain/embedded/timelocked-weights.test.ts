/** Timelocked weight commits on the embedded chain: subtensor's checks, the reveal schedule and silent drops. */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { encodeWeightsTlockPayload, roundAt, timelockEncrypt } from '../../../src/chain/timelock/index.ts';
import { embeddedBeacon } from '../../../src/chain/embedded/timelocked-weights.ts';
import type { KeyringPair } from '@polkadot/keyring/types';
import { Driver, makeKeys, rejectsWith, TOKEN, type Keys } from './helpers.ts';

describe('commit_timelocked_weights (subtensor internal_commit_timelocked_weights and reveal_crv3_commits)', () => {
  let k: Keys;
  let d: Driver;
  const NETUID = 1;
  const TEMPO = 4;
  const subnet = () => d.rt.state.subnets.get(NETUID)!;
  /** A commit of `signer`'s weights (or `payloadHotkey`'s) to the round due `secondsAhead` after the head. */
  const commit = (signer: KeyringPair, uids: number[], values: number[], opts: { secondsAhead?: number; payloadHotkey?: Uint8Array; version?: number; round?: number } = {}) => {
    const beacon = embeddedBeacon(d.rt.state);
    const round = opts.round ?? roundAt(beacon, d.rt.head.timestampMs / 1000 + (opts.secondsAhead ?? 0));
    const payload = encodeWeightsTlockPayload({ hotkey: opts.payloadHotkey ?? signer.publicKey, uids, values, versionKey: 7n });
    const ct = timelockEncrypt(payload, round, beacon);
    return d.tx(signer, { call: 'commit_timelocked_weights', args: { netuid: NETUID, commit: `0x${Buffer.from(ct).toString('hex')}`, revealRound: round, version: opts.version ?? 4 } });
  };

  before(async () => {
    k = await makeKeys('timelock', 5);
    d = Driver.genesis({
      subnets: [{
        netuid: NETUID,
        ownerColdkey: k.ownerCold.address,
        ownerHotkey: k.ownerHot.address,
        params: { tempo: TEMPO, weightsRateLimit: 0, weightsVersionKey: 7, maxAllowedValidators: 3, commitRevealEnabled: true, commitRevealPeriod: 1 },
        neurons: [
          { hotkey: k.hot[0].address, coldkey: k.cold[0].address, stake: (100n * TOKEN).toString() },
          { hotkey: k.hot[1].address, coldkey: k.cold[1].address, stake: (50n * TOKEN).toString() },
          { hotkey: k.hot[2].address, coldkey: k.cold[2].address },
          { hotkey: k.hot[3].address, coldkey: k.cold[3].address },
        ],
      }],
    });
    d.step(TEMPO); // first epoch issues permits
    d.step();
  });

  test('plain set_weights is refused while commit-reveal is on (CommitRevealEnabled)', () => {
    rejectsWith('CommitRevealEnabled', () => d.tx(k.hot[0], { call: 'set_weights', args: { netuid: NETUID, uids: [3, 4], values: [1, 1], versionKey: 7 } }));
  });

  test('a commit stays sealed in its epoch and is revealed in the next, once the block reaches its round', () => {
    const epoch = subnet().epochIndex;
    commit(k.hot[0], [3, 4], [100, 300], { secondsAhead: 12 * TEMPO });
    assert.equal(subnet().timelockedCommits.length, 1);
    assert.deepEqual(subnet().neurons[1].weights, []);
    while (subnet().epochIndex === epoch) {
      d.step();
      assert.deepEqual(subnet().neurons[1].weights, [], 'nothing is revealed within the commit epoch');
    }
    d.step();
    assert.deepEqual(subnet().neurons[1].weights, [[3, 21845], [4, 65535]]);
    assert.equal(subnet().timelockedCommits.length, 0);
  });

  test('a commit whose round comes only after its reveal epoch expires unrevealed', () => {
    commit(k.hot[1], [3], [5], { secondsAhead: 12 * TEMPO * 10 });
    const before = JSON.stringify(subnet().neurons[2].weights);
    d.step(3 * TEMPO);
    assert.equal(subnet().timelockedCommits.length, 0);
    assert.equal(JSON.stringify(subnet().neurons[2].weights), before);
  });

  test('a payload naming another hotkey, or garbage, is dropped silently at reveal', () => {
    commit(k.hot[1], [3, 4], [1, 2], { payloadHotkey: k.hot[0].publicKey });
    d.tx(k.hot[0], { call: 'commit_timelocked_weights', args: { netuid: NETUID, commit: '0x00ff', revealRound: 5, version: 4 } });
    const w0 = JSON.stringify(subnet().neurons[1].weights);
    const w1 = JSON.stringify(subnet().neurons[2].weights);
    d.step(2 * TEMPO + 1);
    assert.equal(subnet().timelockedCommits.length, 0);
    assert.equal(JSON.stringify(subnet().neurons[1].weights), w0);
    assert.equal(JSON.stringify(subnet().neurons[2].weights), w1);
  });

  test('subtensor\'s checks: version, registration, rate limit, unrevealed cap, size; off when commit-reveal is off', () => {
    rejectsWith('IncorrectCommitRevealVersion', () => commit(k.hot[0], [3], [1], { version: 3 }));
    rejectsWith('HotKeyNotRegisteredInSubNet', () => commit(k.hot[4], [3], [1]));
    rejectsWith('CommitTooLarge', () => d.tx(k.hot[0], { call: 'commit_timelocked_weights', args: { netuid: NETUID, commit: `0x${'00'.repeat(5001)}`, revealRound: 5, version: 4 } }));
    for (let i = 0; i < 10; i++) commit(k.hot[2], [3], [1], { secondsAhead: 1000 });
    rejectsWith('TooManyUnrevealedCommits', () => commit(k.hot[2], [3], [1], { secondsAhead: 1000 }));
    d.tx(k.ownerCold, { call: 'set_subnet_params', args: { netuid: NETUID, params: { weightsRateLimit: 2 } } });
    commit(k.hot[3], [3], [1]);
    rejectsWith('CommittingWeightsTooFast', () => commit(k.hot[3], [3], [1]));
    d.tx(k.ownerCold, { call: 'set_subnet_params', args: { netuid: NETUID, params: { commitRevealEnabled: false } } });
    rejectsWith('CommitRevealDisabled', () => commit(k.hot[0], [3], [1]));
  });

  test('pending commits survive a state round trip', async () => {
    const { parseState, serializeState } = await import('../../../src/chain/embedded/state.ts');
    const pending = subnet().timelockedCommits;
    assert.ok(pending.length > 0);
    const back = parseState(serializeState(d.rt.state));
    assert.deepEqual(back.subnets.get(NETUID)!.timelockedCommits, pending);
  });
});
