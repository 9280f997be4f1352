// Every differentiable op against central finite differences, in float64 on the JS reference backend.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { JsBackend } from '../../src/tensor/js-backend.ts';
import * as ops from '../../src/tensor/ops.ts';
import { numel } from '../../src/tensor/params.ts';
import { Rng } from '../../src/tensor/rng.ts';
import { Context, Tensor } from '../../src/tensor/tensor.ts';

type Build = (ctx: Context, xs: Tensor[]) => Tensor;

/**
 * Checks d(sum(out * R))/d(inputs) from backward() against (f(x+h) - f(x-h)) / 2h for every input element.
 */
function gradcheck(shapes: number[][], build: Build, opts: { seed?: number; init?: (i: number, rng: Rng) => number; tol?: number } = {}): void {
  const rng = new Rng(opts.seed ?? 7);
  const values = shapes.map((s) => Float64Array.from({ length: numel(s) }, () => (opts.init ? opts.init(0, rng) : rng.normal())));
  const ctx = new Context(new JsBackend('float64'));
  let weights: Float64Array | null = null;
  const evaluate = (vals: Float64Array[], withGrad: boolean): { f: number; grads: Float64Array[] } => {
    const xs = vals.map((v, i) => ctx.variable(v, shapes[i]));
    const out = build(ctx, xs);
    if (weights === null) {
      const wr = new Rng(99);
      weights = Float64Array.from({ length: out.size }, () => wr.normal());
    }
    const loss = out.size === 1 ? ops.scale(out, weights[0]) : ops.sum(ops.mul(out, ctx.constant(weights, out.shape)));
    const f = loss.item();
    let grads: Float64Array[] = [];
    if (withGrad) {
      ctx.backward(loss);
      grads = xs.map((x) => x.gradArray());
    }
    ctx.releaseAll();
    return { f, grads };
  };
  const { grads } = evaluate(values, true);
  const h = 1e-6;
  const tol = opts.tol ?? 1e-6;
  for (let i = 0; i < values.length; i++) {
    for (let k = 0; k < values[i].length; k++) {
      const orig = values[i][k];
      values[i][k] = orig + h;
      const fp = evaluate(values, false).f;
      values[i][k] = orig - h;
      const fm = evaluate(values, false).f;
      values[i][k] = orig;
      const num = (fp - fm) / (2 * h);
      const err = Math.abs(num - grads[i][k]) / Math.max(1, Math.abs(num));
      assert.ok(err < tol, `input ${i} element ${k}: analytic ${grads[i][k]} vs numeric ${num}`);
    }
  }
}

describe('gradient checks (float64, JS reference backend)', () => {
  test('add (same input twice accumulates)', () => gradcheck([[3, 5], [3, 5]], (_c, [a, b]) => ops.add(ops.add(a, b), a)));
  test('mul', () => gradcheck([[7], [7]], (_c, [a, b]) => ops.mul(a, b)));
  test('scale', () => gradcheck([[2, 3]], (_c, [a]) => ops.scale(a, -1.7)));
  test('sum and mean', () => gradcheck([[4, 3]], (_c, [a]) => ops.add(ops.sum(ops.mul(a, a)), ops.mean(a))));
  test('reshape', () => gradcheck([[2, 6]], (_c, [a]) => ops.mul(ops.reshape(a, [3, 4]), ops.reshape(a, [3, 4]))));
  test('transpose', () => gradcheck([[3, 5]], (_c, [a]) => ops.transpose(a)));
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      test(`matmul transA=${transA} transB=${transB}`, () => {
        const [m, n, k] = [3, 5, 4];
        gradcheck([transA ? [k, m] : [m, k], transB ? [n, k] : [k, n]], (_c, [a, b]) => ops.matmul(a, b, { transA, transB }));
      });
    }
  }
  test('matmul with leading batch dims', () => gradcheck([[2, 3, 4], [5, 4]], (_c, [a, b]) => ops.matmul(a, b, { transB: true })));
  test('bmm', () => gradcheck([[2, 3, 4], [2, 5, 4]], (_c, [a, b]) => ops.bmm(a, b, { transB: true })));
  test('silu', () => gradcheck([[9]], (_c, [a]) => ops.silu(a)));
  test('softmax', () => gradcheck([[3, 5]], (_c, [a]) => ops.softmax(a)));
  test('embedding (repeated ids accumulate)', () => gradcheck([[6, 3]], (c, [w]) => ops.embedding(w, c.ints([1, 4, 1, 0, 5]))));
  test('rmsnorm (x and weight)', () => gradcheck([[4, 5], [5]], (_c, [x, w]) => ops.rmsnorm(x, w, 1e-5)));
  test('rope (q and k rotated, v passed)', () => {
    const l = { batch: 2, seqLen: 3, nHeads: 2, nKvHeads: 1, headDim: 4 };
    gradcheck([[6, 16]], (c, [x]) => ops.rope(x, ops.ropeTables(c, 5, 4, 10000), l));
  });
  test('attention (causal, GQA 4 heads / 2 kv heads, odd head dim)', () => {
    const l = { batch: 2, seqLen: 4, nHeads: 4, nKvHeads: 2, headDim: 3 };
    gradcheck([[8, (4 + 4) * 3]], (_c, [x]) => ops.attention(x, l));
  });
  test('swiglu', () => gradcheck([[3, 8]], (_c, [x]) => ops.swiglu(x)));
  test('crossEntropy with ignored targets', () => gradcheck([[4, 6]], (c, [x]) => ops.crossEntropy(x, c.ints([2, -100, 5, 0]))));
  test('crossEntropy with every target ignored is 0 with zero gradient', () => {
    const ctx = new Context(new JsBackend('float64'));
    const x = ctx.variable([1, 2, 3, 4], [2, 2]);
    const l = ops.crossEntropy(x, ctx.ints([-100, -100]));
    assert.equal(l.item(), 0);
    ctx.backward(l);
    assert.deepEqual([...x.gradArray()], [0, 0, 0, 0]);
  });
});
