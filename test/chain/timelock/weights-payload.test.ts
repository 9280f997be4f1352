import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeWeightsTlockPayload, encodeWeightsTlockPayload, QUICKNET, revealRound, TimelockError } from '../../../src/chain/timelock/index.ts';

test('WeightsTlockPayload SCALE bytes: hotkey Vec<u8>, uids Vec<u16>, values Vec<u16>, version_key u64', () => {
  // bittensor-drand's test_generate_commit_structure inputs
  const bytes = encodeWeightsTlockPayload({ hotkey: new Uint8Array([1, 2, 3]), uids: [1, 2, 3], values: [100, 200, 300], versionKey: 42n });
  assert.equal(Buffer.from(bytes).toString('hex'), '0c010203' + '0c010002000300' + '0c6400c8002c01' + '2a00000000000000');
  const back = decodeWeightsTlockPayload(bytes);
  assert.deepEqual([...back.hotkey], [1, 2, 3]);
  assert.deepEqual(back.uids, [1, 2, 3]);
  assert.deepEqual(back.values, [100, 200, 300]);
  assert.equal(back.versionKey, 42n);
  // a 32-byte hotkey and 70 weights: two-byte compact lengths
  const uids = Array.from({ length: 70 }, (_, i) => i);
  const big = encodeWeightsTlockPayload({ hotkey: new Uint8Array(32).fill(4), uids, values: uids.map((u) => 1000 + u), versionKey: 2n ** 64n - 1n });
  assert.equal(big[0], 0x80);
  assert.deepEqual([big[33], big[34]], [0x19, 0x01]);
  assert.deepEqual(decodeWeightsTlockPayload(big).values, uids.map((u) => 1000 + u));
});

test('payload errors are typed: short input, lengths past the end, out-of-range values', () => {
  const bytes = encodeWeightsTlockPayload({ hotkey: new Uint8Array(32), uids: [5], values: [9], versionKey: 1n });
  const bad = (b: Uint8Array): void => assert.throws(() => decodeWeightsTlockPayload(b), (e) => e instanceof TimelockError && e.code === 'BadPayload');
  bad(bytes.subarray(0, bytes.length - 1));
  bad(new Uint8Array(0));
  bad(Uint8Array.from([0xfd, 0xff, 0xff, 0xff]));
  assert.throws(() => encodeWeightsTlockPayload({ hotkey: new Uint8Array(32), uids: [70000], values: [1], versionKey: 1n }), /not a u16/);
  assert.throws(() => encodeWeightsTlockPayload({ hotkey: new Uint8Array(32), uids: [1, 2], values: [1], versionKey: 1n }), /2 uids but 1 values/);
});

test('reveal round: the round about 3 blocks after the reveal epoch starts, by the legacy epoch formula', () => {
  // tempo 360, netuid 3, block 1000: epoch floor(1004 / 361) = 2; reveal period 1 -> first reveal block 3·361 − 4 = 1079
  const now = QUICKNET.genesisTime + 3 * 1_000_000;
  const round = revealRound(QUICKNET, { currentBlock: 1000, netuidIndex: 3, tempo: 360, revealPeriodEpochs: 1, blockTimeSeconds: 12, nowSeconds: now });
  assert.equal(round, Math.floor((now + (1079 + 3 - 1000) * 12 - QUICKNET.genesisTime) / 3));
  // a block already past the first reveal block never targets the past
  const late = revealRound(QUICKNET, { currentBlock: 1083, netuidIndex: 3, tempo: 360, revealPeriodEpochs: 0, blockTimeSeconds: 12, nowSeconds: now });
  assert.equal(late, 1_000_000);
});
