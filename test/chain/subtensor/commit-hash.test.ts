import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hexToU8a, u8aToHex } from '@polkadot/util';
import { netuidIndex, randomSalt, weightCommitHash, weightCommitPreimage } from '../../../src/chain/subtensor/commit-hash.ts';
import { isSubtensorError } from '../../../src/chain/subtensor/errors.ts';

interface HashCase {
  publicKey: string;
  netuidIndex: number;
  uids: number[];
  values: number[];
  salt: number[];
  versionKey: string;
  scale: string;
  hash: string;
}

// SCALE bytes built by hand in Python and hashed with hashlib.blake2b(digest_size=32), the composition of the
// SDK's generate_weight_hash and subtensor's get_commit_hash (see test/fixtures/subtensor-sdk-golden.py).
const GOLDEN = (JSON.parse(readFileSync(new URL('../../fixtures/subtensor-sdk-golden.json', import.meta.url), 'utf8')) as { hash: HashCase[] }).hash;

function input(c: HashCase) {
  return {
    hotkeyPublicKey: hexToU8a(c.publicKey),
    netuidIndex: c.netuidIndex,
    uids: c.uids,
    values: c.values,
    salt: c.salt,
    versionKey: BigInt(c.versionKey),
  };
}

describe('CR-v2 commit hash', () => {
  test('golden vectors: preimage and blake2b-256 byte-identical to the Python reference', () => {
    assert.equal(GOLDEN.length, 3);
    for (const c of GOLDEN) {
      assert.equal(u8aToHex(weightCommitPreimage(input(c))), c.scale);
      assert.equal(weightCommitHash(input(c)), c.hash);
    }
    // Pinned literally too, so a regenerated fixture cannot silently move it.
    assert.equal(GOLDEN[0].hash, '0xc3dd00c8a65d48220695fee7e7b23789d3b283b4540453169b4438774747ed77');
  });

  test('covers two-byte compact lengths, a mechanism storage index and a u64 above 2^63', () => {
    const c = GOLDEN[1];
    assert.equal(c.uids.length, 70);
    assert.equal(c.netuidIndex, netuidIndex(3, 2));
    assert.ok(BigInt(c.versionKey) > 2n ** 63n);
  });

  test('any change to the inputs changes the hash', () => {
    const base = input(GOLDEN[0]);
    const variants = [
      { ...base, salt: [1, 2, 3, 4, 5, 6, 7, 9] },
      { ...base, values: [32768, 65535, 16383] },
      { ...base, versionKey: 8n },
      { ...base, netuidIndex: 2 },
    ];
    for (const v of variants) assert.notEqual(weightCommitHash(v), GOLDEN[0].hash);
  });

  test('netuidIndex and randomSalt', () => {
    assert.equal(netuidIndex(1), 1);
    assert.equal(netuidIndex(5, 1), 4101);
    assert.throws(() => netuidIndex(70000), (e: unknown) => isSubtensorError(e, 'InvalidArgument'));
    assert.throws(() => netuidIndex(1, 16), (e: unknown) => isSubtensorError(e, 'InvalidArgument'));
    const salt = randomSalt();
    assert.equal(salt.length, 8);
    assert.ok(salt.every((s) => Number.isInteger(s) && s >= 0 && s <= 65535));
    assert.notDeepEqual(randomSalt(16), randomSalt(16));
  });

  test('bad input is refused with a typed error', () => {
    const base = input(GOLDEN[0]);
    const cases: [object, string][] = [
      [{ ...base, hotkeyPublicKey: new Uint8Array(31) }, 'InvalidArgument'],
      [{ ...base, values: [1, 2] }, 'InvalidWeights'],
      [{ ...base, salt: [70000] }, 'InvalidWeights'],
      [{ ...base, versionKey: -1 }, 'InvalidArgument'],
      [{ ...base, versionKey: 2 ** 64 }, 'InvalidArgument'],
      [{ ...base, versionKey: 1n << 64n }, 'InvalidArgument'],
    ];
    for (const [bad, code] of cases) {
      assert.throws(() => weightCommitHash(bad as Parameters<typeof weightCommitHash>[0]), (e: unknown) => isSubtensorError(e, code as 'InvalidArgument'));
    }
  });
});
