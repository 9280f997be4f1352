import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chunkLayout,
  DEFAULT_COMPRESSION,
  selectTopK,
  SparseLoCoError,
  toChunks,
  type ChunkLayout,
} from '../../../src/optim/sparseloco/index.ts';
import { Rng } from '../../../src/tensor/rng.ts';

/** Brute force: sort each chunk by (|x| desc, index asc), keep k, report ascending indices. */
function bruteForce(data: Float32Array, l: ChunkLayout): { idx: number[]; vals: number[] } {
  const chunks = toChunks(data, l);
  const idx: number[] = [];
  const vals: number[] = [];
  for (let c = 0; c < l.numChunks; c++) {
    const order = Array.from({ length: l.chunkLen }, (_, j) => j);
    const v = (j: number) => chunks[c * l.chunkLen + j];
    order.sort((a, b) => Math.abs(v(b)) - Math.abs(v(a)) || a - b);
    const kept = order.slice(0, l.k).sort((a, b) => a - b);
    for (const j of kept) {
      idx.push(j);
      vals.push(v(j));
    }
  }
  return { idx, vals };
}

function run(data: Float32Array, l: ChunkLayout) {
  const idx = new Uint16Array(l.numChunks * l.k);
  const vals = new Float32Array(l.numChunks * l.k);
  selectTopK(data, l, idx, vals);
  return { idx: [...idx], vals: [...vals] };
}

describe('selectTopK', () => {
  const rng = new Rng(7);
  const generators: [string, () => number][] = [
    ['gaussian', () => rng.normal()],
    ['heavy ties (integers in [-3, 3])', () => Math.round(rng.uniform() * 6) - 3],
    ['few distinct magnitudes with signed zeros', () => [0, -0, 0.5, -0.5, 1e-30][Math.floor(rng.uniform() * 5)]],
    ['wide dynamic range incl. subnormals', () => (rng.uniform() - 0.5) * 2 ** Math.floor(rng.uniform() * 260 - 150)],
    ['all equal', () => 0.25],
  ];
  const shapes = [[128, 128], [100, 96], [67, 64], [96], [3, 5]];
  for (const [label, gen] of generators) {
    test(`matches brute force: ${label}`, () => {
      for (const shape of shapes) {
        for (const topk of [1, 7, 64, 5000]) {
          const l = chunkLayout(shape, { ...DEFAULT_COMPRESSION, topk, chunkTarget1d: 32 });
          const data = Float32Array.from({ length: l.rows * l.cols }, gen);
          assert.deepEqual(run(data, l), bruteForce(data, l), `${label} shape=[${shape}] topk=${topk}`);
        }
      }
    });
  }

  test('lower index wins ties', () => {
    const l = chunkLayout([8], { ...DEFAULT_COMPRESSION, chunkTarget1d: 8, topk: 3 });
    const data = Float32Array.of(1, -2, 2, 0, -2, 2, 1, 3);
    const { idx, vals } = run(data, l);
    assert.deepEqual(idx, [1, 2, 7]);
    assert.deepEqual(vals, [-2, 2, 3]);
  });

  test('a dense chunk (k = chunk length) keeps everything in order', () => {
    const l = chunkLayout([128], DEFAULT_COMPRESSION);
    assert.equal(l.k, l.chunkLen);
    const data = Float32Array.from({ length: 128 }, (_, i) => i - 64);
    const { idx, vals } = run(data, l);
    assert.deepEqual(idx, [...Array(64).keys(), ...Array(64).keys()]);
    assert.deepEqual(vals, [...data]);
  });

  test('NaN and Inf are rejected with NonFinite', () => {
    const l = chunkLayout([64, 64], DEFAULT_COMPRESSION);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const data = new Float32Array(4096);
      data[1234] = bad;
      assert.throws(() => run(data, l), (e: unknown) => e instanceof SparseLoCoError && e.code === 'NonFinite');
    }
  });

  test('a wrong-size tensor is ShapeMismatch', () => {
    const l = chunkLayout([64, 64], DEFAULT_COMPRESSION);
    assert.throws(() => run(new Float32Array(10), l), (e: unknown) => e instanceof SparseLoCoError && e.code === 'ShapeMismatch');
  });
});
