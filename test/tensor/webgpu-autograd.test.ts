// The gradient-check graphs of gradcheck.test.ts run through autograd on WebGPU (so the device-scalar paths of sum,
// mean, cross-entropy and the backward seed are used) against the same graphs on the float64 JS reference, whose
// gradients the finite-difference checks establish. Float32 on the device: loss and every gradient within 1e-4 of
// the largest reference value (finite differences themselves are too noisy in float32 to check the GPU directly).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { JsBackend } from '../../src/tensor/js-backend.ts';
import * as ops from '../../src/tensor/ops.ts';
import { numel } from '../../src/tensor/params.ts';
import { Rng } from '../../src/tensor/rng.ts';
import { Context, Tensor } from '../../src/tensor/tensor.ts';
import { WebGpuBackend } from '../../src/tensor/webgpu-backend.ts';
import { requestWebGpuDevice } from '../../src/tensor/webgpu-device.ts';

type Build = (ctx: Context, xs: Tensor[]) => Tensor;

const dev = await requestWebGpuDevice();
const gpu = dev.ok ? new WebGpuBackend({ device: dev.device, adapterName: dev.adapterName }) : null;
after(() => gpu?.dispose());

async function lossAndGrads(ctx: Context, shapes: number[][], values: Float64Array[], build: Build): Promise<{ loss: number; grads: Float64Array[] }> {
  const xs = values.map((v, i) => ctx.variable(v, shapes[i]));
  const out = build(ctx, xs);
  const wr = new Rng(99);
  const weights = Float64Array.from({ length: out.size }, () => wr.normal());
  const loss = out.size === 1 ? ops.scale(out, weights[0]) : ops.sum(ops.mul(out, ctx.constant(weights, out.shape)));
  ctx.backward(loss);
  const be = ctx.backend;
  if (be instanceof WebGpuBackend) await be.sync();
  const r = { loss: loss.item(), grads: xs.map((x) => x.gradArray()) };
  ctx.releaseAll();
  return r;
}

function compare(shapes: number[][], build: Build): () => Promise<void> {
  return async () => {
    const rng = new Rng(7);
    const values = shapes.map((s) => Float64Array.from({ length: numel(s) }, () => Math.fround(rng.normal())));
    const want = await lossAndGrads(new Context(new JsBackend('float64')), shapes, values, build);
    const got = await lossAndGrads(new Context(gpu!), shapes, values, build);
    assert.ok(Math.abs(got.loss - want.loss) <= 1e-4 * Math.max(1, Math.abs(want.loss)), `loss ${got.loss} vs ${want.loss}`);
    want.grads.forEach((w, i) => {
      const scale = Math.max(1e-30, ...w.map(Math.abs));
      const diff = Math.max(...w.map((v, k) => Math.abs(v - got.grads[i][k])));
      assert.ok(diff <= 1e-4 * scale, `input ${i}: max diff ${diff} vs scale ${scale}`);
    });
  };
}

describe('autograd on WebGPU vs the float64 reference (the gradient-check graphs)', { skip: dev.ok ? false : `no WebGPU adapter: ${dev.reason}` }, () => {
  test('add (same input twice accumulates)', compare([[3, 5], [3, 5]], (_c, [a, b]) => ops.add(ops.add(a, b), a)));
  test('mul', compare([[7], [7]], (_c, [a, b]) => ops.mul(a, b)));
  test('scale', compare([[2, 3]], (_c, [a]) => ops.scale(a, -1.7)));
  test('sum and mean (device scalars, accumulated)', compare([[4, 3]], (_c, [a]) => ops.add(ops.sum(ops.mul(a, a)), ops.mean(a))));
  test('sum used twice (its gradient accumulates on the device)', compare([[4, 3]], (_c, [a]) => { const s = ops.sum(a); return ops.add(s, ops.mul(s, s)); }));
  test('reshape', compare([[2, 6]], (_c, [a]) => ops.mul(ops.reshape(a, [3, 4]), ops.reshape(a, [3, 4]))));
  test('transpose', compare([[3, 5]], (_c, [a]) => ops.transpose(a)));
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const [m, n, k] = [3, 5, 4];
      test(`matmul transA=${transA} transB=${transB}`, compare([transA ? [k, m] : [m, k], transB ? [n, k] : [k, n]], (_c, [a, b]) => ops.matmul(a, b, { transA, transB })));
    }
  }
  test('matmul with leading batch dims', compare([[2, 3, 4], [5, 4]], (_c, [a, b]) => ops.matmul(a, b, { transB: true })));
  test('bmm', compare([[2, 3, 4], [2, 5, 4]], (_c, [a, b]) => ops.bmm(a, b, { transB: true })));
  test('silu', compare([[9]], (_c, [a]) => ops.silu(a)));
  test('softmax', compare([[3, 5]], (_c, [a]) => ops.softmax(a)));
  test('embedding (repeated ids accumulate)', compare([[6, 3]], (c, [w]) => ops.embedding(w, c.ints([1, 4, 1, 0, 5]))));
  test('rmsnorm (x and weight)', compare([[4, 5], [5]], (_c, [x, w]) => ops.rmsnorm(x, w, 1e-5)));
  test('rope', compare([[6, 16]], (c, [x]) => ops.rope(x, ops.ropeTables(c, 5, 4, 10000), { batch: 2, seqLen: 3, nHeads: 2, nKvHeads: 1, headDim: 4 })));
  test('attention (causal, GQA, odd head dim)', compare([[8, (4 + 4) * 3]], (_c, [x]) => ops.attention(x, { batch: 2, seqLen: 4, nHeads: 4, nKvHeads: 2, headDim: 3 })));
  test('swiglu', compare([[3, 8]], (_c, [x]) => ops.swiglu(x)));
  test('crossEntropy with ignored targets', compare([[4, 6]], (c, [x]) => ops.crossEntropy(x, c.ints([2, -100, 5, 0]))));
  test('crossEntropy with every target ignored is 0 with zero gradient', compare([[2, 2]], (c, [x]) => ops.crossEntropy(x, c.ints([-100, -100]))));
});
