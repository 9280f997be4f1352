// Every WebGPU kernel against the JS reference in float32 (odd sizes, offsets inside shared buffers), the host/device
// coherence rules (NotSynced, uploads of host writes, sync), and the device-scalar kernels. Runs on whatever adapter
// is present (Mesa lavapipe in CI); skipped, saying why, where there is none.
// Tolerance: max |gpu − ref| / max |ref| per output ≤ 2e-6 for exact-order kernels, up to 2e-5 where the GPU sums in
// a different order or uses its own exp/log (WGSL exp/log are only accurate to a few ulp).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend, Buf, IntBuf } from '../../src/tensor/backend.ts';
import { isDeviceResident } from '../../src/tensor/backend.ts';
import { isTensorError } from '../../src/tensor/errors.ts';
import { JsBackend } from '../../src/tensor/js-backend.ts';
import { Rng } from '../../src/tensor/rng.ts';
import { WebGpuBackend } from '../../src/tensor/webgpu-backend.ts';
import { requestWebGpuDevice } from '../../src/tensor/webgpu-device.ts';

const dev = await requestWebGpuDevice();
const skip = dev.ok ? false : `no WebGPU adapter: ${dev.reason}`;
const gpu = dev.ok ? new WebGpuBackend({ device: dev.device, adapterName: dev.adapterName }) : null;
const ref = new JsBackend('float32');
after(() => gpu?.dispose());

interface Spec {
  inputs: Record<string, number | Float64Array>;
  ints?: Record<string, number[]>;
  /** outputs (pre-filled with random values so accumulate paths are exercised) */
  outputs: Record<string, number>;
  run(be: Backend, f: Record<string, Buf>, i: Record<string, IntBuf>): void;
  tol?: number;
}

/**
 * Buffers for a spec. On the GPU every float buffer is a sub-view at an odd offset of one shared allocation, so the
 * kernels' element offsets are exercised too.
 */
function materialize(be: Backend, spec: Spec, seed: number, shared: boolean): { f: Record<string, Buf>; i: Record<string, IntBuf>; owned: Array<Buf | IntBuf> } {
  const rng = new Rng(seed);
  const entries = Object.entries({ ...spec.inputs, ...spec.outputs }).map(([k, v]) => [k, typeof v === 'number' ? Float64Array.from({ length: v }, () => rng.normal()) : v] as const);
  const f: Record<string, Buf> = {};
  const owned: Array<Buf | IntBuf> = [];
  if (shared) {
    const total = entries.reduce((s, [, v]) => s + v.length + 3, 0);
    const big = be.alloc(total);
    owned.push(big);
    let off = 3;
    for (const [k, v] of entries) {
      f[k] = be.sub(big, off, v.length);
      off += v.length + 3;
    }
  } else {
    for (const [k, v] of entries) owned.push((f[k] = be.alloc(v.length)));
  }
  for (const [k, v] of entries) be.view(f[k]).set(v);
  const i: Record<string, IntBuf> = {};
  for (const [k, v] of Object.entries(spec.ints ?? {})) {
    owned.push((i[k] = be.allocInt(v.length)));
    be.intView(i[k]).set(v);
  }
  return { f, i, owned };
}

function check(name: string, spec: Spec): void {
  test(name, async () => {
    const r = materialize(ref, spec, 1, false);
    spec.run(ref, r.f, r.i);
    for (const shared of [false, true]) {
      const g = gpu!;
      const m = materialize(g, spec, 1, shared);
      spec.run(g, m.f, m.i);
      await g.sync();
      for (const k of Object.keys(spec.outputs)) {
        const got = g.view(m.f[k]);
        const want = ref.view(r.f[k]);
        let scale = 1e-30, diff = 0;
        for (let j = 0; j < want.length; j++) {
          scale = Math.max(scale, Math.abs(want[j]));
          diff = Math.max(diff, Math.abs(got[j] - want[j]));
        }
        assert.ok(diff / scale <= (spec.tol ?? 2e-6), `${k}${shared ? ' (sub-views)' : ''}: max diff ${diff} vs scale ${scale}`);
      }
      for (const b of m.owned) g.free(b);
    }
  });
}

function ones(n: number): Float64Array {
  return new Float64Array(n).fill(1);
}

describe(`webgpu kernels vs JS reference (float32) on ${dev.ok ? dev.adapterName : 'no adapter'}`, { skip }, () => {
  const n = 1031;
  check('fill', { inputs: {}, outputs: { y: n }, run: (be, f) => be.fill(f.y, 0.25) });
  check('copy', { inputs: { x: n }, outputs: { y: n }, run: (be, f) => be.copy(f.y, f.x) });
  check('add', { inputs: { a: n, b: n }, outputs: { y: n }, run: (be, f) => be.add(f.y, f.a, f.b) });
  check('mul', { inputs: { a: n, b: n }, outputs: { y: n }, run: (be, f) => be.mul(f.y, f.a, f.b) });
  check('scale', { inputs: { a: n }, outputs: { y: n }, run: (be, f) => be.scale(f.y, f.a, -0.3) });
  check('axpy', { inputs: { a: n }, outputs: { y: n }, run: (be, f) => be.axpy(f.y, f.a, 0.7) });
  test('a 1-D dispatch of more than 65535 workgroups spreads over y', async () => {
    const g = gpu!;
    const big = 65536 * 256 + 77;
    const y = g.alloc(big);
    g.fill(g.sub(y, 5, big - 5), 0.5);
    await g.sync([y]);
    const v = g.view(y);
    assert.deepEqual([v[4], v[5], v[65535 * 256 + 3], v[big - 1]], [0, 0.5, 0.5, 0.5]);
    g.free(y);
  });
  for (const [m, nn, k] of [[1, 1, 1], [5, 7, 9], [13, 33, 300], [67, 9, 513], [130, 70, 20]]) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const acc of [false, true]) {
          check(`matmul ${m}x${nn}x${k} transA=${transA} transB=${transB} acc=${acc}`, {
            inputs: { a: m * k, b: k * nn }, outputs: { c: m * nn }, tol: 1e-5,
            run: (be, f) => be.matmul(f.c, f.a, f.b, m, nn, k, transA, transB, acc),
          });
        }
      }
    }
  }
  check('transpose2d', { inputs: { a: 7 * 13 }, outputs: { y: 7 * 13 }, run: (be, f) => be.transpose2d(f.y, f.a, 7, 13) });
  check('silu', { inputs: { x: n }, outputs: { y: n }, tol: 1e-5, run: (be, f) => be.silu(f.y, f.x) });
  check('silu backward (acc)', { inputs: { x: n, g: n }, outputs: { d: n }, tol: 1e-5, run: (be, f) => be.siluBackward(f.d, f.x, f.g, true) });
  for (const cols of [37, 700]) {
    check(`softmax ${cols}`, { inputs: { x: 5 * cols }, outputs: { y: 5 * cols }, tol: 1e-5, run: (be, f) => be.softmax(f.y, f.x, 5, cols) });
    check(`softmax backward ${cols} (acc)`, {
      inputs: { y: 5 * cols, g: 5 * cols }, outputs: { d: 5 * cols }, tol: 1e-5, run: (be, f) => be.softmaxBackward(f.d, f.y, f.g, 5, cols, true),
    });
  }
  const ids = [3, 0, 10, 3, 7, 7, 1];
  check('embedding', { inputs: { w: 11 * 9 }, ints: { t: ids }, outputs: { y: 7 * 9 }, run: (be, f, i) => be.embedding(f.y, f.w, i.t, 7, 9) });
  check('embedding backward', {
    inputs: { g: 7 * 9 }, ints: { t: ids }, outputs: { d: 11 * 9 }, run: (be, f, i) => be.embeddingBackward(f.d, f.g, i.t, 7, 9),
  });
  for (const dim of [13, 64, 300]) {
    const rows = 9;
    check(`rmsnorm dim ${dim}`, {
      inputs: { x: rows * dim, w: dim }, outputs: { y: rows * dim, r: rows }, tol: 1e-5,
      run: (be, f) => be.rmsnorm(f.y, f.r, f.x, f.w, rows, dim, 1e-5),
    });
    check(`rmsnorm backward dim ${dim}`, {
      inputs: { x: rows * dim, w: dim, r: ones(rows), g: rows * dim }, outputs: { dx: rows * dim, dw: dim }, tol: 1e-5,
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
  check('swiglu', { inputs: { gu: 5 * 2 * 11 }, outputs: { h: 5 * 11 }, tol: 1e-5, run: (be, f) => be.swiglu(f.h, f.gu, 5, 11) });
  check('swiglu backward (acc)', {
    inputs: { gu: 5 * 2 * 11, dh: 5 * 11 }, outputs: { d: 5 * 2 * 11 }, tol: 1e-5, run: (be, f) => be.swigluBackward(f.d, f.gu, f.dh, 5, 11, true),
  });
  for (const g of [
    { batch: 2, seqLen: 7, nHeads: 4, nKvHeads: 2, headDim: 6, scale: 1 / Math.sqrt(6) },
    { batch: 3, seqLen: 33, nHeads: 4, nKvHeads: 1, headDim: 16, scale: 0.25 },
    { batch: 1, seqLen: 1, nHeads: 2, nKvHeads: 2, headDim: 4, scale: 0.5 },
    { batch: 2, seqLen: 41, nHeads: 2, nKvHeads: 1, headDim: 12, scale: 0.3 },
  ]) {
    const rows = g.batch * g.seqLen;
    const width = (g.nHeads + 2 * g.nKvHeads) * g.headDim;
    const ow = g.nHeads * g.headDim;
    const lse = g.batch * g.nHeads * g.seqLen;
    check(`attention ${JSON.stringify(g)}`, {
      inputs: { x: rows * width }, outputs: { o: rows * ow, l: lse }, tol: 1e-5,
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
    inputs: { x: R * V }, ints: { t: tg }, outputs: { loss: R, lse: R }, tol: 1e-5, run: (be, f, i) => be.crossEntropy(f.loss, f.lse, f.x, i.t, R, V),
  });
  check('cross-entropy backward (in place over the logits)', {
    inputs: { x: R * V }, ints: { t: tg }, outputs: { loss: R, lse: R }, tol: 1e-5,
    run: (be, f, i) => {
      be.crossEntropy(f.loss, f.lse, f.x, i.t, R, V);
      be.crossEntropyBackward(f.x, f.x, f.lse, i.t, R, V, 0.25);
      be.copy(f.loss, be.sub(f.x, 0, R));
    },
  });
  check('adamw', {
    inputs: { g: n }, outputs: { p: n, m: n, v: n }, tol: 1e-5,
    run: (be, f) => {
      be.mul(f.v, f.v, f.v);
      be.adamw(f.p, f.g, f.m, f.v, { gradScale: 0.5, lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 3 });
    },
  });

  test('device scalars: sumTo, fillFrom, scaleBy', async () => {
    const g = gpu!;
    assert.ok(isDeviceResident(g));
    const vals = Float64Array.from({ length: 40007 }, (_, i) => Math.sin(i));
    const x = g.alloc(vals.length), y = g.alloc(2), z = g.alloc(5);
    g.view(x).set(vals);
    g.sumTo(g.sub(y, 0, 1), x, false, 0.5);
    g.sumTo(g.sub(y, 1, 1), x, true, 1);
    g.fill(z, 1);
    g.fillFrom(g.sub(z, 0, 2), g.sub(y, 1, 1), 2, true);
    g.scaleBy(g.sub(z, 2, 3), g.sub(y, 0, 1), 4);
    await g.sync([y, z]);
    const s = ref.sum(Float32Array.from(vals), false), ss = ref.sum(Float32Array.from(vals), true);
    const [a, b] = g.view(y);
    assert.ok(Math.abs(a - s * 0.5) < 1e-3, `sum ${a} vs ${s * 0.5}`);
    assert.ok(Math.abs(b - ss) / ss < 1e-5, `sum of squares ${b} vs ${ss}`);
    const zv = g.view(z);
    assert.ok(Math.abs(zv[0] - (1 + 2 * b)) / (2 * b) < 1e-6 && zv[1] === zv[0]);
    assert.ok(Math.abs(zv[2] - 4 * a) < 1e-6 && zv[4] === zv[2]);
    assert.equal(g.sum(x, true), ref.sum(Float32Array.from(vals), true), 'host sum of a synced buffer is the reference sum');
    assert.deepEqual(g.readView(y), g.view(y));
    g.scale(y, y, 2);
    assert.throws(() => g.readView(y), (e) => isTensorError(e, 'NotSynced'));
    for (const b0 of [x, y, z]) g.free(b0);
  });

  test('coherence: a device-written buffer cannot be read before sync; host writes reach the next kernel', async () => {
    const g = gpu!;
    const a = g.alloc(8), b = g.alloc(8);
    g.view(a).set([1, 2, 3, 4, 5, 6, 7, 8]);
    g.scale(b, a, 2);
    assert.throws(() => g.view(b), (e) => isTensorError(e, 'NotSynced'));
    assert.throws(() => g.sum(b, false), (e) => isTensorError(e, 'NotSynced'));
    assert.deepEqual([...g.view(a)], [1, 2, 3, 4, 5, 6, 7, 8], 'a buffer only read on the device stays readable');
    await g.sync([b]);
    assert.deepEqual([...g.view(b)], [2, 4, 6, 8, 10, 12, 14, 16]);
    // write through a fresh view, then a kernel must see it
    g.view(a)[0] = 100;
    g.axpy(b, a, 1);
    await g.sync();
    assert.equal(g.view(b)[0], 102);
    // freed buffers are recycled; alloc is still zero-filled
    g.free(b);
    const c = g.alloc(8);
    assert.deepEqual([...g.view(c)], new Array(8).fill(0));
    g.scale(c, c, 3);
    await g.sync();
    assert.deepEqual([...g.view(c)], new Array(8).fill(0));
    // write() reaches the device without a sync, even over a device-written buffer
    g.scale(c, a, 1);
    g.write(g.sub(c, 2, 3), Float32Array.of(7, 8, 9));
    await g.sync([c]);
    assert.deepEqual([...g.view(c)], [100, 2, 7, 8, 9, 6, 7, 8]);
    g.free(a);
    g.free(c);
  });
});
