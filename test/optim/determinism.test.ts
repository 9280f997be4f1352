// Nodes must agree bit-for-bit: same seed and data → identical parameters after N steps, for every thread count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MODEL_CONFIGS } from '../../src/model/config.ts';
import { createModel } from '../../src/model/llama.ts';
import { InnerTrainer } from '../../src/optim/inner-trainer.ts';
import { Rng } from '../../src/tensor/rng.ts';

function train(threads: number, warmUp = false): { params: Float32Array[]; losses: number[]; norms: number[] } {
  const cfg = MODEL_CONFIGS.tiny;
  const m = createModel(cfg, { seed: 42, threads });
  const tr = new InnerTrainer(m, { schedule: { lr: 3e-3, warmupSteps: 2, cosineSteps: 10 } });
  const rng = new Rng(5);
  if (warmUp) tr.warmUp({ tokens: new Int32Array(5 * 34).fill(7), batchSize: 5, seqLen: 33 });
  const losses: number[] = [], norms: number[] = [];
  try {
    for (let s = 0; s < 4; s++) {
      const tokens = Int32Array.from({ length: 3 * 34 }, () => rng.nextU32() % cfg.vocabSize);
      const r = tr.step({ tokens, batchSize: 3, seqLen: 33 });
      losses.push(r.loss);
      norms.push(r.gradNorm);
    }
    return { params: m.parameters().map((p) => p.data.slice()), losses, norms };
  } finally {
    tr.dispose();
    m.dispose();
  }
}

test('bit-identical training with 1, 2 and 3 threads, and across repeated runs', () => {
  const ref = train(1);
  for (const threads of [2, 3, 1]) {
    const r = train(threads);
    assert.deepEqual(r.losses, ref.losses, `losses, ${threads} threads`);
    assert.deepEqual(r.norms, ref.norms, `grad norms, ${threads} threads`);
    r.params.forEach((p, i) => assert.ok(Buffer.from(p.buffer).equals(Buffer.from(ref.params[i].buffer)), `param ${i}, ${threads} threads`));
  }
});

test('a warm-up pass before training changes nothing: the same losses, norms and parameters bit for bit', () => {
  const ref = train(2);
  const warmed = train(2, true);
  assert.deepEqual(warmed.losses, ref.losses);
  assert.deepEqual(warmed.norms, ref.norms);
  warmed.params.forEach((p, i) => assert.ok(Buffer.from(p.buffer).equals(Buffer.from(ref.params[i].buffer)), `param ${i}`));
});
