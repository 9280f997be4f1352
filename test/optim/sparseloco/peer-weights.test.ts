import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aggregate,
  applyOuterStep,
  chunkLayout,
  clipFactor,
  DEFAULT_SPARSELOCO,
  ErrorFeedback,
  lowerMedian,
  medianNorms,
  peerUpdate,
  dequantizedValues,
  sortedPeerWeights,
  SparseLoCoError,
  validateSparseLoCoConfig,
  weightedLowerMedian,
  type CompressedTensor,
  type PeerUpdate,
} from '../../../src/optim/sparseloco/index.ts';
import { cloneParams, type ParamTensor } from '../../../src/tensor/params.ts';
import { WasmBackend } from '../../../src/tensor/wasm-backend.ts';
import { bitsEqual, MIXED_SPECS, randomParams, shuffled } from './helpers.ts';

const f = Math.fround;
const cfg8 = { ...DEFAULT_SPARSELOCO, chunkTarget1d: 8, topk: 2 };

function hand(selected: [number, number], values: [number, number]): CompressedTensor {
  const layout = chunkLayout([8], cfg8);
  const lookup = Float32Array.of(values[0], values[1], 0, 0);
  return { name: 'v', shape: [8], layout, indices: Uint16Array.from(selected), codes: Uint8Array.of(0, 1), quant: { shift: 0, scale: 1, lookup } };
}

function peers(seed: number, count: number): PeerUpdate[] {
  return Array.from({ length: count }, (_, r) => {
    const scale = 10 ** ((r % 4) - 3);
    return { uid: 5 * r + 2, tensors: ErrorFeedback.zeros(MIXED_SPECS).step(randomParams(MIXED_SPECS, seed + r, scale), DEFAULT_SPARSELOCO) };
  });
}

const weightsOf = (ps: readonly PeerUpdate[], ws: readonly number[]) => new Map(ps.map((p, i) => [p.uid, ws[i]]));

describe('weighted lower median', () => {
  test('equal weights give the lower median; weights move it toward the heavy values', () => {
    for (const xs of [[4, 1, 3, 2], [7], [5, 5, 1], [9, 2, 6, 3, 8]]) {
      assert.equal(weightedLowerMedian(xs, xs.map(() => 1)), lowerMedian(xs), JSON.stringify(xs));
      assert.equal(weightedLowerMedian(xs, xs.map(() => 0.25)), lowerMedian(xs), JSON.stringify(xs));
    }
    // speeds 1, 1, 0.5, 0.25: the two slow peers' small norms no longer set the median the fast ones are clipped to
    assert.equal(weightedLowerMedian([0.35, 0.6, 1, 1.1], [0.25, 0.5, 1, 1]), 1);
    assert.equal(lowerMedian([0.35, 0.6, 1, 1.1]), 0.6);
    assert.equal(weightedLowerMedian([3, 1, 2], [1, 10, 1]), 1);
    assert.ok(Number.isNaN(weightedLowerMedian([], [])));
    assert.throws(() => weightedLowerMedian([1, 2], [1]), SparseLoCoError);
  });
});

describe('weighted aggregation', () => {
  test('work: the sum of the updates over the selectors\' summed work; mean: the weighted mean (hand case, no clipping)', () => {
    const a: PeerUpdate = { uid: 1, tensors: [hand([0, 3], [1.5, -2])] };
    const b: PeerUpdate = { uid: 2, tensors: [hand([3, 5], [4, 0.5])] };
    const w = new Map([[1, 1], [2, 0.25]]);
    const work = aggregate([a, b], { clipToMedianNorm: false, peerWeights: w }).grads[0].data;
    // coordinate 3: (−2 + 4) / 1.25; a lone selector's value over its own work (b: 0.5 / 0.25)
    assert.deepEqual([...work], [1.5, 0, 0, f(2 / 1.25), 0, 2, 0, 0]);
    const workByR = aggregate([a, b], { clipToMedianNorm: false, mode: 'divide-by-r', peerWeights: w }).grads[0].data;
    assert.deepEqual([...workByR], [f(1.5 / 1.25), 0, 0, f(2 / 1.25), 0, f(0.5 / 1.25), 0, 0]);
    const mean = aggregate([a, b], { clipToMedianNorm: false, peerWeights: w, peerWeightUse: 'mean' }).grads[0].data;
    // coordinate 3: (1·(−2) + 0.25·4) / 1.25; a lone selector keeps its own value
    assert.deepEqual([...mean], [1.5, 0, 0, f(f(-2 + 1) / 1.25), 0, 0.5, 0, 0]);
    const meanByR = aggregate([a, b], { clipToMedianNorm: false, mode: 'divide-by-r', peerWeights: w, peerWeightUse: 'mean' }).grads[0].data;
    assert.deepEqual([...meanByR], [f(1.5 / 1.25), 0, 0, f(-1 / 1.25), 0, f(0.125 / 1.25), 0, 0]);
    // a floor of 1 (claimed-samples): a coordinate only the slow peer selected keeps its value, not scaled up
    const floored = aggregate([a, b], { clipToMedianNorm: false, peerWeights: w, peerWeightFloor: 1 }).grads[0].data;
    assert.deepEqual([...floored], [1.5, 0, 0, f(2 / 1.25), 0, 0.5, 0, 0]);
    const meanFloored = aggregate([a, b], { clipToMedianNorm: false, peerWeights: w, peerWeightUse: 'mean', peerWeightFloor: 1 }).grads[0].data;
    assert.deepEqual([...meanFloored], [1.5, 0, 0, f(f(-2 + 1) / 1.25), 0, 0.125, 0, 0]);
    assert.throws(() => aggregate([a, b], { peerWeights: w, peerWeightFloor: -1 }), (e: unknown) => e instanceof SparseLoCoError && e.code === 'InvalidArgument');
  });

  test('the clipping median is weighted: the slow peers\' small updates no longer clip the full-speed ones', () => {
    const p = [
      { uid: 1, tensors: [hand([0, 1], [3, 4])] }, // norm 5, weight 1
      { uid: 2, tensors: [hand([2, 3], [6, 8])] }, // norm 10, weight 1
      { uid: 3, tensors: [hand([4, 5], [0.3, 0.4])] }, // norm 0.5, weight 0.25 (norm per work 2)
      { uid: 4, tensors: [hand([6, 7], [0.6, 0.8])] }, // norm 1, weight 0.5 (norm per work 2)
    ];
    const w = new Map([[1, 1], [2, 1], [3, 0.25], [4, 0.5]]);
    assert.equal(medianNorms(p).get('v'), 1);
    const k = clipFactor(10, 5);
    // work: medians of 5, 10, 2, 2 weighted 1, 1, 0.25, 0.5 → 5; only the norm-10 peer is clipped
    const work = aggregate(p, { peerWeights: w }).grads[0].data;
    const over = (x: number, wt: number) => f(f(x) / wt);
    assert.deepEqual([...work], [3, 4, f(6 * k), f(8 * k), over(0.3, 0.25), over(0.4, 0.25), over(0.6, 0.5), over(0.8, 0.5)]);
    // mean: medians of 5, 10, 0.5, 1 weighted the same → 5
    const mean = aggregate(p, { peerWeights: w, peerWeightUse: 'mean' }).grads[0].data;
    const alone = (x: number, wt: number) => f(f(x * wt) / wt);
    assert.deepEqual([...mean], [3, 4, alone(f(6 * k), 1), alone(f(8 * k), 1), alone(0.3, 0.25), alone(0.4, 0.25), alone(0.6, 0.5), alone(0.8, 0.5)]);
    // unweighted, the two slow peers set the median and the full-speed ones are clipped to norm 1
    const unweighted = aggregate(p).grads[0].data;
    assert.equal(unweighted[0], f(3 * clipFactor(5, 1)));
  });

  test('all weights 1 is the unweighted aggregation bit for bit; any arrival order gives the same bits', () => {
    const ps = peers(300, 6);
    const start = randomParams(MIXED_SPECS, 77);
    const plain = cloneParams(start);
    applyOuterStep(plain, ps, { lr: 0.4 });
    const ones = cloneParams(start);
    applyOuterStep(ones, ps, { lr: 0.4, peerWeights: weightsOf(ps, ps.map(() => 1)) });
    ones.forEach((p, i) => assert.ok(bitsEqual(p.data, plain[i].data), p.name));
    assert.equal(sortedPeerWeights(ps, weightsOf(ps, ps.map(() => 1))), null);

    const w = weightsOf(ps, [1, 0.5, 0.25, 1, 0.75, 0.125]);
    for (const use of ['work', 'mean'] as const) {
      const ones2 = cloneParams(start);
      applyOuterStep(ones2, ps, { lr: 0.4, peerWeights: weightsOf(ps, ps.map(() => 1)), peerWeightUse: use, peerWeightFloor: 1 });
      ones2.forEach((p, i) => assert.ok(bitsEqual(p.data, plain[i].data), `${use} ${p.name}`));
      const ref = cloneParams(start);
      applyOuterStep(ref, ps, { lr: 0.4, peerWeights: w, peerWeightUse: use, peerWeightFloor: 1 });
      assert.ok(ref.some((p, i) => !bitsEqual(p.data, plain[i].data)), 'unequal weights change the step');
      for (let s = 0; s < 3; s++) {
        const again = cloneParams(start);
        applyOuterStep(again, shuffled(ps, s), { lr: 0.4, peerWeights: new Map(shuffled([...w], s + 10)), peerWeightUse: use, peerWeightFloor: 1 });
        again.forEach((p, i) => assert.ok(bitsEqual(p.data, ref[i].data), `${use} order ${s} ${p.name}`));
      }
    }
  });

  test('matches a float64 reference of the weighted median clip and the weighted sum within float32 rounding', () => {
    const ps = peers(400, 5);
    const ws = [1, 0.5, 0.25, 1, 0.75];
    const total = ws.reduce((s, x) => s + x, 0);
    for (const use of ['work', 'mean'] as const) {
      for (const mode of ['selected-mean', 'divide-by-r'] as const) {
        const got = aggregate(ps, { mode, peerWeights: weightsOf(ps, ws), peerWeightUse: use });
        MIXED_SPECS.forEach((spec, t) => {
          const norms = ps.map((p, r) => Math.hypot(...dequantizedValues(p.tensors[t])) / (use === 'work' ? ws[r] : 1));
          const order = norms.map((_, i) => i).sort((a, b) => norms[a] - norms[b]);
          let below = 0;
          const med = norms[order.find((i) => 2 * (below += ws[i]) >= total)!];
          const sum = new Float64Array(got.grads[t].data.length);
          const wsum = new Float64Array(sum.length);
          const mag = new Float64Array(sum.length);
          ps.forEach((p, r) => {
            const factor = Math.min(1, med / (norms[r] + 1e-8)) * (use === 'mean' ? ws[r] : 1);
            const dense = peerUpdate({ uid: p.uid, tensors: [p.tensors[t]] })[0].data;
            const kept = peerUpdate({ uid: p.uid, tensors: [{ ...p.tensors[t], quant: { shift: 1, scale: 1, lookup: Float32Array.of(0, 0, 0, 0) } }] })[0].data;
            for (let i = 0; i < sum.length; i++) {
              if (kept[i] === 0) continue;
              sum[i] += dense[i] * factor;
              mag[i] += Math.abs(dense[i] * factor);
              wsum[i] += ws[r];
            }
          });
          const g = got.grads[t].data;
          for (let i = 0; i < sum.length; i++) {
            const div = mode === 'selected-mean' ? wsum[i] : total;
            const expected = wsum[i] === 0 ? 0 : sum[i] / div;
            assert.ok(Math.abs(g[i] - expected) <= 2e-6 * (mag[i] / Math.max(div, 1e-9)) + 1e-30, `${spec.name}[${i}] ${use} ${mode}: ${g[i]} vs ${expected}`);
          }
        });
      }
    }
  });

  test('bad weights are typed errors and change nothing', () => {
    const ps = peers(500, 3);
    const params = randomParams(MIXED_SPECS, 1);
    const before = cloneParams(params);
    for (const bad of [0, -1, NaN, Infinity, 1e-50]) {
      assert.throws(() => applyOuterStep(params, ps, { lr: 0.4, peerWeights: new Map([[ps[1].uid, bad]]) }), (e: unknown) => e instanceof SparseLoCoError && e.code === 'InvalidArgument', String(bad));
    }
    params.forEach((p, i) => assert.ok(bitsEqual(p.data, before[i].data)));
  });

  test('peerWeighting is checked by the config validation', () => {
    validateSparseLoCoConfig({ ...DEFAULT_SPARSELOCO, peerWeighting: 'equal' });
    validateSparseLoCoConfig({ ...DEFAULT_SPARSELOCO, peerWeighting: 'claimed-samples' });
    assert.throws(() => validateSparseLoCoConfig({ ...DEFAULT_SPARSELOCO, peerWeighting: 'claimed-samples-mean' as 'equal' }), (e: unknown) => e instanceof SparseLoCoError && e.code === 'InvalidConfig' && /peerWeighting/.test(e.message));
  });
});

describe('weighted aggregation with a backend', () => {
  const be = new WasmBackend({ threads: 2 });
  after(() => be.dispose());

  test('unequal weights aggregate in JS on the backend\'s own parameters, bit-identical to plain arrays', () => {
    const ps = peers(600, 4);
    const plain = randomParams(MIXED_SPECS, 9);
    const inBackend: ParamTensor[] = plain.map((p) => {
      const data = be.view(be.alloc(p.data.length)) as Float32Array;
      data.set(p.data);
      return { ...p, data };
    });
    const options = { lr: 0.4, peerWeights: weightsOf(ps, [1, 1, 0.5, 0.25]), peerWeightFloor: 1 };
    const a = applyOuterStep(plain, ps, options);
    const b = applyOuterStep(inBackend, [...ps].reverse(), options, be);
    assert.deepEqual(b, a);
    plain.forEach((p, i) => assert.ok(bitsEqual(inBackend[i].data, p.data), p.name));
  });
});
