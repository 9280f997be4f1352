/** Registration, commitments, transaction authentication and emission on the runtime (no HTTP). */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { Driver, makeKeys, rejectsWith, TOKEN, type Keys } from './helpers.ts';
import { parseState, serializeState } from '../../../src/chain/embedded/state.ts';
import { MORTALITY, signTx, verifyTx } from '../../../src/chain/embedded/tx.ts';

const NETUID = 2;

describe('registration', () => {
  let k: Keys;
  before(async () => {
    k = await makeKeys('reg', 8);
  });

  const base = (params: Record<string, unknown>) => ({
    subnets: [{ netuid: NETUID, ownerColdkey: k.ownerCold.address, ownerHotkey: k.ownerHot.address, params }],
    balances: { [k.cold[0].address]: (5n * TOKEN).toString() },
  });
  const reg = (d: Driver, i: number, cosign = false) =>
    d.tx(k.hot[i], { call: 'register', args: { netuid: NETUID, coldkey: k.cold[i].address } }, cosign ? k.cold[i] : undefined);

  test('appends uids after the owner (uid 0), refuses a second registration and over-quota blocks', () => {
    const d = Driver.genesis(base({ maxRegistrationsPerBlock: 2 }));
    d.step();
    assert.equal(reg(d, 0).uid, 1);
    rejectsWith('HotKeyAlreadyRegisteredInSubNet', () => reg(d, 0));
    assert.equal(reg(d, 1).uid, 2);
    rejectsWith('TooManyRegistrationsThisBlock', () => reg(d, 2));
    d.step();
    assert.equal(reg(d, 2).uid, 3);
    const s = d.rt.state.subnets.get(NETUID)!;
    assert.equal(s.neurons[3].registeredAt, d.block);
    assert.equal(s.neurons[3].lastUpdate, d.block);
    rejectsWith('SubnetNotExists', () => d.tx(k.hot[3], { call: 'register', args: { netuid: 77, coldkey: k.cold[3].address } }));
  });

  test('a burn needs the coldkey to co-sign and to hold the amount; it leaves issuance', () => {
    const d = Driver.genesis(base({ burn: (2n * TOKEN).toString() }));
    d.step();
    rejectsWith('ColdkeySignerRequired', () => reg(d, 0));
    const before = d.rt.state.issuance;
    assert.equal(reg(d, 0, true).uid, 1);
    assert.equal(d.rt.state.balances.get(k.cold[0].address), 3n * TOKEN);
    assert.equal(d.rt.state.issuance, before - 2n * TOKEN);
    rejectsWith('NotEnoughBalanceToStake', () => reg(d, 1, true));
    rejectsWith('BadSignature', () =>
      d.tx(k.hot[2], { call: 'register', args: { netuid: NETUID, coldkey: k.cold[2].address } }, k.cold[3]),
    );
  });

  test('a full subnet replaces the lowest-emission non-immune neuron; immune ones only when too few are free', () => {
    const d = Driver.genesis(base({ maxAllowedUids: 4, immunityPeriod: 3, minNonImmuneUids: 0 }));
    d.step();
    reg(d, 0);
    reg(d, 1);
    reg(d, 2); // uids 1..3, all registered at block 1
    const s = d.rt.state.subnets.get(NETUID)!;
    s.neurons[1].emission = 5n;
    s.neurons[2].emission = 3n;
    s.neurons[3].emission = 9n;
    s.neurons[2].weights = [[1, 65535]];
    s.neurons[1].weights = [[2, 65535], [3, 100]];
    d.tx(k.hot[1], { call: 'set_commitment', args: { netuid: NETUID, data: 'x'.repeat(128) } });
    d.step(3); // block 4: all non-immune (4 - 1 >= 3)
    const uid = reg(d, 4).uid;
    assert.equal(uid, 2, 'lowest emission goes');
    assert.equal(s.neurons[2].hotkey, k.hot[4].address);
    assert.deepEqual(s.neurons[2].weights, []);
    assert.equal(s.uids.get(k.hot[1].address), undefined);
    assert.equal(s.commitments.has(k.hot[1].address), false, 'the pruned hotkey loses its commitment');
    assert.deepEqual(s.neurons[1].weights, [[2, 0], [3, 100]], 'weights set on the replaced uid become 0');
    // uid 2 is now immune; uids 1 and 3 are not: 1 (emission 5) goes before 3 (emission 9)
    d.step();
    assert.equal(reg(d, 5).uid, 1);
    // owner's uid 0 is never pruned
    assert.equal(s.neurons[0].hotkey, k.ownerHot.address);
  });

  test('with no non-immune candidates the immune neuron with least emission goes; owners only is NoNeuronIdAvailable', () => {
    const d = Driver.genesis(base({ maxAllowedUids: 3, immunityPeriod: 100, minNonImmuneUids: 0 }));
    d.step();
    reg(d, 0);
    reg(d, 1);
    d.rt.state.subnets.get(NETUID)!.neurons[1].emission = 1n;
    d.step();
    assert.equal(reg(d, 2).uid, 2, 'all immune: the one with the least emission goes');
    const only = Driver.genesis(base({ maxAllowedUids: 1 }));
    only.step();
    rejectsWith('NoNeuronIdAvailable', () =>
      only.tx(k.hot[0], { call: 'register', args: { netuid: NETUID, coldkey: k.cold[0].address } }),
    );
  });
});

describe('commitments', () => {
  test('only registered hotkeys commit, at most commitmentMaxSpace bytes per epoch (each call counts at least 100)', async () => {
    const k = await makeKeys('commit', 2);
    const d = Driver.genesis({
      subnets: [
        {
          netuid: NETUID,
          ownerColdkey: k.ownerCold.address,
          ownerHotkey: k.ownerHot.address,
          params: { tempo: 5, commitmentMaxSpace: 400 },
          neurons: [{ hotkey: k.hot[0].address, coldkey: k.cold[0].address }],
        },
      ],
    });
    d.step();
    const commit = (i: number, data: string) => d.tx(k.hot[i], { call: 'set_commitment', args: { netuid: NETUID, data } });
    rejectsWith('AccountNotAllowedCommit', () => commit(1, 'hello'));
    const bucket = 'a'.repeat(32) + 'B'.repeat(32) + 'c'.repeat(64);
    commit(0, 'short'); // 100
    commit(0, bucket); // 228
    commit(0, bucket); // 356
    rejectsWith('SpaceLimitExceeded', () => commit(0, 'y')); // 456 > 400
    const s = d.rt.state.subnets.get(NETUID)!;
    assert.deepEqual(s.commitments.get(k.hot[0].address), { data: bucket, block: 1 });
    d.step(5); // the epoch at block 5 starts a new allowance
    commit(0, 'z'.repeat(16));
    assert.deepEqual(s.commitments.get(k.hot[0].address), { data: 'z'.repeat(16), block: 6 });
    const sign = (data: string) => signTx(d.rt.state.genesisHash, d.block, k.hot[0], { call: 'set_commitment', args: { netuid: NETUID, data } });
    rejectsWith('InvalidCommitment', () => verifyTx(sign('x'.repeat(129)), d.rt.state.genesisHash));
    rejectsWith('InvalidCommitment', () => verifyTx(sign('caf\u00e9'), d.rt.state.genesisHash));
  });
});

describe('transaction authentication', () => {
  let k: Keys;
  let d: Driver;
  before(async () => {
    k = await makeKeys('auth', 2);
    d = Driver.genesis({
      subnets: [{ netuid: NETUID, ownerColdkey: k.ownerCold.address, ownerHotkey: k.ownerHot.address, neurons: [{ hotkey: k.hot[0].address, coldkey: k.cold[0].address }] }],
    });
    d.step();
  });
  const call = { call: 'set_commitment' as const, args: { netuid: NETUID, data: 'hello' } };

  test('a signature by another key, or a payload changed after signing, is BadSignature', () => {
    const tx = signTx(d.rt.state.genesisHash, d.block, k.hot[0], call);
    const forged = { ...tx, payload: { ...tx.payload, signer: k.hot[1].address } };
    rejectsWith('BadSignature', () => verifyTx(forged, d.rt.state.genesisHash));
    const altered = { ...tx, payload: { ...tx.payload, args: { netuid: NETUID, data: 'evil' } } };
    rejectsWith('BadSignature', () => verifyTx(altered, d.rt.state.genesisHash));
    const junk = { ...tx, signature: '0x' + '00'.repeat(64) };
    rejectsWith('BadSignature', () => verifyTx(junk, d.rt.state.genesisHash));
    rejectsWith('BadSignature', () => verifyTx(tx, '0x' + 'ab'.repeat(32)));
  });

  test('malformed requests are MalformedRequest', () => {
    const tx = signTx(d.rt.state.genesisHash, d.block, k.hot[0], call);
    rejectsWith('MalformedRequest', () => verifyTx({ ...tx, extra: 1 }, d.rt.state.genesisHash));
    rejectsWith('MalformedRequest', () => verifyTx({ ...tx, payload: { ...tx.payload, call: 'mint' } }, d.rt.state.genesisHash));
    rejectsWith('MalformedRequest', () => verifyTx({ ...tx, payload: { ...tx.payload, nonce: '0x12' } }, d.rt.state.genesisHash));
    rejectsWith('MalformedRequest', () => verifyTx('nope', d.rt.state.genesisHash));
    rejectsWith('InvalidWeights', () =>
      verifyTx(signTx(d.rt.state.genesisHash, d.block, k.hot[0], { call: 'set_weights', args: { netuid: NETUID, uids: [1], values: [70000], versionKey: 0 } }), d.rt.state.genesisHash),
    );
  });

  test('a replayed transaction is refused; so is one past its mortality or from the future', () => {
    const tx = verifyTx(signTx(d.rt.state.genesisHash, d.block, k.hot[0], call), d.rt.state.genesisHash);
    d.rt.apply(tx);
    rejectsWith('ReplayedTransaction', () => d.rt.apply(tx));
    d.step();
    rejectsWith('ReplayedTransaction', () => d.rt.apply(tx));
    const old = verifyTx(signTx(d.rt.state.genesisHash, d.block, k.hot[0], call), d.rt.state.genesisHash);
    d.step(MORTALITY + 1);
    rejectsWith('StaleTransaction', () => d.rt.apply(old));
    const future = verifyTx(signTx(d.rt.state.genesisHash, d.block + 5, k.hot[0], call), d.rt.state.genesisHash);
    rejectsWith('StaleTransaction', () => d.rt.apply(future));
    assert.ok(d.rt.state.seen.size <= 3, 'expired transaction ids are forgotten');
  });
});

describe('emission', () => {
  test('an epoch with validators setting weights splits 41% miners / 41% validators / 18% owner, and nothing is lost', async () => {
    const k = await makeKeys('emission', 4);
    const TEMPO = 10;
    const d = Driver.genesis({
      balances: { [k.cold[0].address]: (7n * TOKEN).toString() },
      subnets: [
        {
          netuid: NETUID,
          ownerColdkey: k.ownerCold.address,
          ownerHotkey: k.ownerHot.address,
          params: { tempo: TEMPO, weightsRateLimit: 0 },
          neurons: [
            { hotkey: k.hot[0].address, coldkey: k.cold[0].address, stake: (300n * TOKEN).toString() },
            { hotkey: k.hot[1].address, coldkey: k.cold[1].address, stake: (100n * TOKEN).toString() },
            { hotkey: k.hot[2].address, coldkey: k.cold[2].address },
            { hotkey: k.hot[3].address, coldkey: k.cold[3].address },
          ],
        },
      ],
    });
    const s = d.rt.state.subnets.get(NETUID)!;
    const stakeOf = (i: number) => s.stake.get(i < 0 ? k.ownerHot.address : k.hot[i].address) ?? 0n;
    const conserved = () => {
      let held = s.pending.server + s.pending.validator + s.pending.owner;
      for (const v of d.rt.state.balances.values()) held += v;
      for (const v of s.stake.values()) held += v;
      assert.equal(held, d.rt.state.issuance, 'issuance = balances + stake + pending');
    };
    d.step(TEMPO); // first epoch: permits; with no weights all emission follows stake
    assert.equal(s.epochs.length, 1);
    assert.equal(s.epochs[0].server + s.epochs[0].validator, s.epochs[0].uids.reduce((a, u) => a + u.emission, 0n) + s.epochs[0].recycled);
    conserved();
    // validators weight the miners 3:1
    d.tx(k.hot[0], { call: 'set_weights', args: { netuid: NETUID, uids: [3, 4], values: [3, 1], versionKey: 0 } });
    d.tx(k.hot[1], { call: 'set_weights', args: { netuid: NETUID, uids: [3, 4], values: [3, 1], versionKey: 0 } });
    const before = [-1, 0, 1, 2, 3].map(stakeOf);
    d.step(TEMPO);
    assert.equal(s.epochs.length, 2);
    const e = s.epochs[1];
    const gain = [-1, 0, 1, 2, 3].map((i, j) => stakeOf(i) - before[j]);
    const minted = BigInt(TEMPO) * TOKEN;
    assert.equal(e.owner + e.server + e.validator, minted);
    assert.equal(gain[0], e.owner, 'the owner hotkey gets the owner cut');
    const share = (x: bigint) => Number(x) / Number(minted);
    assert.ok(Math.abs(share(gain[0]) - 0.18) < 1e-4, `owner ${share(gain[0])}`);
    assert.ok(Math.abs(share(gain[3] + gain[4]) - 0.41) < 1e-4, `miners ${share(gain[3] + gain[4])}`);
    assert.ok(Math.abs(share(gain[1] + gain[2]) - 0.41) < 1e-4, `validators ${share(gain[1] + gain[2])}`);
    assert.ok(Math.abs(Number(gain[3]) / Number(gain[4]) - 3) < 1e-3, 'miners paid by consensus weight');
    assert.ok(Math.abs(Number(gain[1]) / Number(gain[2]) - 3) < 1e-2, 'validators paid by stake (equal bonds)');
    assert.equal(gain.reduce((a, b) => a + b, 0n) + e.burned + e.recycled, minted, 'credited + burned + recycled = minted');
    assert.ok(e.recycled < 10n, `rounding dust only (${e.recycled} rao)`);
    conserved();
    assert.ok(s.neurons[3].incentive > s.neurons[4].incentive);
    assert.ok(s.neurons[1].dividends > 0 && s.neurons[1].validatorTrust > 0);
  });

  test("miner emission to the owner's hotkey is burned, as subtensor does", async () => {
    const k = await makeKeys('burnuid', 1);
    const d = Driver.genesis({
      subnets: [
        {
          netuid: NETUID,
          ownerColdkey: k.ownerCold.address,
          ownerHotkey: k.ownerHot.address,
          params: { tempo: 5, weightsRateLimit: 0 },
          neurons: [{ hotkey: k.hot[0].address, coldkey: k.cold[0].address, stake: (10n * TOKEN).toString() }],
        },
      ],
    });
    d.step(5);
    d.tx(k.hot[0], { call: 'set_weights', args: { netuid: NETUID, uids: [0], values: [1], versionKey: 0 } });
    d.step(5);
    const e = d.rt.state.subnets.get(NETUID)!.epochs[1];
    assert.ok(Number(e.burned) / Number(5n * TOKEN) > 0.4, `burned ${e.burned}`);
  });
});

describe('state file', () => {
  test('serialise → parse → serialise is the identity', async () => {
    const k = await makeKeys('state', 2);
    const d = Driver.genesis({
      balances: { [k.cold[0].address]: '123' },
      subnets: [{ netuid: NETUID, ownerColdkey: k.ownerCold.address, ownerHotkey: k.ownerHot.address, params: { tempo: 3 }, neurons: [{ hotkey: k.hot[0].address, coldkey: k.cold[0].address, stake: '5000000000' }] }],
    });
    d.step(4);
    d.tx(k.hot[0], { call: 'set_commitment', args: { netuid: NETUID, data: 'abc' } });
    const text = serializeState(d.rt.state);
    assert.equal(serializeState(parseState(text)), text);
    assert.throws(() => parseState(text.replace('"version":1', '"version":9')), /version/);
    assert.throws(() => parseState(text.slice(0, 100)), /not valid JSON/);
    assert.throws(() => parseState(text.replace('"lastUpdate":', '"lastUpdate_":')), /lastUpdate/);
  });
});

describe('accounts', () => {
  test('one spelling per account: SS58 prefix 42 only', async () => {
    const { checkAddress } = await import('../../../src/chain/embedded/state.ts');
    const { encodeAddress } = await import('@polkadot/util-crypto');
    const k = await makeKeys('acct', 1);
    assert.equal(checkAddress(k.hot[0].address, 'a'), k.hot[0].address);
    rejectsWith('InvalidArgument', () => checkAddress(encodeAddress(k.hot[0].publicKey, 0), 'a'));
    rejectsWith('InvalidArgument', () => checkAddress('0x' + '11'.repeat(32), 'a'));
    rejectsWith('InvalidArgument', () => checkAddress('not-an-address', 'a'));
    rejectsWith('InvalidArgument', () => checkAddress(42, 'a'));
  });
});
