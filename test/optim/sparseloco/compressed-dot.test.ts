import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compress, compressedDot, compressedUpdateDot, decompressTensor, isSparseLoCoError, type CompressionConfig } from '../../../src/optim/sparseloco/index.ts';
import { randomParams } from './helpers.ts';

const cfg: CompressionConfig = { chunkTarget: 16, chunkTarget1d: 16, topk: 4, quantBins: 4, quantRange: 6 };
const specs = [
  { name: 'w', shape: [32, 48] },
  { name: 'b', shape: [40] },
];

function denseDot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

describe('compressedDot', () => {
  test('equals the inner product of the dense reconstructions, tensor by tensor and summed', () => {
    const a = compress(randomParams(specs, 1), cfg);
    const b = compress(randomParams(specs, 2), cfg);
    let total = 0;
    for (let t = 0; t < a.length; t++) {
      const dense = denseDot(decompressTensor(a[t]), decompressTensor(b[t]));
      total += dense;
      assert.ok(Math.abs(compressedDot(a[t], b[t]) - dense) <= 1e-9 * Math.max(1, Math.abs(dense)), `${a[t].name}`);
    }
    assert.ok(Math.abs(compressedUpdateDot(a, b) - total) <= 1e-9 * Math.max(1, Math.abs(total)));
    const self = denseDot(decompressTensor(a[0]), decompressTensor(a[0]));
    assert.ok(Math.abs(compressedDot(a[0], a[0]) - self) <= 1e-9 * self);
  });

  test('different layouts or tensor counts are a ShapeMismatch', () => {
    const a = compress(randomParams(specs, 1), cfg);
    const other = compress(randomParams([{ name: 'w', shape: [16, 48] }], 3), cfg);
    assert.throws(() => compressedDot(a[0], other[0]), (e: unknown) => isSparseLoCoError(e, 'ShapeMismatch'));
    assert.throws(() => compressedUpdateDot(a, other), (e: unknown) => isSparseLoCoError(e, 'ShapeMismatch'));
  });
});
