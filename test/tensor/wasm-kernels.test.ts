// Every wasm kernel against the JS reference in float32 (odd sizes, several thread counts), and
// bit-identical wasm results whatever the thread count.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend, Buf, IntBuf } from '../../src/tensor/backend.ts';
import { JsBackend } from '../../src/tensor/js-backend.ts';
import { Rng } from '../../src/tensor/rng.ts';
import { WasmBackend } from '../../src/tensor/wasm-backend.ts';

interface Spec {
  /** float inputs (random normal unless given) */
  inputs: Record<string, number | Float64Array>;
  /** int inputs */
  ints?: Record<string, number[]>;
  /** outputs and their sizes (pre-filled with random values so accumulate paths are exercised) */
  outputs: Record<string, number>;
  run(be: Backend, f: Record<string, Buf>, i: Record<string, IntBuf>): void;
  tol?: number;
}

const THREADS = [1, 2, 3];
const wasm = THREADS.map((threads) => new WasmBackend({ threads }));
const ref = new JsBackend('float32');
after(() => wasm.forEach((w) => w.dispose()));

function materialize(be: Backend, spec: Spec, seed: number): { f: Record<string, Buf>; i: Record<string, IntBuf> } {
  const rng = new Rng(seed);
  const f: Record<string, Buf> = {};
  for (const [k, v] of Object.entries({ ...spec.inputs, ...spec.outputs })) {
    const vals = typeof v === 'number' ? Float64Array.from({ length: v }, () => rng.normal()) : v;
    const b = be.alloc(vals.length);
    be.view(b).set(vals);
    f[k] = b;
  }
  const i: Record<string, IntBuf> = {};
  for (const [k, v] of Object.entries(spec.ints ?? {})) {
    const b = be.allocInt(v.length);
    be.intView(b).set(v);
    i[k] = b;
  }
  return { f, i };
}

function check(name: string, spec: Spec): void {
  test(name, () => {
    const r = materialize(ref, spec, 1);
    spec.run(ref, r.f, r.i);
    let first: Record<string, Float32Array> | null = null;
    for (const w of wasm) {
      const m = materialize(w, spec, 1);
      spec.run(w, m.f, m.i);
      const outs: Record<string, Float32Array> = {};
      for (const k of Object.keys(spec.outputs)) {
        const got = Float32Array.from(w.view(m.f[k]));
        const want = ref.view(r.f[k]);
        let scale = 1e-30, diff = 0;
        for (let j = 0; j < want.length; j++) {
          scale = Math.max(scale, Math.abs(want[j]));
          diff = Math.max(diff, Math.abs(got[j] - want[j]));
        }
        assert.ok(diff / scale <= (spec.tol ?? 2e-6), `${k} (threads ${w.threads}): max diff ${diff} vs scale ${scale}`);
        outs[k] = got;
      }
      if (first === null) first = outs;
      else for (const k of Object.keys(outs)) assert.deepEqual(outs[k], first[k], `${k}: threads ${w.threads} differs from 1 thread`);
      for (const b of Object.values(m.f)) w.free(b);
      for (const b of Object.values(m.i)) w.free(b);
    }
  });
}

function ones(n: number): Float64Array {
  return new Float64Array(n).fill(1);
}

describe('wasm kernels vs JS reference (float32)', () => {
  const n = 1031;
  check('fill', { inputs: {}, outputs: { y: n }, run: (be, f) => be.fill(f.y, 0.25) });
  check('copy', { inputs: { x: n }, outputs: { y: n }, run: (be, f) => be.copy(f.y, f.x) });
  check('add', { inputs: { a: n, b: n }, outputs: { y: n }, run: (be, f) => be.add(f.y, f.a, f.b) });
  check('mul', { inputs: { a: n, b: n }, outputs: { y: n }, run: (be, f) => be.mul(f.y, f.a, f.b) });
  check('scale', { inputs: { a: n }, outputs: { y: n }, run: (be, f) => be.scale(f.y, f.a, -0.3) });
  check('axpy', { inputs: { a: n }, outputs: { y: n }, run: (be, f) => be.axpy(f.y, f.a, 0.7) });
  test('sum and sum of squares', () => {
    const vals = Float64Array.from({ length: 40007 }, (_, i) => Math.sin(i));
    const b0 = ref.alloc(vals.length);
    ref.view(b0).set(vals);
    const want = [ref.sum(b0, false), ref.sum(b0, true)];
    const got = wasm.map((w) => {
      const b = w.alloc(vals.length);
      w.view(b).set(vals);
      const r = [w.sum(b, false), w.sum(b, true)];
      w.free(b);
      return r;
    });
    for (const g of got) {
      assert.ok(Math.abs(g[0] - want[0]) < 1e-3 && Math.abs(g[1] - want[1]) / want[1] < 1e-6);
      assert.deepEqual(g, got[0]);
    }
  });
  for (const [m, nn, k] of [[1, 1, 1], [5, 7, 9], [13, 33, 300], [67, 9, 513], [130, 70, 20]]) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const acc of [false, true]) {
          check(`matmul ${m}x${nn}x${k} transA=${transA} transB=${transB} acc=${acc}`, {
            inputs: { a: m * k, b: k * nn }, outputs: { c: m * nn }, tol: 5e-6,
            run: (be, f) => be.matmul(f.c, f.a, f.b, m, nn, k, transA, transB, acc),
          });
        }
      }
    }
  }
  check('transpose2d', { inputs: { a: 7 * 13 }, outputs: { y: 7 * 13 }, run: (be, f) => be.transpose2d(f.y, f.a, 7, 13) });
  check('silu', { inputs: { x: n }, outputs: { y: n }, run: (be, f) => be.silu(f.y, f.x) });
  check('silu backward (acc)', { inputs: { x: n, g: n }, outputs: { d: n }, run: (be, f) => be.siluBackward(f.d, f.x, f.g, true) });
  check('softmax', { inputs: { x: 5 * 37 }, outputs: { y: 5 * 37 }, run: (be, f) => be.softmax(f.y, f.x, 5, 37) });
  check('softmax backward', {
    inputs: { y: 5 * 37, g: 5 * 37 }, outputs: { d: 5 * 37 }, run: (be, f) => be.softmaxBackward(f.d, f.y, f.g, 5, 37, false),
  });
  const ids = [3, 0, 10, 3, 7, 7, 1];
  check('embedding', { inputs: { w: 11 * 9 }, ints: { t: ids }, outputs: { y: 7 * 9 }, run: (be, f, i) => be.embedding(f.y, f.w, i.t, 7, 9) });
  check('embedding backward', {
    inputs: { g: 7 * 9 }, ints: { t: ids }, outputs: { d: 11 * 9 }, run: (be, f, i) => be.embeddingBackward(f.d, f.g, i.t, 7, 9),
  });
  for (const dim of [13, 64]) {
    const rows = 9;
    check(`rmsnorm dim ${dim}`, {
      inputs: { x: rows * dim, w: dim }, outputs: { y: rows * dim, r: rows }, run: (be, f) => be.rmsnorm(f.y, f.r, f.x, f.w, rows, dim, 1e-5),
    });
    check(`rmsnorm backward dim ${dim}`, {
      inputs: { x: rows * dim, w: dim, r: ones(rows), g: rows * dim }, outputs: { dx: rows * dim, dw: dim },
      run: (be, f) => {
        be.rmsnorm(be.alloc(rows * dim), f.r, f.x, f.w, rows, dim, 1e-5);
        be.rmsnormBackwardX(f.dx, f.x, f.w, f.r, f.g, rows, dim, true);
        be.rmsnormBackwardW(f.dw, f.x, f.r, f.g, rows, dim, false);
      },
    });
  }
  for (const hd of [6, 16]) {
    const l = { rows: 10, T: 5, H: 4, KV: 2 };
    const width = (l.H + 2 * l.KV) * hd;
    const cos = Float64Array.from({ length: l.T * hd / 2 }, (_, i) => Math.cos(i * 0.3));
    const sin = Float64Array.from({ length: l.T * hd / 2 }, (_, i) => Math.sin(i * 0.3));
    for (const inverse of [false, true]) {
      check(`rope hd ${hd} inverse=${inverse}`, {
        inputs: { x: l.rows * width, c: cos, s: sin }, outputs: { y: l.rows * width },
        run: (be, f) => be.rope(f.y, f.x, f.c, f.s, l.rows, l.T, l.H, l.KV, hd, inverse),
      });
    }
  }
  check('swiglu', { inputs: { gu: 5 * 2 * 11 }, outputs: { h: 5 * 11 }, run: (be, f) => be.swiglu(f.h, f.gu, 5, 11) });
  check('swiglu backward (acc)', {
    inputs: { gu: 5 * 2 * 11, dh: 5 * 11 }, outputs: { d: 5 * 2 * 11 }, run: (be, f) => be.swigluBackward(f.d, f.gu, f.dh, 5, 11, true),
  });
  for (const g of [
    { batch: 2, seqLen: 7, nHeads: 4, nKvHeads: 2, headDim: 6, scale: 1 / Math.sqrt(6) },
    { batch: 3, seqLen: 33, nHeads: 4, nKvHeads: 1, headDim: 16, scale: 0.25 },
    { batch: 1, seqLen: 1, nHeads: 2, nKvHeads: 2, headDim: 4, scale: 0.5 },
    // two full 16-row backward blocks and a partial one; head dim 8 + a 4-wide tail
    { batch: 2, seqLen: 41, nHeads: 2, nKvHeads: 1, headDim: 12, scale: 0.3 },
  ]) {
    const rows = g.batch * g.seqLen;
    const width = (g.nHeads + 2 * g.nKvHeads) * g.headDim;
    const ow = g.nHeads * g.headDim;
    const lse = g.batch * g.nHeads * g.seqLen;
    check(`attention ${JSON.stringify(g)}`, {
      inputs: { x: rows * width }, outputs: { o: rows * ow, l: lse }, tol: 5e-6,
      run: (be, f) => be.attention(f.o, f.l, f.x, g),
    });
    check(`attention backward ${JSON.stringify(g)}`, {
      inputs: { x: rows * width, dO: rows * ow }, outputs: { dx: rows * width }, tol: 2e-5,
      run: (be, f) => {
        const o = be.alloc(rows * ow), l = be.alloc(lse);
        be.attention(o, l, f.x, g);
        be.attentionBackward(f.dx, f.x, o, f.dO, l, g);
      },
    });
  }
  const V = 37, R = 6;
  const tg = [3, -100, 36, 0, 5, -100];
  check('cross-entropy', {
    inputs: { x: R * V }, ints: { t: tg }, outputs: { loss: R, lse: R }, run: (be, f, i) => be.crossEntropy(f.loss, f.lse, f.x, i.t, R, V),
  });
  check('cross-entropy backward', {
    inputs: { x: R * V }, ints: { t: tg }, outputs: { d: R * V, loss: R, lse: R },
    run: (be, f, i) => {
      be.crossEntropy(f.loss, f.lse, f.x, i.t, R, V);
      be.crossEntropyBackward(f.d, f.x, f.lse, i.t, R, V, 0.25);
    },
  });
  check('adamw', {
    inputs: { g: n }, outputs: { p: n, m: n, v: n },
    run: (be, f) => {
      be.mul(f.v, f.v, f.v);
      be.adamw(f.p, f.g, f.m, f.v, { gradScale: 0.5, lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 3 });
    },
  });
});
