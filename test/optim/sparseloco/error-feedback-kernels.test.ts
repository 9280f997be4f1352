import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ParamSpec } from '../../../src/model/config.ts';
import { DEFAULT_SPARSELOCO, ErrorFeedback, SparseLoCoError, type CompressedTensor } from '../../../src/optim/sparseloco/index.ts';
import type { ParamTensor } from '../../../src/tensor/params.ts';
import { Rng } from '../../../src/tensor/rng.ts';
import { WasmBackend } from '../../../src/tensor/wasm-backend.ts';
import { bitsEqual, MIXED_SPECS, randomParams } from './helpers.ts';

const cfg = DEFAULT_SPARSELOCO;
const SPECS: ParamSpec[] = [
  ...MIXED_SPECS,
  { name: 'thin', shape: [3, 640] },
  { name: 'wide1d', shape: [4096] },
  { name: 'tall', shape: [256, 64] },
  { name: 'tail', shape: [64, 62] },
];
const backends = [1, 2, 3].map((threads) => new WasmBackend({ threads }));
after(() => backends.forEach((b) => b.dispose()));

/** Δ with many exact ties: values on a coarse grid, some zeros and negative zeros. */
function tiedParams(specs: readonly ParamSpec[], seed: number): ParamTensor[] {
  const rng = new Rng(seed);
  return randomParams(specs, seed).map((t) => {
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      const u = rng.uniform();
      d[i] = u < 0.1 ? 0 : u < 0.15 ? -0 : Math.round(d[i] * 4) / 4;
    }
    return t;
  });
}

function assertSameUpdate(a: readonly CompressedTensor[], b: readonly CompressedTensor[], what: string): void {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => {
    const y = b[i];
    assert.deepEqual(y.indices, x.indices, `${what} ${x.name} indices`);
    assert.deepEqual(y.codes, x.codes, `${what} ${x.name} codes`);
    assert.ok(Object.is(y.quant.shift, x.quant.shift) && Object.is(y.quant.scale, x.quant.scale), `${what} ${x.name} quant`);
    assert.ok(bitsEqual(y.quant.lookup, x.quant.lookup), `${what} ${x.name} lookup`);
  });
}

function assertSameBuffers(a: ErrorFeedback, b: ErrorFeedback, what: string): void {
  a.buffers.forEach((t, i) => assert.ok(bitsEqual(b.buffers[i].data, t.data), `${what} ${t.name} e`));
}

describe('ErrorFeedback on the wasm kernels', () => {
  test('same updates and buffers as the JS reference, bit for bit, for 1, 2 and 3 threads', () => {
    for (const be of backends) {
      const ref = ErrorFeedback.zeros(SPECS);
      const ef = ErrorFeedback.zeros(SPECS, be);
      for (let round = 0; round < 4; round++) {
        const delta = round % 2 === 0 ? randomParams(SPECS, 20 + round, 1e-3) : tiedParams(SPECS, 20 + round);
        const c = { ...cfg, beta: round === 3 ? 0.5 : cfg.beta };
        assertSameUpdate(ref.step(delta, c), ef.step(delta, c), `threads ${be.threads} round ${round}`);
        assertSameBuffers(ref, ef, `threads ${be.threads} round ${round}`);
      }
      assertSameUpdate(ref.nullRound(cfg), ef.nullRound(cfg), `threads ${be.threads} null round`);
      ef.dispose();
    }
  });

  test('other top-k sizes (fewer and more kept than a chunk has rows) match the reference too', () => {
    for (const topk of [1, 16, 100, 4096]) {
      const c = { ...cfg, topk };
      const ref = ErrorFeedback.zeros(SPECS);
      const ef = ErrorFeedback.zeros(SPECS, backends[1]);
      for (let round = 0; round < 2; round++) {
        const delta = round === 0 ? randomParams(SPECS, 40 + topk, 1e-3) : tiedParams(SPECS, 41 + topk);
        assertSameUpdate(ref.step(delta, c), ef.step(delta, c), `topk ${topk} round ${round}`);
        assertSameBuffers(ref, ef, `topk ${topk} round ${round}`);
      }
      ef.dispose();
    }
  });

  test('Δ written into deltaViews() is used in place', () => {
    const be = backends[1];
    const ref = ErrorFeedback.zeros(SPECS);
    const ef = ErrorFeedback.zeros(SPECS, be);
    const views = ef.deltaViews();
    assert.ok(views !== null && views.length === SPECS.length);
    const delta = randomParams(SPECS, 5, 1e-2);
    const inPlace = delta.map((t, i) => {
      views[i].set(t.data);
      return { ...t, data: views[i] };
    });
    assertSameUpdate(ref.step(delta, cfg), ef.step(inPlace, cfg), 'in place');
    assertSameBuffers(ref, ef, 'in place');
    assert.equal(ErrorFeedback.zeros(SPECS).deltaViews(), null);
    ef.dispose();
  });

  test('restored buffers are copied in; NaN in Δ throws NonFinite and leaves every e as it was', () => {
    const be = backends[1];
    const start = randomParams(SPECS, 9, 1e-3);
    const ef = ErrorFeedback.fromBuffers(start, be);
    const ref = ErrorFeedback.fromBuffers(randomParams(SPECS, 9, 1e-3));
    assertSameBuffers(ref, ef, 'restored');
    const before = ef.buffers.map((t) => t.data.slice());
    const delta = randomParams(SPECS, 10, 1e-3);
    delta[SPECS.length - 1].data[7] = NaN;
    assert.throws(() => ef.step(delta, cfg), (e: unknown) => e instanceof SparseLoCoError && e.code === 'NonFinite' && /tail/.test(e.message));
    ef.buffers.forEach((t, i) => assert.ok(bitsEqual(t.data, before[i]), t.name));
    ef.dispose();
  });

  test('an e that overflows to Inf is NonFinite, naming the tensor and chunk', () => {
    const be = backends[2];
    const ef = ErrorFeedback.zeros(SPECS, be);
    const delta = randomParams(SPECS, 11, 1e-3);
    delta[2].data.fill(3e38);
    ef.step(delta, cfg);
    assert.throws(() => ef.step(delta, cfg), (e: unknown) => e instanceof SparseLoCoError && e.code === 'NonFinite' && /q: chunk 0 /.test(e.message));
    ef.dispose();
  });
});
