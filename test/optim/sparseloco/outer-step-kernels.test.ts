import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyOuterStep, compress, DEFAULT_SPARSELOCO, type PeerUpdate } from '../../../src/optim/sparseloco/index.ts';
import type { ParamTensor } from '../../../src/tensor/params.ts';
import { WasmBackend } from '../../../src/tensor/wasm-backend.ts';
import { bitsEqual, MIXED_SPECS, randomParams } from './helpers.ts';

const cfg = DEFAULT_SPARSELOCO;
const backends = [1, 2, 3].map((threads) => new WasmBackend({ threads }));
after(() => backends.forEach((b) => b.dispose()));

function peers(count: number, seed: number, scale = 1e-3): PeerUpdate[] {
  return Array.from({ length: count }, (_, i) => ({ uid: 100 - 7 * i, tensors: compress(randomParams(MIXED_SPECS, seed + i, scale * (1 + i)), cfg) }));
}

/** The same parameters twice: plain arrays, and views of the backend's memory. */
function paramsBoth(be: WasmBackend, seed: number): { plain: ParamTensor[]; inBackend: ParamTensor[] } {
  const plain = randomParams(MIXED_SPECS, seed);
  const inBackend = plain.map((p) => {
    const data = be.view(be.alloc(p.data.length)) as Float32Array;
    data.set(p.data);
    return { ...p, data };
  });
  return { plain, inBackend };
}

describe('applyOuterStep on the wasm kernels', () => {
  test('bit-identical to the JS aggregation for every mode, clipping choice and thread count', () => {
    for (const be of backends) {
      for (const mode of ['selected-mean', 'divide-by-r'] as const) {
        for (const clipToMedianNorm of [true, false]) {
          const { plain, inBackend } = paramsBoth(be, 3);
          const ps = peers(5, 50);
          const options = { lr: 0.65, mode, clipToMedianNorm };
          const a = applyOuterStep(plain, ps, options);
          const b = applyOuterStep(inBackend, [...ps].reverse(), options, be);
          assert.deepEqual(b, a);
          plain.forEach((p, i) => assert.ok(bitsEqual(inBackend[i].data, p.data), `threads ${be.threads} ${mode} clip ${clipToMedianNorm} ${p.name}`));
        }
      }
    }
  });

  test('a tensor whose aggregate overflows is skipped and left untouched, as in JS', () => {
    const be = backends[1];
    const { plain, inBackend } = paramsBoth(be, 4);
    // value tables at ±2e38: where three peers agree in sign the float32 sum overflows
    const ps = peers(3, 70).map((p) => ({
      ...p,
      tensors: p.tensors.map((t) => ({ ...t, quant: { ...t.quant, shift: 0, lookup: Float32Array.from(t.quant.lookup, (v) => (v < 0 ? -2e38 : 2e38)) } })),
    }));
    const options = { lr: 1, mode: 'divide-by-r' as const, clipToMedianNorm: false };
    const before = inBackend.map((p) => p.data.slice());
    const a = applyOuterStep(plain, ps, options);
    const b = applyOuterStep(inBackend, ps, options, be);
    assert.ok(a.skipped.length > 0, 'the scale overflows some sums');
    assert.deepEqual(b, a);
    inBackend.forEach((p, i) => {
      assert.ok(bitsEqual(p.data, plain[i].data), p.name);
      if (a.skipped.includes(p.name)) assert.ok(bitsEqual(p.data, before[i]), `${p.name} untouched`);
    });
  });

  test('parameters outside the backend memory take the JS path', () => {
    const be = backends[1];
    const plain = randomParams(MIXED_SPECS, 5);
    const ref = randomParams(MIXED_SPECS, 5);
    const ps = peers(4, 90);
    assert.equal(be.bufOf(plain[0].data), null);
    applyOuterStep(plain, ps, { lr: 0.4 }, be);
    applyOuterStep(ref, ps, { lr: 0.4 });
    plain.forEach((p, i) => assert.ok(bitsEqual(p.data, ref[i].data), p.name));
  });
});
