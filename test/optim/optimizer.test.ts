import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelConfig } from '../../src/model/config.ts';
import { createModel } from '../../src/model/llama.ts';
import { AdamW } from '../../src/optim/adamw.ts';
import { clipCoefficient, globalGradNorm } from '../../src/optim/clip.ts';
import { InnerTrainer, InnerTrainerError } from '../../src/optim/inner-trainer.ts';
import { lrAt, ScheduleError, validateSchedule } from '../../src/optim/schedule.ts';
import { JsBackend } from '../../src/tensor/js-backend.ts';
import { WasmBackend } from '../../src/tensor/wasm-backend.ts';

const micro: ModelConfig = {
  name: 'micro', vocabSize: 31, dim: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnDim: 20, maxSeqLen: 16,
  ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: false,
};

function batch(seed: number, batchSize = 2, seqLen = 9) {
  const tokens = Int32Array.from({ length: batchSize * (seqLen + 1) }, (_, i) => (i * 7 + seed * 13 + ((i * i) % 5)) % micro.vocabSize);
  return { tokens, batchSize, seqLen };
}

describe('LR schedule (linear warm-up, cosine to 0.1·lr)', () => {
  const c = { lr: 1e-3, warmupSteps: 10, cosineSteps: 100 };
  test('warm-up is torch LinearLR from 1e-6·lr', () => {
    assert.equal(lrAt(c, 0), 1e-3 * 1e-6);
    assert.ok(Math.abs(lrAt(c, 5) - 1e-3 * (1e-6 + (1 - 1e-6) * 0.5)) < 1e-15);
    assert.equal(lrAt(c, 10), 1e-3);
  });
  test('cosine reaches eta_min = 0.1·lr and stays there', () => {
    assert.ok(Math.abs(lrAt(c, 60) - (1e-4 + 0.9e-3 * 0.5)) < 1e-15);
    assert.ok(Math.abs(lrAt(c, 110) - 1e-4) < 1e-15);
    assert.equal(lrAt(c, 5000), lrAt(c, 110));
    for (let s = 10; s < 110; s++) assert.ok(lrAt(c, s + 1) <= lrAt(c, s));
  });
  test('bad configs and steps are typed errors', () => {
    assert.throws(() => validateSchedule({ lr: -1, warmupSteps: 1, cosineSteps: 1 }), ScheduleError);
    assert.throws(() => validateSchedule({ lr: 1, warmupSteps: 1.5, cosineSteps: 1 }), ScheduleError);
    assert.throws(() => lrAt(c, -1), ScheduleError);
  });
});

describe('gradient clipping', () => {
  test('global norm over all gradients and torch clip coefficient', () => {
    const be = new JsBackend('float32');
    const g = be.alloc(4);
    be.view(g).set([3, 0, 4, 0]);
    assert.equal(globalGradNorm(be, g), 5);
    assert.ok(Math.abs(clipCoefficient(5, 1) - 1 / (5 + 1e-6)) < 1e-15);
    assert.equal(clipCoefficient(0.5, 1), 1);
  });
});

describe('AdamW', () => {
  test('matches the closed form on one scalar, decays only 2-D params', () => {
    for (const be of [new JsBackend('float64'), new WasmBackend({ threads: 2 })]) {
      const p = be.alloc(2), g = be.alloc(2);
      be.view(p).set([1, 1]);
      be.view(g).set([0.5, 0.5]);
      const opt = new AdamW(be, p, g, [{ offset: 0, size: 1, shape: [1, 1] }, { offset: 1, size: 1, shape: [1] }]);
      const lr = 0.01, wd = 0.1;
      opt.step(lr, 0.5);
      // step 1: m = 0.1 g', v = 0.05 g'^2, m̂/sqrt(v̂) = sign(g') (up to eps)
      const gp = 0.25;
      const upd = lr * (0.1 * gp / 0.1) / (Math.sqrt(0.05 * gp * gp) / Math.sqrt(0.05) + 1e-8);
      const v = be.view(p);
      assert.ok(Math.abs(v[0] - (1 * (1 - lr * wd) - upd)) < 1e-6, `decayed ${v[0]}`);
      assert.ok(Math.abs(v[1] - (1 - upd)) < 1e-6, `not decayed ${v[1]}`);
      assert.equal(opt.steps, 1);
      opt.reset();
      assert.equal(opt.steps, 0);
      be.dispose();
    }
  });

  test('decayAll (Templar: AdamW over model.parameters()) decays the 1-D parameter too', () => {
    const be = new JsBackend('float64');
    const p = be.alloc(2), g = be.alloc(2);
    be.view(p).set([1, 1]);
    be.view(g).set([0.5, 0.5]);
    const opt = new AdamW(be, p, g, [{ offset: 0, size: 1, shape: [1, 1] }, { offset: 1, size: 1, shape: [1] }], { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, decayAll: true });
    opt.step(0.01, 0.5);
    const upd = 0.01 / (1 + 1e-8);
    const v = be.view(p);
    assert.ok(Math.abs(v[0] - (0.999 - upd)) < 1e-9, `2-D ${v[0]}`);
    assert.ok(Math.abs(v[1] - (0.999 - upd)) < 1e-9, `1-D ${v[1]}`);
    be.dispose();
  });
});

describe('InnerTrainer', () => {
  test('step returns loss, pre-clip grad norm and the scheduled lr; the loss falls on a repeated batch', () => {
    const m = createModel(micro, { seed: 1, threads: 2 });
    const sched = { lr: 3e-3, warmupSteps: 3, cosineSteps: 20 };
    const tr = new InnerTrainer(m, { schedule: sched });
    try {
      const b = batch(1);
      const first = tr.step(b);
      assert.equal(first.lr, lrAt(sched, 0));
      assert.ok(first.gradNorm > 0 && Number.isFinite(first.loss));
      let last = first;
      for (let i = 1; i < 25; i++) last = tr.step(b);
      assert.equal(last.lr, lrAt(sched, 24));
      assert.equal(tr.currentStep, 25);
      assert.ok(last.loss < first.loss - 0.5, `${first.loss} -> ${last.loss}`);
    } finally {
      tr.dispose();
      m.dispose();
    }
  });

  test('resetOptimizer gives a fresh AdamW: same update as a new trainer from the same weights', () => {
    const a = createModel(micro, { seed: 4, threads: 1 });
    const b = createModel(micro, { seed: 4, threads: 1 });
    const sched = { lr: 1e-2, warmupSteps: 0, cosineSteps: 0 };
    const ta = new InnerTrainer(a, { schedule: sched });
    try {
      for (let i = 0; i < 3; i++) ta.step(batch(i));
      // copy a's weights into b, then one step each: a after reset, b with a new trainer
      b.parameters().forEach((p, i) => p.data.set(a.parameters()[i].data));
      ta.resetOptimizer();
      assert.equal(ta.optimizerSteps, 0);
      const tb = new InnerTrainer(b, { schedule: sched });
      ta.step(batch(7));
      tb.step(batch(7));
      a.parameters().forEach((p, i) => assert.deepEqual(p.data, b.parameters()[i].data, p.name));
      tb.dispose();
    } finally {
      ta.dispose();
      a.dispose();
      b.dispose();
    }
  });

  test('gradient accumulation over micro-batches equals one step on the whole batch', () => {
    const a = createModel(micro, { seed: 9, threads: 2, backend: 'js', jsDType: 'float64' });
    const b = createModel(micro, { seed: 9, threads: 2, backend: 'js', jsDType: 'float64' });
    const sched = { lr: 1e-2, warmupSteps: 0, cosineSteps: 0 };
    const ta = new InnerTrainer(a, { schedule: sched, maxGradNorm: 0.1 });
    const tb = new InnerTrainer(b, { schedule: sched, maxGradNorm: 0.1 });
    try {
      const whole = batch(3, 4, 9);
      const half = (k: number) => ({ tokens: whole.tokens.slice(k * 20, k * 20 + 20), batchSize: 2, seqLen: 9 });
      const ra = ta.step(whole);
      const rb = tb.step([half(0), half(1)]);
      assert.ok(Math.abs(ra.loss - rb.loss) < 1e-12 && Math.abs(ra.gradNorm - rb.gradNorm) < 1e-12);
      const pa = a.paramArrays(), pb = b.paramArrays();
      pa.forEach((p, i) => p.forEach((v, k) => assert.ok(Math.abs(v - pb[i][k]) < 1e-12)));
      assert.throws(() => ta.step([]), InnerTrainerError);
    } finally {
      ta.dispose(); tb.dispose(); a.dispose(); b.dispose();
    }
  });

  test('setStep moves the schedule; bad options are typed errors', () => {
    const m = createModel(micro, { seed: 1, threads: 1 });
    try {
      const sched = { lr: 1e-3, warmupSteps: 10, cosineSteps: 100 };
      const tr = new InnerTrainer(m, { schedule: sched });
      tr.setStep(60);
      assert.equal(tr.step(batch(1)).lr, lrAt(sched, 60));
      assert.throws(() => tr.setStep(-2), (e: unknown) => e instanceof InnerTrainerError && e.code === 'BadOption');
      assert.throws(() => new InnerTrainer(m, { schedule: sched, maxGradNorm: 0 }), InnerTrainerError);
      assert.throws(() => new InnerTrainer(m, { schedule: { ...sched, lr: 0 } }), ScheduleError);
      tr.dispose();
    } finally {
      m.dispose();
    }
  });

  test('a non-finite loss is reported and not applied', () => {
    const m = createModel(micro, { seed: 1, threads: 1 });
    try {
      const tr = new InnerTrainer(m, { schedule: { lr: 1e-3, warmupSteps: 0, cosineSteps: 0 } });
      m.parameters()[0].data[0] = Number.NaN;
      const before = m.parameters().map((p) => p.data.slice());
      const b = { tokens: new Int32Array(batch(1).tokens.length), batchSize: 2, seqLen: 9 };
      assert.throws(() => tr.step(b), (e: unknown) => e instanceof InnerTrainerError && e.code === 'NonFiniteLoss');
      m.parameters().forEach((p, i) => assert.deepEqual(p.data, before[i]));
      assert.equal(tr.currentStep, 0);
      assert.equal(tr.optimizerSteps, 0);
      tr.dispose();
    } finally {
      m.dispose();
    }
  });
});
