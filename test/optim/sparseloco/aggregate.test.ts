import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aggregate,
  applyOuterStep,
  applyPeerUpdate,
  chunkIndexSet,
  chunkLayout,
  clipFactor,
  compressTensor,
  DEFAULT_SPARSELOCO,
  dequantizedValues,
  ErrorFeedback,
  indexOverlap,
  lowerMedian,
  medianNorms,
  outerStep,
  pairwiseIndexOverlap,
  peerUpdate,
  peerValueNorms,
  SparseLoCoError,
  type CompressedTensor,
  type PeerUpdate,
} from '../../../src/optim/sparseloco/index.ts';
import { cloneParams, type ParamTensor } from '../../../src/tensor/params.ts';
import { bitsEqual, MIXED_SPECS, randomParams, shuffled } from './helpers.ts';

const f = Math.fround;
const cfg8 = { ...DEFAULT_SPARSELOCO, chunkTarget1d: 8, topk: 2 };

/** A hand-made 1-D tensor of 8 elements, one chunk, k = 2: lookup holds the values directly (shift 0). */
function hand(selected: [number, number], values: [number, number]): CompressedTensor {
  const layout = chunkLayout([8], cfg8);
  const lookup = Float32Array.of(values[0], values[1], 0, 0);
  return { name: 'v', shape: [8], layout, indices: Uint16Array.from(selected), codes: Uint8Array.of(0, 1), quant: { shift: 0, scale: 1, lookup } };
}

function peers(seed: number, count: number): PeerUpdate[] {
  return Array.from({ length: count }, (_, r) => {
    const ef = ErrorFeedback.zeros(MIXED_SPECS);
    const scale = 10 ** ((r % 5) - 3); // norms spread over decades so clipping bites
    return { uid: 3 * r + 1, tensors: ef.step(randomParams(MIXED_SPECS, seed + r, scale), DEFAULT_SPARSELOCO) };
  });
}

describe('aggregation', () => {
  test('per-index mean over selectors vs divide-by-R (no clipping)', () => {
    const a: PeerUpdate = { uid: 1, tensors: [hand([0, 3], [1.5, -2])] };
    const b: PeerUpdate = { uid: 2, tensors: [hand([3, 5], [4, 0.25])] };
    const mean = aggregate([a, b], { clipToMedianNorm: false }).grads[0].data;
    assert.deepEqual([...mean], [1.5, 0, 0, 1, 0, 0.25, 0, 0]);
    const byR = aggregate([a, b], { clipToMedianNorm: false, mode: 'divide-by-r' }).grads[0].data;
    assert.deepEqual([...byR], [0.75, 0, 0, 1, 0, 0.125, 0, 0]);
  });

  test('median-norm clipping: peers above the median are scaled down to it, others untouched', () => {
    // norms: √(3²+4²) = 5, √(6²+8²) = 10, √(30²+40²) = 50 → median 10
    const p = [
      { uid: 9, tensors: [hand([0, 1], [3, 4])] },
      { uid: 4, tensors: [hand([2, 3], [6, 8])] },
      { uid: 6, tensors: [hand([4, 5], [30, 40])] },
    ];
    assert.deepEqual([...peerValueNorms(p[0]).values()], [5]);
    assert.equal(medianNorms(p).get('v'), 10);
    const g = aggregate(p).grads[0].data;
    const k = clipFactor(50, 10);
    assert.equal(k, f(10 / (50 + 1e-8)));
    assert.deepEqual([...g], [3, 4, 6, 8, f(30 * k), f(40 * k), 0, 0]);
  });

  test('lower median for an even peer count', () => {
    assert.equal(lowerMedian([4, 1, 3, 2]), 2);
    assert.equal(lowerMedian([7]), 7);
    assert.ok(Number.isNaN(lowerMedian([])));
  });

  test('bit-identical results under any peer arrival order', () => {
    const ps = peers(100, 7);
    const ref = aggregate(ps);
    const startParams = randomParams(MIXED_SPECS, 55);
    const refParams = cloneParams(startParams);
    applyOuterStep(refParams, ps, { lr: 0.4 });
    for (let s = 0; s < 5; s++) {
      const perm = shuffled(ps, s);
      const again = aggregate(perm);
      assert.deepEqual(again.uids, ref.uids);
      again.grads.forEach((g, i) => assert.ok(bitsEqual(g.data, ref.grads[i].data), g.name));
      const params = cloneParams(startParams);
      applyOuterStep(params, perm, { lr: 0.4 });
      params.forEach((p, i) => assert.ok(bitsEqual(p.data, refParams[i].data), p.name));
    }
  });

  test('matches a float64 reference of clip + scatter-mean within float32 rounding', () => {
    const ps = peers(200, 5);
    for (const mode of ['selected-mean', 'divide-by-r'] as const) {
      const got = aggregate(ps, { mode });
      MIXED_SPECS.forEach((spec, t) => {
        const norms = ps.map((p) => Math.hypot(...dequantizedValues(p.tensors[t])));
        const med = [...norms].sort((x, y) => x - y)[(norms.length - 1) >> 1];
        const sum = new Float64Array(got.grads[t].data.length);
        const cnt = new Float64Array(sum.length);
        const mag = new Float64Array(sum.length);
        ps.forEach((p, r) => {
          const factor = Math.min(1, med / (norms[r] + 1e-8));
          const dense = peerUpdate({ uid: p.uid, tensors: [p.tensors[t]] })[0].data;
          const kept = peerUpdate({ uid: p.uid, tensors: [{ ...p.tensors[t], quant: { shift: 1, scale: 1, lookup: Float32Array.of(0, 0, 0, 0) } }] })[0].data;
          for (let i = 0; i < sum.length; i++) {
            if (kept[i] === 0) continue; // every kept value dequantizes to exactly 1 here
            sum[i] += dense[i] * factor;
            mag[i] += Math.abs(dense[i] * factor);
            cnt[i]++;
          }
        });
        const g = got.grads[t].data;
        for (let i = 0; i < sum.length; i++) {
          const div = mode === 'selected-mean' ? cnt[i] : ps.length;
          const expected = cnt[i] === 0 ? 0 : sum[i] / div;
          // float32 sums of values with mixed signs: error bounded relative to Σ|terms|, not to the result
          assert.ok(Math.abs(g[i] - expected) <= 1e-6 * (mag[i] / Math.max(div, 1)) + 1e-30, `${spec.name}[${i}] ${mode}: ${g[i]} vs ${expected}`);
        }
      });
    }
  });

  test('a parameter whose aggregate overflows is skipped, the rest still apply', () => {
    const a: PeerUpdate = { uid: 1, tensors: [hand([0, 1], [3e38, 3e38])] };
    const b: PeerUpdate = { uid: 2, tensors: [hand([0, 1], [3e38, 1])] };
    const r = aggregate([a, b], { clipToMedianNorm: false });
    assert.deepEqual(r.skipped, ['v']);
    assert.equal(r.grads.length, 0);
    const params: ParamTensor[] = [{ name: 'v', shape: [8], data: new Float32Array(8).fill(1) }];
    const res = applyOuterStep(params, [a, b], { lr: 0.4, clipToMedianNorm: false });
    assert.deepEqual(res.skipped, ['v']);
    assert.ok(params[0].data.every((x) => x === 1));
  });

  test('huge but finite values take the checked path and still apply', () => {
    const a: PeerUpdate = { uid: 1, tensors: [hand([0, 1], [2e38, 1])] };
    const b: PeerUpdate = { uid: 2, tensors: [hand([2, 3], [2e38, 1])] };
    const params: ParamTensor[] = [{ name: 'v', shape: [8], data: new Float32Array(8) }];
    const res = applyOuterStep(params, [a, b], { lr: 0.5, clipToMedianNorm: false });
    assert.deepEqual(res.applied, ['v']);
    assert.deepEqual([...params[0].data], [-1e38, -0.5, -1e38, -0.5, 0, 0, 0, 0].map(f));
  });

  test('duplicate uids and misaligned peers are typed errors', () => {
    const a: PeerUpdate = { uid: 1, tensors: [hand([0, 1], [1, 2])] };
    assert.throws(() => aggregate([a, { ...a }]), (e: unknown) => e instanceof SparseLoCoError && e.code === 'DuplicateUid');
    const other = compressTensor('w', [64, 64], new Float32Array(4096).fill(1), DEFAULT_SPARSELOCO);
    assert.throws(() => aggregate([a, { uid: 2, tensors: [other] }]), (e: unknown) => e instanceof SparseLoCoError && e.code === 'ShapeMismatch');
  });

  test('no peers: nothing to aggregate, parameters unchanged', () => {
    const params = randomParams(MIXED_SPECS, 1);
    const before = cloneParams(params);
    assert.deepEqual(applyOuterStep(params, [], { lr: 0.4 }), { uids: [], applied: [], skipped: [] });
    assert.deepEqual(params, before);
  });
});

describe('outer step', () => {
  test('θ ← θ − lr·g in float32, no momentum (two steps are independent)', () => {
    const params: ParamTensor[] = [{ name: 'w', shape: [3], data: Float32Array.of(1, -2, 0.5) }];
    const g: ParamTensor[] = [{ name: 'w', shape: [3], data: Float32Array.of(0.1, 0.2, -1) }];
    outerStep(params, g, 0.4);
    const lr = f(0.4);
    const expected = [f(1 - f(lr * f(0.1))), f(-2 - f(lr * f(0.2))), f(0.5 - f(lr * -1))];
    assert.deepEqual([...params[0].data], expected);
    outerStep(params, g, 0.4);
    assert.deepEqual([...params[0].data], expected.map((x, i) => f(x - f(lr * g[0].data[i]))));
  });

  test('applyOuterStep equals aggregate + outerStep, bit for bit', () => {
    const ps = peers(300, 4);
    const a = randomParams(MIXED_SPECS, 8);
    const b = cloneParams(a);
    applyOuterStep(a, ps, { lr: 0.4 });
    outerStep(b, aggregate(ps).grads, 0.4);
    a.forEach((p, i) => assert.ok(bitsEqual(p.data, b[i].data), p.name));
  });

  test('unknown gradient name is ShapeMismatch', () => {
    const params = randomParams(MIXED_SPECS, 1);
    assert.throws(() => outerStep(params, [{ name: 'nope', shape: [1], data: new Float32Array(1) }], 0.4), SparseLoCoError);
  });
});

describe('validator helpers', () => {
  test('peerUpdate is the dequantized update clipped against the given medians', () => {
    const ps = peers(400, 5);
    const med = medianNorms(ps);
    const u = peerUpdate(ps[4], med);
    ps[4].tensors.forEach((t, i) => {
      const factor = clipFactor(peerValueNorms(ps[4]).get(t.name)!, med.get(t.name)!);
      const plain = peerUpdate(ps[4])[i].data;
      for (let j = 0; j < plain.length; j++) assert.equal(u[i].data[j], f(plain[j] * factor));
    });
  });

  test('applyPeerUpdate applies θ − lr·ĝ on the kept coordinates and undo restores bit-exactly', () => {
    const ps = peers(500, 3);
    const med = medianNorms(ps);
    const params = randomParams(MIXED_SPECS, 12);
    const before = cloneParams(params);
    const lr = 0.4 * 0.2;
    const applied = applyPeerUpdate(params, ps[1], med, lr);
    const u = peerUpdate(ps[1], med);
    params.forEach((p, i) => {
      for (let j = 0; j < p.data.length; j++) assert.equal(p.data[j], f(before[i].data[j] - f(f(lr) * u[i].data[j])));
    });
    assert.equal(applied.touched, ps[1].tensors.reduce((s, t) => s + t.indices.length, 0));
    applied.undo();
    params.forEach((p, i) => assert.ok(bitsEqual(p.data, before[i].data)));
  });

  test('index overlap: identical peers 1, hand case exact, dense tensors ignored', () => {
    const ps = peers(600, 2);
    assert.equal(indexOverlap(ps[0], { ...ps[0], uid: 99 }).mean, 1);
    const o = indexOverlap(ps[0], ps[1]);
    assert.ok(o.mean > 0 && o.mean < 0.2, `independent peers overlap ${o.mean}`);
    assert.ok(!o.perTensor.has('norm'), 'dense 1-D tensors carry no selection information');
    // Hand case: 2 chunks, k = 2.
    const l = chunkLayout([16], cfg8);
    const mk = (idx: number[]): PeerUpdate => ({
      uid: idx[0],
      tensors: [{ name: 'v', shape: [16], layout: l, indices: Uint16Array.from(idx), codes: new Uint8Array(4), quant: { shift: 0, scale: 1, lookup: new Float32Array(4) } }],
    });
    const x = mk([1, 5, 0, 7]);
    const y = mk([5, 6, 0, 7]);
    assert.deepEqual([...chunkIndexSet(x.tensors[0], 1)], [0, 7]);
    assert.equal(indexOverlap(x, y).mean, (1 / 2 + 2 / 2) / 2);
    assert.deepEqual(pairwiseIndexOverlap([y, x]), [{ uidA: 1, uidB: 5, overlap: 0.75 }]);
  });
});
