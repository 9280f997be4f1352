import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isSubtensorError } from '../../../src/chain/subtensor/errors.ts';
import { float32Sum, normalizeMaxWeight, roundHalfEven, u16ToFractions, weightsToU16 } from '../../../src/chain/subtensor/weights.ts';

interface Gen {
  seed: number;
  n: number;
  power: number;
  zeroAt?: number;
}
interface Golden {
  emit: ({ uids?: number[]; weights?: number[]; gen?: Gen } & ({ outUids: number[]; outValues: number[] } | { count: number; sha256: string }))[];
  normalize: { x?: number[]; gen?: Gen; limit: number; y?: number[]; sha256: string }[];
}

// Outputs of the Python SDK's own functions (see test/fixtures/subtensor-sdk-golden.py).
const GOLDEN = JSON.parse(readFileSync(new URL('../../fixtures/subtensor-sdk-golden.json', import.meta.url), 'utf8')) as Golden;

/** The generator of subtensor-sdk-golden.py, reproduced bit for bit (integer LCG, then exact float64 products). */
function lcg({ seed, n, power }: Gen): number[] {
  const out: number[] = [];
  let u = BigInt(seed);
  for (let i = 0; i < n; i++) {
    u = (1664525n * u + 1013904223n) % 2n ** 32n;
    const x = Number(u) / 2 ** 32;
    let y = 1;
    for (let k = 0; k < power; k++) y *= x;
    out.push(y);
  }
  return out;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('u16 weight normalisation (SDK convert_and_normalize_weights_and_uids)', () => {
  test('matches the SDK on every golden case, including ties to even and dropped zeros', () => {
    assert.ok(GOLDEN.emit.length >= 10);
    for (const c of GOLDEN.emit) {
      let uids = c.uids;
      let weights = c.weights;
      if (c.gen) {
        weights = lcg(c.gen);
        if (c.gen.zeroAt !== undefined) weights[c.gen.zeroAt] = 0;
        uids = weights.map((_, i) => i);
      }
      const out = weightsToU16(uids!, weights!);
      if ('outValues' in c) {
        assert.deepEqual(out.uids, c.outUids, JSON.stringify(c));
        assert.deepEqual(out.values, c.outValues, JSON.stringify(c));
      } else {
        assert.equal(out.values.length, c.count);
        const le = new Uint8Array(new Uint16Array([...out.uids, ...out.values]).buffer);
        assert.equal(sha256(le), c.sha256, `generated case ${JSON.stringify(c.gen)}`);
      }
    }
  });

  test('ties round to even like Python round(): 2.5 → 2, 3.5 → 4, 4.5 → 4', () => {
    assert.deepEqual(weightsToU16([0, 1], [65535, 2.5]).values, [65535, 2]);
    assert.deepEqual(weightsToU16([0, 1], [65535, 3.5]).values, [65535, 4]);
    assert.deepEqual([0.5, 1.5, 2.5, 7.49999, 7.5, 65534.5].map(roundHalfEven), [0, 2, 2, 7, 8, 65534]);
  });

  test('the largest weight always maps to 65535 and fractions invert the scaling', () => {
    const out = weightsToU16([3, 1, 2], [0.2, 0.6, 0.2]);
    assert.deepEqual(out, { uids: [3, 1, 2], values: [21845, 65535, 21845] });
    const f = u16ToFractions(out.values);
    assert.ok(Math.abs(f[1] - 0.6) < 1e-4 && Math.abs(f[0] - 0.2) < 1e-4);
    assert.deepEqual(u16ToFractions([0, 0]), [0, 0]);
  });

  test('bad input is refused with a typed error before any transaction', () => {
    const bad: [number[], number[], RegExp][] = [
      [[0, 1], [1], /differ in length/],
      [[], [], /no weights/],
      [[0, 0], [1, 1], /duplicate uid 0/],
      [[-1], [1], /uid -1/],
      [[65536], [1], /uid 65536/],
      [[1.5], [1], /uid 1.5/],
      [[0], [-0.1], /not a finite non-negative/],
      [[0], [Number.NaN], /not a finite non-negative/],
      [[0], [1e39], /not a finite non-negative/],
      [[0, 1], [0, 0], /all weights are zero/],
    ];
    for (const [uids, weights, msg] of bad) {
      assert.throws(
        () => weightsToU16(uids, weights),
        (err: unknown) => isSubtensorError(err, 'InvalidWeights') && msg.test((err as Error).message),
        `${JSON.stringify(uids)} ${JSON.stringify(weights)}`,
      );
    }
  });
});

describe('normalizeMaxWeight (SDK normalize_max_weight, numpy float32)', () => {
  test('matches the SDK bit for bit on every golden case (sizes 3 to 20000, pairwise float32 sums)', () => {
    assert.ok(GOLDEN.normalize.length >= 10);
    for (const c of GOLDEN.normalize) {
      const x = c.gen ? lcg(c.gen) : c.x!;
      const y = normalizeMaxWeight(x, c.limit);
      if (c.y) assert.deepEqual(Array.from(y), c.y, `x=${JSON.stringify(c.x)} limit=${c.limit}`);
      assert.equal(sha256(new Uint8Array(y.buffer)), c.sha256, `case ${JSON.stringify(c.gen ?? c.x)} limit ${c.limit}`);
    }
  });

  test('result sums to 1 and respects the limit when n * limit > 1', () => {
    const y = normalizeMaxWeight([1, 1, 1, 1, 50], 0.3);
    assert.ok(Math.abs(y.reduce((a, b) => a + b, 0) - 1) < 1e-6);
    assert.ok(Math.max(...y) <= 0.3 + 1e-6);
  });

  test('float32Sum is numpy pairwise summation, not a sequential sum', () => {
    // Expected values from numpy 2.4: np.ones(n, float32) with x[0] = 2**24, summed.
    for (const [n, extra] of [[16, 14], [100, 84]]) {
      const a = new Float32Array(n).fill(1);
      a[0] = 2 ** 24;
      let sequential = 0;
      for (const v of a) sequential = Math.fround(sequential + v);
      assert.equal(sequential, 2 ** 24);
      assert.equal(float32Sum(a), 2 ** 24 + extra);
    }
  });

  test('bad input is refused with a typed error', () => {
    assert.throws(() => normalizeMaxWeight([], 0.1), (e: unknown) => isSubtensorError(e, 'InvalidWeights'));
    assert.throws(() => normalizeMaxWeight([1, Number.NaN], 0.1), (e: unknown) => isSubtensorError(e, 'InvalidWeights'));
    assert.throws(() => normalizeMaxWeight([1, 2], -1), (e: unknown) => isSubtensorError(e, 'InvalidWeights'));
  });
});
