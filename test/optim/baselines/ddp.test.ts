import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel } from '../../../src/model/llama.ts';
import { BaselineError, DdpAdamW } from '../../../src/optim/baselines/index.ts';
import { InnerTrainer, type InnerTrainerOptions } from '../../../src/optim/inner-trainer.ts';
import { batchOf, concatBatches, maxAbsDiff, MICRO } from './helpers.ts';

// maxGradNorm below the early gradient norms, so clipping (of the averaged gradient) is part of the comparison
const inner: InnerTrainerOptions = { schedule: { lr: 1e-2, warmupSteps: 2, cosineSteps: 6 }, maxGradNorm: 0.75 };

describe('DDP-style AdamW (simulated replicas)', () => {
  test('R replicas with all-reduced gradients equal one model trained on the concatenated batch', () => {
    const R = 3;
    const ddpModel = createModel(MICRO, { seed: 5, threads: 1 });
    const refModel = createModel(MICRO, { seed: 5, threads: 1 });
    const ddp = new DdpAdamW(ddpModel, { replicas: R, inner });
    const ref = new InnerTrainer(refModel, inner);
    try {
      assert.equal(maxAbsDiff(ddpModel.parameters(), refModel.parameters()), 0, 'same init');
      let clipped = 0;
      for (let s = 0; s < 8; s++) {
        const batches = Array.from({ length: R }, (_, r) => batchOf(100 * s + r, 2, 12));
        const a = ddp.step(batches);
        const b = ref.step(concatBatches(batches));
        assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `step ${s}: loss ${a.loss} vs ${b.loss}`);
        assert.ok(Math.abs(a.gradNorm - b.gradNorm) < 1e-5 * b.gradNorm, `step ${s}: grad norm ${a.gradNorm} vs ${b.gradNorm}`);
        assert.equal(a.lr, b.lr);
        if (b.gradNorm > 0.75) clipped++;
      }
      assert.ok(clipped > 0 && clipped < 8, `the comparison covers clipped and unclipped steps (${clipped} clipped)`);
      const diff = maxAbsDiff(ddpModel.parameters(), refModel.parameters());
      assert.ok(diff < 2e-5, `parameters differ by ${diff}`);
      const init = createModel(MICRO, { seed: 5, threads: 1 });
      assert.ok(maxAbsDiff(ddpModel.parameters(), init.parameters()) > 1e-3, 'training moved the parameters');
      init.dispose();
      assert.equal(ddp.steps, 8);
    } finally {
      ddp.dispose();
      ref.dispose();
      ddpModel.dispose();
      refModel.dispose();
    }
  });

  test('a round is H synchronized steps; each replica sends one dense fp32 gradient per step', () => {
    const model = createModel(MICRO, { seed: 1, threads: 1 });
    const ddp = new DdpAdamW(model, { replicas: 2, inner });
    try {
      const P = model.flat.params.length;
      assert.equal(ddp.bytesPerStep, 4 * P);
      const batches = [0, 1].map((r) => [0, 1, 2].map((h) => batchOf(10 * r + h, 2, 8)));
      const res = ddp.round(batches);
      assert.equal(res.bytesSentPerReplica, 3 * 4 * P);
      assert.equal(ddp.steps, 3);
      assert.ok(Number.isFinite(res.trainLoss));
      assert.throws(() => ddp.round([batches[0]]), (e: unknown) => e instanceof BaselineError && e.code === 'BadBatches');
      assert.throws(() => ddp.round([batches[0], batches[1].slice(1)]), (e: unknown) => e instanceof BaselineError && e.code === 'BadBatches');
      assert.throws(() => ddp.step([batches[0][0]]), (e: unknown) => e instanceof BaselineError && e.code === 'BadBatches');
    } finally {
      ddp.dispose();
      model.dispose();
    }
    assert.throws(() => new DdpAdamW(model, { replicas: 0, inner }), (e: unknown) => e instanceof BaselineError && e.code === 'BadOption');
  });
});
