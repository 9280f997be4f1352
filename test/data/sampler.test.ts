import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assignedPool, DataError, randomPool, sampleDigest, sampleIdOfTokens, samplerSeed, sampleWithoutReplacement, SplitMix64, subsample,
} from '../../src/data/index.ts';

const isDataError = (code: string) => (e: unknown) => e instanceof DataError && e.code === code;

// Golden values below were computed by an independent Python implementation (splitmix64, partial Fisher–Yates
// with rejection sampling, hashlib.blake2b): validators in any language must reproduce them.

test('seed formula matches Templar', () => {
  assert.equal(samplerSeed(0, 5), 5);
  assert.equal(samplerSeed(3, 17), 3000024);
  assert.equal(samplerSeed(5000, 1), ((5000 * 1000003) ^ 1) >>> 0);
  assert.equal(samplerSeed(70000, 3), Number((70000n * 1000003n ^ 3n) & 0xffffffffn));
  assert.throws(() => samplerSeed(-1, 0), isDataError('InvalidArgument'));
  assert.throws(() => samplerSeed(1.5, 0), isDataError('InvalidArgument'));
});

test('SplitMix64 and pools reproduce the reference implementation', () => {
  const rng = new SplitMix64(3000024);
  assert.deepEqual([rng.nextU64(), rng.nextU64(), rng.nextU64()], [13654721489015895087n, 919690536819789143n, 10001589661718225489n]);
  assert.deepEqual(assignedPool(3, 17, 6, 6092), [91, 4606, 2671, 5798, 1619, 306]);
  assert.deepEqual(assignedPool(7, 123456, 8, 1_000_000), [765302, 232148, 813139, 16734, 993642, 695934, 516121, 364437]);
  assert.deepEqual(randomPool(2 ** 40 + 5, 5, 100), [22, 36, 81, 50, 84]);
  assert.throws(() => new SplitMix64(0.5), isDataError('InvalidArgument'));
  assert.throws(() => new SplitMix64(1).below(0), isDataError('InvalidArgument'));
});

test('pools are deterministic, distinct, in range, and differ across uid/window', () => {
  const n = 6000;
  const a = assignedPool(3, 17, 500, n);
  assert.deepEqual(a, assignedPool(3, 17, 500, n));
  assert.equal(new Set(a).size, 500);
  assert.ok(a.every((i) => Number.isInteger(i) && i >= 0 && i < n));
  for (const [uid, w] of [[4, 17], [3, 18], [0, 0], [255, 17]]) assert.notDeepEqual(a, assignedPool(uid, w, 500, n));
  assert.deepEqual(assignedPool(1, 1, 10, 5).sort((x, y) => x - y), [0, 1, 2, 3, 4], 'a pool larger than the data is all of it');
  assert.deepEqual(assignedPool(1, 1, 0, 5), []);
  // O(poolSize) memory: a pool from a huge index space is instant
  const big = assignedPool(9, 9, 1000, 2 ** 40);
  assert.equal(new Set(big).size, 1000);
  assert.ok(big.every((i) => i >= 0 && i < 2 ** 40));
  assert.throws(() => sampleWithoutReplacement(new SplitMix64(1), 6, 5), isDataError('InvalidArgument'));
});

test('drawing every index is a permutation, and draws are roughly uniform', () => {
  const perm = sampleWithoutReplacement(new SplitMix64(42), 1000, 1000);
  assert.deepEqual([...perm].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  const counts = new Array<number>(10).fill(0);
  for (let w = 0; w < 2000; w++) for (const i of assignedPool(1, w, 3, 10)) counts[i]++;
  for (const c of counts) assert.ok(c > 480 && c < 720, `counts ${counts}`);
});

test('subsample picks from the pool only, deterministically', () => {
  const pool = assignedPool(2, 9, 100, 10_000);
  const s = subsample(pool, 8, 12345n);
  assert.deepEqual(s, subsample(pool, 8, 12345n));
  assert.notDeepEqual(s, subsample(pool, 8, 12346n));
  assert.equal(new Set(s).size, 8);
  assert.ok(s.every((x) => pool.includes(x)));
  assert.equal(subsample(pool, 1000, 1).length, 100);
});

test('digest and sample id golden values (blake2b-128 of sorted LE uint64; blake2b-64 of uint16 LE tokens)', () => {
  const ids = [5n, 1n, 2n ** 63n + 7n, 42n];
  assert.equal(sampleDigest(ids), '864bab0ca2776bfe37092b12ef082dad');
  assert.equal(sampleDigest([...ids].reverse()), '864bab0ca2776bfe37092b12ef082dad');
  assert.notEqual(sampleDigest(ids), sampleDigest(ids.slice(1)));
  assert.throws(() => sampleDigest([-1n]), isDataError('InvalidArgument'));
  assert.throws(() => sampleDigest([2n ** 64n]), isDataError('InvalidArgument'));
  const tokens = Uint16Array.from({ length: 65 }, (_, i) => (i * 61) % 4096);
  assert.equal(sampleIdOfTokens(tokens), 11349758328932063259n);
  const padded = new Uint16Array(70);
  padded.set(tokens, 3);
  assert.equal(sampleIdOfTokens(padded.subarray(3, 68)), 11349758328932063259n, 'a subarray view hashes only its own bytes');
});
