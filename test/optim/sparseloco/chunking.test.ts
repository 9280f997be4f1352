import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chunkLayout,
  DEFAULT_COMPRESSION,
  fromChunks,
  largestDivisorAtMost,
  toChunks,
  SparseLoCoError,
} from '../../../src/optim/sparseloco/index.ts';
import { MODEL_CONFIGS, paramSpecs } from '../../../src/model/config.ts';

describe('largestDivisorAtMost (Templar _get_smaller_split)', () => {
  test('divisible and non-divisible dimensions', () => {
    assert.equal(largestDivisorAtMost(4096, 64), 64);
    assert.equal(largestDivisorAtMost(28672, 64), 64);
    assert.equal(largestDivisorAtMost(262144, 64), 64);
    assert.equal(largestDivisorAtMost(100, 64), 50);
    assert.equal(largestDivisorAtMost(96, 64), 48);
    assert.equal(largestDivisorAtMost(67, 64), 1); // prime above the target
    assert.equal(largestDivisorAtMost(48, 64), 48); // at or below the target: n itself
    assert.equal(largestDivisorAtMost(1, 64), 1);
  });

  test('matches a brute-force search', () => {
    for (let n = 1; n <= 600; n++) {
      for (const t of [1, 7, 64]) {
        let best = 1;
        for (let d = 1; d <= Math.min(n, t); d++) if (n % d === 0) best = d;
        if (n <= t) best = n;
        assert.equal(largestDivisorAtMost(n, t), best, `n=${n} t=${t}`);
      }
    }
  });

  test('rejects non-positive dimensions', () => {
    assert.throws(() => largestDivisorAtMost(0, 64), SparseLoCoError);
  });
});

describe('chunkLayout', () => {
  test('every llama-70b / llama-8b matrix gets 64×64 chunks, norms get [N/64, 64]', () => {
    for (const name of ['llama-8b', 'llama-70b'] as const) {
      for (const s of paramSpecs(MODEL_CONFIGS[name])) {
        const l = chunkLayout(s.shape, DEFAULT_COMPRESSION);
        if (s.shape.length === 2) {
          assert.deepEqual([l.chunkRows, l.chunkCols, l.chunkLen, l.k], [64, 64, 4096, 64], s.name);
          assert.equal(l.numChunks, (s.shape[0] / 64) * (s.shape[1] / 64));
        } else {
          assert.deepEqual([l.rows, l.cols, l.chunkRows, l.chunkCols, l.k], [1, s.shape[0], 1, 64, 64], s.name);
        }
      }
    }
  });

  test('non-divisible shapes tile exactly with smaller divisors', () => {
    const odd = chunkLayout([100, 96], DEFAULT_COMPRESSION);
    assert.deepEqual([odd.chunkRows, odd.chunkCols, odd.gridRows, odd.gridCols, odd.chunkLen, odd.k], [50, 48, 2, 2, 2400, 64]);
    const prime = chunkLayout([67, 64], DEFAULT_COMPRESSION);
    assert.deepEqual([prime.chunkRows, prime.chunkCols, prime.numChunks, prime.chunkLen, prime.k], [1, 64, 67, 64, 64]);
    const thin = chunkLayout([67, 67], DEFAULT_COMPRESSION);
    assert.deepEqual([thin.chunkLen, thin.k, thin.numChunks], [1, 1, 67 * 67]);
    const oneDimPrime = chunkLayout([4099], DEFAULT_COMPRESSION);
    assert.deepEqual([oneDimPrime.chunkCols, oneDimPrime.k], [1, 1]);
    const scalar = chunkLayout([], DEFAULT_COMPRESSION);
    assert.deepEqual([scalar.rows, scalar.cols, scalar.numChunks, scalar.k], [1, 1, 1, 1]);
    const rank3 = chunkLayout([4, 32, 64], DEFAULT_COMPRESSION);
    assert.deepEqual([rank3.rows, rank3.cols, rank3.chunkRows, rank3.chunkCols], [128, 64, 64, 64]);
    const sparse1d = chunkLayout([8192], { ...DEFAULT_COMPRESSION, chunkTarget1d: 4096 });
    assert.deepEqual([sparse1d.chunkCols, sparse1d.numChunks, sparse1d.k], [4096, 2, 64]);
  });

  test('toChunks follows "(y h)(x w) -> y x (h w)" and fromChunks inverts it', () => {
    for (const shape of [[100, 96], [128, 192], [67, 64], [96], [6, 10]]) {
      const cfg = { ...DEFAULT_COMPRESSION, chunkTarget: shape[0] === 6 ? 4 : 64, chunkTarget1d: 64 };
      const l = chunkLayout(shape, cfg);
      const data = Float32Array.from({ length: l.rows * l.cols }, (_, i) => i);
      const chunks = toChunks(data, l);
      for (let gy = 0; gy < l.gridRows; gy++) {
        for (let gx = 0; gx < l.gridCols; gx++) {
          for (let h = 0; h < l.chunkRows; h++) {
            for (let w = 0; w < l.chunkCols; w++) {
              const c = gy * l.gridCols + gx;
              const expected = (gy * l.chunkRows + h) * l.cols + gx * l.chunkCols + w;
              assert.equal(chunks[c * l.chunkLen + h * l.chunkCols + w], expected);
            }
          }
        }
      }
      assert.deepEqual(fromChunks(chunks, l), data);
    }
  });
});
