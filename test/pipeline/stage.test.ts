import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODEL_CONFIGS, paramSpecs } from '../../src/model/config.ts';
import { createModel } from '../../src/model/llama.ts';
import type { LlamaModel } from '../../src/model/llama.ts';
import { splitModel, stageParamSpecs, SplitError } from '../../src/model/stages.ts';
import { InProcessPipeline, stageInitValues, stageValuesFromModel } from '../../src/pipeline/pipeline.ts';
import { microBatch } from '../../src/pipeline/schedule.ts';
import { Rng } from '../../src/tensor/rng.ts';
import { cfg4, randomBatch } from './helpers.ts';

/** The unsplit model's loss and gradients over the same micro-batches, accumulated in the same order. */
function reference(model: LlamaModel, batch: ReturnType<typeof randomBatch>, M: number): { loss: number; grads: Float64Array } {
  let loss = 0;
  for (let m = 0; m < M; m++) loss += model.lossAndGrad(microBatch(batch, m, M), { accumulate: m > 0 }) * (1 / M);
  const g = model.backend.view(model.flat.grads);
  return { loss, grads: Float64Array.from(g, (v) => v / M) };
}

describe('pipeline stages (in process)', () => {
  test('splitModel: contiguous layer ranges, params a contiguous run of the flat buffer', () => {
    const specs = splitModel(cfg4, 3);
    assert.deepEqual(specs.map((s) => [s.firstLayer, s.endLayer]), [[0, 2], [2, 3], [3, 4]]);
    const all = paramSpecs(cfg4);
    const names = specs.flatMap((s) => stageParamSpecs(cfg4, s).map((p) => p.name));
    assert.deepEqual(names, all.map((p) => p.name));
    assert.equal(specs[0].paramOffset, 0);
    for (let i = 1; i < 3; i++) assert.equal(specs[i].paramOffset, specs[i - 1].paramOffset + specs[i - 1].paramCount);
    assert.deepEqual(splitModel(cfg4, 2, [3]).map((s) => [s.firstLayer, s.endLayer]), [[0, 3], [3, 4]]);
    assert.throws(() => splitModel(cfg4, 2, [4]), (e) => e instanceof SplitError && e.code === 'BadSplit');
    assert.throws(() => splitModel(cfg4, 5), (e) => e instanceof SplitError && e.code === 'BadSplit');
    assert.throws(() => splitModel(MODEL_CONFIGS.small, 2), (e) => e instanceof SplitError && e.code === 'TiedEmbeddings');
  });

  test('stageInitValues draws what the unsplit model draws', () => {
    const m = createModel(cfg4, { seed: 9, backend: 'js' });
    for (const sp of splitModel(cfg4, 3)) assert.deepEqual(Float64Array.from(stageInitValues(cfg4, sp, 9)), stageValuesFromModel(m, sp));
  });

  test('the stages\' optimizer views together are the model\'s parameters (per-stage SparseLoCo needs nothing else)', () => {
    const model = createModel(cfg4, { seed: 6, threads: 1 });
    const specs = splitModel(cfg4, 3);
    const pipe = InProcessPipeline.fromModel(model, specs, () => ({ threads: 1 }));
    const joined = pipe.stages.flatMap((s) => s.paramTensors());
    const whole = model.parameters();
    assert.deepEqual(joined.map((p) => [p.name, [...p.shape]]), whole.map((p) => [p.name, [...p.shape]]));
    for (let i = 0; i < whole.length; i++) assert.deepEqual(joined[i].data, whole[i].data);
    for (const [i, st] of pipe.stages.entries()) assert.deepEqual(st.paramTensors().map((p) => p.name), stageParamSpecs(cfg4, specs[i]).map((p) => p.name));
    pipe.dispose();
    model.dispose();
  });

  for (const backend of ['wasm', 'js'] as const) {
    for (const [S, M] of [[2, 1], [2, 2], [3, 4], [3, 1]] as const) {
      test(`S=${S}, ${M} micro-batch(es), ${backend}: loss and gradients bit-identical to the unsplit model`, async () => {
        const model = createModel(cfg4, { seed: 4, backend, threads: 1 });
        const pv = model.backend.view(model.flat.params);
        const rng = new Rng(3);
        for (let i = 0; i < pv.length; i++) if (pv[i] !== 1) pv[i] = 0.2 * rng.normal(); // signal on every path
        const specs = splitModel(cfg4, S);
        const pipe = InProcessPipeline.fromModel(model, specs, () => ({ backend, threads: 1 }));
        try {
          const batch = randomBatch(cfg4, 4, 9, 5);
          const got = await pipe.runStep(batch, M);
          const want = reference(model, batch, M);
          assert.equal(got.loss, want.loss);
          for (const [i, st] of pipe.stages.entries()) {
            const g = st.backend.view(st.flat.grads);
            const w = want.grads.subarray(specs[i].paramOffset, specs[i].paramOffset + specs[i].paramCount);
            for (let k = 0; k < g.length; k++) if (g[k] !== w[k]) assert.fail(`stage ${i} grad ${k}: ${g[k]} vs ${w[k]}`);
          }
          // a second step on the same stages gives the same (no state leaks between steps)
          const again = await pipe.runStep(batch, M);
          assert.equal(again.loss, got.loss);
        } finally {
          pipe.dispose();
          model.dispose();
        }
      });
    }
  }
});
