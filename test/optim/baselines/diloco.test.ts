import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel } from '../../../src/model/llama.ts';
import { BaselineError, DiLoCo } from '../../../src/optim/baselines/index.ts';
import { InnerTrainer, type InnerTrainerOptions } from '../../../src/optim/inner-trainer.ts';
import { batchOf, maxAbsDiff, MICRO } from './helpers.ts';

const inner: InnerTrainerOptions = { schedule: { lr: 1e-2, warmupSteps: 2, cosineSteps: 10 } };

describe('DiLoCo (simulated replicas)', () => {
  test('H = 1, R = 1, outer lr 1, no momentum is plain AdamW', () => {
    const a = createModel(MICRO, { seed: 2, threads: 1 });
    const b = createModel(MICRO, { seed: 2, threads: 1 });
    const diloco = new DiLoCo(a, { replicas: 1, inner, outerLr: 1, outerMomentum: 0 });
    const plain = new InnerTrainer(b, inner);
    try {
      for (let s = 0; s < 6; s++) {
        const batch = batchOf(s, 3, 10);
        const res = diloco.round([[batch]]);
        const ref = plain.step(batch);
        assert.equal(res.trainLoss, ref.loss, `step ${s}: same loss before the update`);
      }
      const diff = maxAbsDiff(diloco.globalParams(), b.parameters());
      assert.ok(diff < 1e-6, `global model differs from AdamW by ${diff}`);
      const init = createModel(MICRO, { seed: 2, threads: 1 });
      assert.ok(maxAbsDiff(diloco.globalParams(), init.parameters()) > 1e-3, 'training moved the parameters');
      init.dispose();
    } finally {
      diloco.dispose();
      plain.dispose();
      a.dispose();
      b.dispose();
    }
  });

  test('R = 2, H = 2: mean pseudo-gradient and outer Nesterov (lr 0.7, μ 0.9) match a by-hand reference', () => {
    const R = 2, H = 2, lr = 0.7, mu = 0.9;
    const model = createModel(MICRO, { seed: 3, threads: 1 });
    const diloco = new DiLoCo(model, { replicas: R, inner });
    // reference: each replica its own model and optimizer; outer step in float64
    const refs = Array.from({ length: R }, () => createModel(MICRO, { seed: 3, threads: 1 }));
    const trainers = refs.map((m) => new InnerTrainer(m, inner));
    try {
      const P = model.flat.params.length;
      assert.equal(diloco.bytesPerRound, 4 * P);
      let theta = Float64Array.from(diloco.global.data);
      const buf = new Float64Array(P);
      for (let round = 0; round < 3; round++) {
        const batches = Array.from({ length: R }, (_, r) => Array.from({ length: H }, (_, h) => batchOf(1000 * round + 10 * r + h, 2, 10)));
        const res = diloco.round(batches);
        assert.equal(res.bytesSentPerReplica, 4 * P);
        const delta = new Float64Array(P);
        refs.forEach((m, r) => {
          const view = m.parameters();
          let off = 0;
          for (const t of view) {
            t.data.set(Float32Array.from(theta.subarray(off, off + t.data.length)));
            off += t.data.length;
          }
          for (const b of batches[r]) trainers[r].step(b);
          off = 0;
          for (const t of m.parameters()) {
            for (let i = 0; i < t.data.length; i++) delta[off + i] += (Math.fround(theta[off + i] - t.data[i])) / R;
            off += t.data.length;
          }
        });
        for (let i = 0; i < P; i++) {
          buf[i] = mu * buf[i] + delta[i];
          theta[i] -= lr * (delta[i] + mu * buf[i]);
        }
        let worst = 0;
        for (let i = 0; i < P; i++) worst = Math.max(worst, Math.abs(theta[i] - diloco.global.data[i]));
        assert.ok(worst < 1e-5, `round ${round}: global differs from the reference by ${worst}`);
        theta = Float64Array.from(diloco.global.data); // keep the reference on the float32 trajectory
      }
    } finally {
      diloco.dispose();
      trainers.forEach((t) => t.dispose());
      refs.forEach((m) => m.dispose());
      model.dispose();
    }
  });

  test('evaluation uses the global model; malformed rounds are typed errors', () => {
    const model = createModel(MICRO, { seed: 4, threads: 1 });
    const diloco = new DiLoCo(model, { replicas: 2, inner: { schedule: { lr: 1e-2, warmupSteps: 0, cosineSteps: 0 } } });
    try {
      const held = [batchOf(77, 2, 10)];
      const before = diloco.evalLoss(held);
      diloco.round([[batchOf(1, 2, 10)], [batchOf(2, 2, 10)]]);
      // the model holds replica 1's local parameters now; evalLoss must load the global ones
      const after = diloco.evalLoss(held);
      assert.ok(after !== before);
      assert.equal(maxAbsDiff(model.parameters(), diloco.globalParams()), 0);
      assert.throws(() => diloco.round([[batchOf(1, 2, 10)]]), (e: unknown) => e instanceof BaselineError && e.code === 'BadBatches');
      assert.throws(() => diloco.round([[], []]), (e: unknown) => e instanceof BaselineError && e.code === 'BadBatches');
    } finally {
      diloco.dispose();
      model.dispose();
    }
    assert.throws(() => diloco.round([[batchOf(1, 2, 10)], [batchOf(2, 2, 10)]]), (e: unknown) => e instanceof BaselineError && e.code === 'Disposed');
  });
});
