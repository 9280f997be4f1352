import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dequantTable, MAX_SCALE, quantize, roundHalfEven } from '../../../src/optim/sparseloco/index.ts';
import { Rng } from '../../../src/tensor/rng.ts';

const f = Math.fround;

function q(values: number[], bins = 4, range = 6) {
  const v = Float32Array.from(values);
  const codes = new Uint8Array(v.length);
  const params = quantize(v, bins, range, codes);
  const table = dequantTable(params);
  return { params, codes: [...codes], dequant: [...codes].map((c) => table[c]) };
}

describe('quantize (Templar _quantize_values, 4 bins, range 6)', () => {
  test('hand-computed example', () => {
    // v = [1, 2, 3, 4, 10]: shift 4, c = [-3, -2, -1, 0, 6], σ = √(50/4), scale = 6σ/4 ≈ 5.3033
    // c/scale + 2 = [1.434, 1.623, 1.811, 2, 3.131] → codes [1, 2, 2, 2, 3]; lookup = [0, -3, -1, 6]
    const r = q([1, 2, 3, 4, 10]);
    assert.equal(r.params.shift, 4);
    assert.equal(r.params.scale, f((6 * Math.sqrt(12.5)) / 4));
    assert.deepEqual(r.codes, [1, 2, 2, 2, 3]);
    assert.deepEqual([...r.params.lookup], [0, -3, -1, 6]);
    assert.deepEqual(r.dequant, [1, 3, 3, 3, 10]);
  });

  test('negative-heavy example with an empty top bin', () => {
    // v = [-8, -1, 0, 1]: shift -2, c = [-6, 1, 2, 3], σ = √(50/3) ≈ 4.0825, scale ≈ 6.1237
    // c/scale + 2 = [1.020, 2.163, 2.327, 2.490] → codes [1, 2, 2, 2]; lookup = [0, -6, 2, 0]
    const r = q([-8, -1, 0, 1]);
    assert.equal(r.params.shift, -2);
    assert.deepEqual(r.codes, [1, 2, 2, 2]);
    assert.deepEqual([...r.params.lookup], [0, -6, 2, 0]);
    assert.deepEqual(r.dequant, [-8, 0, 0, 0]);
  });

  test('degenerate scales become 1.0', () => {
    assert.deepEqual(q([3, 3, 3]).params.scale, 1); // σ = 0
    assert.deepEqual(q([3, 3, 3]).dequant, [3, 3, 3]);
    assert.equal(q([0.5]).params.scale, 1); // n = 1: σ undefined
    assert.deepEqual(q([0.5]).dequant, [0.5]);
    assert.equal(q([1e-13, -1e-13]).params.scale, 1); // below the receivers' 1e-12 bound
  });

  test('a scale at or above the receivers bound is clamped below it', () => {
    const r = q([-1e5, 1e5, 3e4, -2e4]);
    assert.ok(r.params.scale < MAX_SCALE && r.params.scale > 9998, String(r.params.scale));
    for (let b = 0; b < 4; b++) assert.ok(Number.isFinite(r.params.lookup[b]));
  });

  test('round half to even, like torch.round', () => {
    assert.deepEqual([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, 2.4999, 2.5001].map(roundHalfEven), [0, 2, 2, 4, -0, -2, 2, 3]);
  });

  test('random values: codes follow the bin edges and lookup is the per-bin centroid', () => {
    const rng = new Rng(3);
    for (const bins of [2, 4, 16]) {
      const v = Float32Array.from({ length: 999 }, () => 0.01 * rng.normal() + 0.003);
      const codes = new Uint8Array(v.length);
      const p = quantize(v, bins, 6, codes);
      let sum = 0;
      for (const x of v) sum += x;
      assert.equal(p.shift, f(sum / v.length));
      let ss = 0;
      for (const x of v) ss += f(x - p.shift) ** 2;
      assert.equal(p.scale, f((6 * Math.sqrt(ss / (v.length - 1))) / bins));
      const sums = new Array(bins).fill(0);
      const counts = new Array(bins).fill(0);
      for (let i = 0; i < v.length; i++) {
        const c = f(v[i] - p.shift);
        const expected = Math.min(bins - 1, Math.max(0, roundHalfEven(f(f(c / p.scale) + bins / 2))));
        assert.equal(codes[i], expected);
        sums[expected] += c;
        counts[expected]++;
      }
      for (let b = 0; b < bins; b++) assert.equal(p.lookup[b], counts[b] ? f(sums[b] / counts[b]) : 0);
      // With 4 bins and range 6 the edges sit at ±0.75σ and ±2.25σ: most mass in the middle bins.
      if (bins === 4) assert.ok(counts[1] + counts[2] > 0.7 * v.length);
    }
  });
});
