import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchError } from '../../src/model/batch.ts';
import { MODEL_CONFIGS, paramSpecs } from '../../src/model/config.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { createModel, INIT_STD, ModelError } from '../../src/model/llama.ts';
import { TensorError } from '../../src/tensor/errors.ts';
import { Rng } from '../../src/tensor/rng.ts';
import type { WasmBackend } from '../../src/tensor/wasm-backend.ts';

const micro: ModelConfig = {
  name: 'micro', vocabSize: 23, dim: 12, nLayers: 2, nHeads: 3, nKvHeads: 1, ffnDim: 10, maxSeqLen: 8,
  ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: true,
};

function randomBatch(cfg: ModelConfig, batchSize: number, seqLen: number, seed: number) {
  const rng = new Rng(seed);
  const tokens = Int32Array.from({ length: batchSize * (seqLen + 1) }, () => rng.nextU32() % cfg.vocabSize);
  return { tokens, batchSize, seqLen };
}

describe('LLaMA model', () => {
  test('parameters() follow paramSpecs and are live views', () => {
    const m = createModel(MODEL_CONFIGS.tiny, { seed: 3, threads: 1 });
    try {
      const ps = m.parameters();
      assert.deepEqual(ps.map((p) => [p.name, [...p.shape]]), paramSpecs(MODEL_CONFIGS.tiny).map((s) => [s.name, [...s.shape]]));
      for (const p of ps) assert.ok(p.data instanceof Float32Array && p.data.length === p.shape.reduce((a, b) => a * b, 1));
      const batch = randomBatch(MODEL_CONFIGS.tiny, 2, 8, 1);
      const before = m.loss(batch);
      ps[0].data.fill(0); // zero the embedding table through the view handed out
      const after = m.loss(batch);
      assert.notEqual(before, after);
      assert.ok(Math.abs(after - Math.log(MODEL_CONFIGS.tiny.vocabSize)) < 1e-5, 'zero embeddings give uniform logits');
      assert.equal(m.parameters()[0].data[5], 0);
    } finally {
      m.dispose();
    }
  });

  test('init is deterministic from the seed: N(0, 0.02) weights, unit norms', () => {
    const a = createModel(MODEL_CONFIGS.tiny, { seed: 11, threads: 1 });
    const b = createModel(MODEL_CONFIGS.tiny, { seed: 11, threads: 2 });
    const c = createModel(MODEL_CONFIGS.tiny, { seed: 12, threads: 1 });
    try {
      const pa = a.parameters(), pb = b.parameters(), pc = c.parameters();
      for (let i = 0; i < pa.length; i++) assert.deepEqual(pa[i].data, pb[i].data);
      assert.notDeepEqual(pa[0].data, pc[0].data);
      for (const p of pa) {
        if (p.shape.length === 1) assert.ok(p.data.every((v) => v === 1), p.name);
        else {
          let s = 0, s2 = 0;
          for (const v of p.data) { s += v; s2 += v * v; }
          const mean = s / p.data.length, std = Math.sqrt(s2 / p.data.length - mean * mean);
          assert.ok(Math.abs(std - INIT_STD) < 0.002 && Math.abs(mean) < 0.002, `${p.name} mean ${mean} std ${std}`);
        }
      }
    } finally {
      a.dispose(); b.dispose(); c.dispose();
    }
  });

  test('loss() (no graph) equals the loss of lossAndGrad and does not leak memory', () => {
    const m = createModel(MODEL_CONFIGS.tiny, { seed: 1, threads: 2 });
    try {
      const batch = randomBatch(MODEL_CONFIGS.tiny, 3, 17, 2);
      const l1 = m.loss(batch);
      const live = (m.backend as WasmBackend).liveBytes;
      for (let i = 0; i < 3; i++) assert.equal(m.loss(batch), l1);
      assert.equal(m.lossAndGrad(batch), l1);
      assert.equal(m.loss(batch), l1);
      assert.equal((m.backend as WasmBackend).liveBytes, live, 'intermediates are all freed');
    } finally {
      m.dispose();
    }
  });

  test('memory stays bounded when batch shapes change between calls', () => {
    const m = createModel(MODEL_CONFIGS.tiny, { seed: 1, threads: 1 });
    try {
      const be = m.backend as WasmBackend;
      const run = (b: ReturnType<typeof randomBatch>, grad: boolean) => (grad ? m.lossAndGrad(b) : m.loss(b));
      const largest = randomBatch(MODEL_CONFIGS.tiny, 4, 64, 0);
      run(largest, true);
      run(largest, true);
      const reserved = be.memoryBytes();
      const rng = new Rng(4);
      for (let it = 0; it < 40; it++) {
        run(randomBatch(MODEL_CONFIGS.tiny, 1 + (rng.nextU32() % 4), 1 + (rng.nextU32() % 64), it), it % 2 === 0);
      }
      assert.equal(be.memoryBytes(), reserved);
    } finally {
      m.dispose();
    }
  });

  test('wasm and JS reference agree on loss and gradients (float32)', () => {
    const w = createModel(micro, { seed: 5, threads: 3 });
    const j = createModel(micro, { seed: 5, backend: 'js' });
    try {
      const batch = randomBatch(micro, 3, 7, 9);
      const lw = w.lossAndGrad(batch), lj = j.lossAndGrad(batch);
      assert.ok(Math.abs(lw - lj) < 1e-5 * lj);
      const gw = w.gradArrays(), gj = j.gradArrays();
      for (let i = 0; i < gw.length; i++) {
        let d = 0, s = 1e-30;
        for (let k = 0; k < gj[i].length; k++) { d = Math.max(d, Math.abs(gw[i][k] - gj[i][k])); s = Math.max(s, Math.abs(gj[i][k])); }
        assert.ok(d / s < 1e-4, `${w.flat.layout[i].name}: ${d / s}`);
      }
    } finally {
      w.dispose(); j.dispose();
    }
  });

  for (const tie of [true, false]) {
    test(`whole-model gradient check in float64 (tied=${tie})`, () => {
      const cfg = { ...micro, tieEmbeddings: tie };
      const m = createModel(cfg, { seed: 2, backend: 'js', jsDType: 'float64' });
      const batch = { ...randomBatch(cfg, 2, 6, 4), targetMask: Uint8Array.from({ length: 12 }, (_, i) => (i % 4 === 3 ? 0 : 1)) };
      // larger weights than init so every path carries signal
      const pv = m.backend.view(m.flat.params);
      const rng = new Rng(8);
      for (let i = 0; i < pv.length; i++) pv[i] = pv[i] === 1 ? 1 + 0.3 * rng.normal() : 0.3 * rng.normal();
      m.lossAndGrad(batch);
      const grads = m.backend.view(m.flat.grads).slice();
      const h = 1e-6;
      for (const e of m.flat.layout) {
        for (let s = 0; s < 4; s++) {
          const k = e.offset + (rng.nextU32() % e.size);
          const orig = pv[k];
          pv[k] = orig + h;
          const fp = m.loss(batch);
          pv[k] = orig - h;
          const fm = m.loss(batch);
          pv[k] = orig;
          const num = (fp - fm) / (2 * h);
          assert.ok(Math.abs(num - grads[k]) < 1e-6 * Math.max(1, Math.abs(num)), `${e.name}[${k - e.offset}]: ${grads[k]} vs ${num}`);
        }
      }
      m.dispose();
    });
  }

  test('bad batches are rejected with typed errors and change nothing', () => {
    const m = createModel(micro, { seed: 1, threads: 1 });
    try {
      const good = randomBatch(micro, 2, 4, 1);
      const before = m.parameters().map((p) => p.data.slice());
      const bad: Array<[object, string]> = [
        [{ ...good, tokens: good.tokens.subarray(1) }, 'BadShape'],
        [{ ...good, batchSize: 0 }, 'BadShape'],
        [{ ...good, seqLen: 4.5 }, 'BadShape'],
        [{ tokens: new Int32Array(2 * 10), batchSize: 2, seqLen: 9 }, 'SeqTooLong'],
        [{ ...good, tokens: Int32Array.from(good.tokens, (t, i) => (i === 3 ? micro.vocabSize : t)) }, 'BadToken'],
        [{ ...good, tokens: Int32Array.from(good.tokens, (t, i) => (i === 0 ? -1 : t)) }, 'BadToken'],
        [{ ...good, targetMask: new Uint8Array(3) }, 'BadMask'],
        [{ ...good, tokens: Array.from(good.tokens) }, 'BadShape'],
      ];
      for (const [b, code] of bad) {
        assert.throws(() => m.loss(b as never), (e: unknown) => e instanceof BatchError && e.code === code);
        assert.throws(() => m.lossAndGrad(b as never), (e: unknown) => e instanceof BatchError && e.code === code);
      }
      m.parameters().forEach((p, i) => assert.deepEqual(p.data, before[i]));
      assert.equal(typeof m.loss(good), 'number');
    } finally {
      m.dispose();
    }
  });

  test('Uint16 and Uint32 token arrays give the same loss as Int32', () => {
    const m = createModel(micro, { seed: 1, threads: 1 });
    try {
      const b = randomBatch(micro, 2, 5, 3);
      const l = m.loss(b);
      assert.equal(m.loss({ ...b, tokens: Uint16Array.from(b.tokens) }), l);
      assert.equal(m.loss({ ...b, tokens: Uint32Array.from(b.tokens) }), l);
    } finally {
      m.dispose();
    }
  });

  test('a model too large for wasm32 memory, or a bad thread count, is a typed error', () => {
    assert.throws(() => createModel(MODEL_CONFIGS['llama-1b'], { threads: 1 }), (e: unknown) => e instanceof TensorError && e.code === 'OutOfMemory');
    assert.throws(() => createModel(MODEL_CONFIGS.tiny, { maxMemoryMB: 1, threads: 1 }), (e: unknown) => e instanceof TensorError && e.code === 'OutOfMemory');
    for (const threads of [0, -1, 1.5, 1000]) {
      assert.throws(() => createModel(micro, { threads }), (e: unknown) => e instanceof TensorError && e.code === 'InvalidArgument');
    }
  });

  test('a disposed model refuses work', () => {
    const m = createModel(micro, { seed: 1, threads: 2 });
    m.dispose();
    assert.throws(() => m.loss(randomBatch(micro, 1, 2, 1)), (e: unknown) => e instanceof ModelError && e.code === 'Disposed');
  });
});
