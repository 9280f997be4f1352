import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel } from '../../src/model/llama.ts';
import type { LlamaModel } from '../../src/model/llama.ts';
import { splitModel } from '../../src/model/stages.ts';
import type { StageSpec } from '../../src/model/stages.ts';
import { isPipelineError } from '../../src/pipeline/errors.ts';
import { boundaryStepBytes, forwardFrameBytes } from '../../src/pipeline/messages.ts';
import { InProcessPipeline, stageInitValues, stageValuesFromModel } from '../../src/pipeline/pipeline.ts';
import { Stage } from '../../src/pipeline/stage.ts';
import type { StageCompression } from '../../src/pipeline/stage.ts';
import { perpEmbedding, SubspaceConstraint, subspaceBasis, subspaceDigest } from '../../src/pipeline/subspace.ts';
import { AdamW, DEFAULT_ADAMW } from '../../src/optim/adamw.ts';
import { Rng } from '../../src/tensor/rng.ts';
import { cfg4, randomBatch } from './helpers.ts';

const cfg = cfg4;

function compressionFor(model: LlamaModel, rank: number, seed = 77): StageCompression {
  const basis = subspaceBasis({ dim: cfg.dim, rank, seed });
  const e = model.backend.view(model.flat.params).subarray(0, cfg.vocabSize * cfg.dim);
  return { basis, eperp: perpEmbedding(e, basis, cfg.dim) };
}

function randomize(model: LlamaModel, seed: number, scale = 0.3): void {
  const pv = model.backend.view(model.flat.params);
  const rng = new Rng(seed);
  for (let i = 0; i < pv.length; i++) pv[i] = pv[i] === 1 ? 1 + scale * rng.normal() : scale * rng.normal();
}

function compressedPipeline(model: LlamaModel, specs: StageSpec[], comp: StageCompression, backend: 'js' | 'wasm', f64: boolean): InProcessPipeline {
  return InProcessPipeline.fromModel(model, specs, () => ({ backend, jsDType: f64 ? 'float64' : 'float32', threads: 1, compression: comp }));
}

describe('subspace-compressed stage boundaries', () => {
  test('the basis is orthonormal, a function of (dim, rank, seed) only', () => {
    const u = subspaceBasis({ dim: 16, rank: 6, seed: 5 });
    for (let a = 0; a < 6; a++) {
      for (let b = 0; b < 6; b++) {
        let dot = 0;
        for (let i = 0; i < 16; i++) dot += u[i * 6 + a] * u[i * 6 + b];
        assert.ok(Math.abs(dot - (a === b ? 1 : 0)) < 1e-14, `${a}·${b} = ${dot}`);
      }
    }
    assert.equal(subspaceDigest(subspaceBasis({ dim: 16, rank: 6, seed: 5 })), subspaceDigest(u));
    assert.notEqual(subspaceDigest(subspaceBasis({ dim: 16, rank: 6, seed: 6 })), subspaceDigest(u));
    assert.throws(() => subspaceBasis({ dim: 16, rank: 17, seed: 1 }), (e) => isPipelineError(e, 'BadConfig'));
  });

  for (const S of [2, 3]) {
    test(`float64 gradient check through compressed boundaries (S=${S}, rank 5 of 16, 2 micro-batches)`, async () => {
      const model = createModel(cfg, { seed: 2, backend: 'js', jsDType: 'float64' });
      randomize(model, 8);
      const specs = splitModel(cfg, S);
      const pipe = compressedPipeline(model, specs, compressionFor(model, 5), 'js', true);
      try {
        const batch = { ...randomBatch(cfg, 2, 6, 4), targetMask: Uint8Array.from({ length: 12 }, (_, i) => (i % 5 === 3 ? 0 : 1)) };
        await pipe.runStep(batch, 2);
        const rng = new Rng(12);
        const h = 1e-6;
        for (const st of pipe.stages) {
          const pv = st.backend.view(st.flat.params);
          const grads = st.backend.view(st.flat.grads).slice();
          for (const e of st.flat.layout) {
            for (let s = 0; s < 3; s++) {
              const k = e.offset + (rng.nextU32() % e.size);
              const orig = pv[k];
              pv[k] = orig + h;
              const fp = (await pipe.runStep(batch, 2)).loss;
              pv[k] = orig - h;
              const fm = (await pipe.runStep(batch, 2)).loss;
              pv[k] = orig;
              const num = (fp - fm) / (2 * h);
              assert.ok(Math.abs(num - grads[k]) < 1e-6 * Math.max(1, Math.abs(num)), `stage ${st.spec.index} ${e.name}[${k - e.offset}]: ${grads[k]} vs ${num}`);
            }
          }
        }
      } finally {
        pipe.dispose();
        model.dispose();
      }
    });
  }

  test('a subspace network (constraint applied) crosses a rank-4 boundary losslessly: loss and projected gradients of the unsplit model', async () => {
    const model = createModel(cfg, { seed: 3, backend: 'js', jsDType: 'float64' });
    randomize(model, 9);
    const comp = compressionFor(model, 4);
    const constraint = new SubspaceConstraint(cfg, comp.basis, comp.eperp);
    const views = () => model.flat.layout.map((e) => ({ name: e.name, shape: e.shape, data: model.backend.view(model.backend.sub(model.flat.params, e.offset, e.size)) }));
    constraint.projectParams(views());
    const specs = splitModel(cfg, 3);
    const pipe = compressedPipeline(model, specs, comp, 'js', true);
    try {
      const batch = randomBatch(cfg, 2, 7, 1);
      const want = model.lossAndGrad(batch);
      const wantGrads = model.flat.layout.map((e) => ({ name: e.name, shape: e.shape, data: model.backend.view(model.backend.sub(model.flat.grads, e.offset, e.size)).slice() }));
      constraint.projectGradients(wantGrads);
      const got = await pipe.runStep(batch, 1);
      assert.ok(Math.abs(got.loss - want) < 1e-12, `${got.loss} vs ${want}`);
      let maxErr = 0, maxVal = 0;
      for (const st of pipe.stages) {
        const gs = st.gradients();
        constraint.projectGradients(gs);
        for (const g of gs) {
          const w = wantGrads.find((x) => x.name === g.name)!;
          for (let k = 0; k < g.data.length; k++) {
            maxErr = Math.max(maxErr, Math.abs(g.data[k] - w.data[k]));
            maxVal = Math.max(maxVal, Math.abs(w.data[k]));
          }
        }
      }
      assert.ok(maxErr < 1e-12 * Math.max(1, maxVal), `gradients differ by ${maxErr} (largest ${maxVal})`);
      // without the constraint the same boundary loses information
      randomize(model, 9);
      const loose = compressedPipeline(model, specs, comp, 'js', true);
      const lossy = await loose.runStep(batch, 1);
      assert.ok(Math.abs(lossy.loss - model.loss(batch)) > 1e-4);
      loose.dispose();
    } finally {
      pipe.dispose();
      model.dispose();
    }
  });

  test('a compressed group trains with AdamW when the constraint is re-applied after every step, and stays lossless', async () => {
    const model = createModel(cfg, { seed: 11, threads: 1 });
    const comp = compressionFor(model, 8);
    const constraint = new SubspaceConstraint(cfg, comp.basis, comp.eperp);
    const specs = splitModel(cfg, 2);
    const pipe = compressedPipeline(model, specs, comp, 'wasm', false);
    for (const st of pipe.stages) constraint.projectParams(st.parameters());
    const opts = pipe.stages.map((st) => new AdamW(st.backend, st.flat.params, st.flat.grads, st.flat.layout, { ...DEFAULT_ADAMW, weightDecay: 0.1 }));
    const batch = randomBatch(cfg, 4, 12, 8);
    const losses: number[] = [];
    for (let it = 0; it < 25; it++) {
      losses.push((await pipe.runStep(batch, 2)).loss);
      pipe.stages.forEach((st, i) => {
        constraint.projectGradients(st.gradients());
        opts[i].step(3e-3);
        constraint.projectParams(st.parameters());
      });
    }
    assert.ok(losses[24] < losses[0] - 0.5, `loss ${losses[0]} → ${losses[24]}`);
    // the trained stages, put back together as one unsplit model, compute what the compressed group computes
    const pv = model.backend.view(model.flat.params);
    pipe.stages.forEach((st, i) => pv.set(st.backend.view(st.flat.params), specs[i].paramOffset));
    const unsplit = model.loss(batch);
    const grouped = (await pipe.runStep(batch, 1)).loss;
    assert.ok(Math.abs(unsplit - grouped) < 2e-5, `${unsplit} vs ${grouped}`);
    pipe.dispose();
    model.dispose();
  });

  test('loss approaches the unsplit loss as the rank grows (float32, wasm); full rank is the identity', async () => {
    const model = createModel(cfg, { seed: 5, threads: 1 });
    randomize(model, 2, 0.2);
    const batch = randomBatch(cfg, 4, 9, 3);
    const want = model.loss(batch);
    const errs: number[] = [];
    for (const rank of [2, 8, 16]) {
      const pipe = compressedPipeline(model, splitModel(cfg, 2), compressionFor(model, rank), 'wasm', false);
      errs.push(Math.abs((await pipe.runStep(batch, 2)).loss - want));
      pipe.dispose();
    }
    assert.ok(errs[2] < 1e-5, `full rank: ${errs[2]}`);
    assert.ok(errs[0] > errs[2] && errs[1] > errs[2], errs.join(' '));
    model.dispose();
  });

  test('exact byte counts: every boundary carries M·(forward + backward frame) with width = rank', async () => {
    const model = createModel(cfg, { seed: 5, threads: 1 });
    const rows = 2 * 9, M = 2;
    for (const rank of [3, null]) {
      const specs = splitModel(cfg, 3);
      const pipe = rank === null
        ? InProcessPipeline.fromModel(model, specs, () => ({ threads: 1 }))
        : compressedPipeline(model, specs, compressionFor(model, rank), 'wasm', false);
      const r = await pipe.runStep(randomBatch(cfg, 4, 9, 3), M);
      const width = rank ?? cfg.dim;
      for (const t of r.traffic) {
        assert.equal(t.forwardBytes + t.backwardBytes, boundaryStepBytes(rows, M, width, 4));
        assert.equal(t.forwardBytes, M * forwardFrameBytes(rows, width, 4));
      }
      // payload: rows·width·4 per direction, plus 8 bytes of ids per token and 4+5+32 (+25 / +33) of framing
      assert.equal(boundaryStepBytes(rows, M, width, 4), M * (2 * (4 + 5 + 32) + 25 + 29 + 8 * rows + 2 * rows * width * 4));
      pipe.dispose();
    }
    model.dispose();
  });

  test('two replicas built from the same seed and config compute bit-identical compressed steps', async () => {
    const build = (): InProcessPipeline => {
      const specs = splitModel(cfg, 2);
      const basis = subspaceBasis({ dim: cfg.dim, rank: 6, seed: 1234 });
      const e0 = stageInitValues(cfg, specs[0], 7).subarray(0, cfg.vocabSize * cfg.dim);
      const comp = { basis, eperp: perpEmbedding(e0, basis, cfg.dim) };
      return new InProcessPipeline(specs.map((sp) => new Stage(cfg, sp, stageInitValues(cfg, sp, 7), { threads: 1, compression: comp })));
    };
    const a = build(), b = build();
    const batch = randomBatch(cfg, 2, 8, 6);
    const ra = await a.runStep(batch, 2), rb = await b.runStep(batch, 2);
    assert.equal(ra.loss, rb.loss);
    for (let s = 0; s < 2; s++) assert.deepEqual(a.stages[s].backend.view(a.stages[s].flat.grads), b.stages[s].backend.view(b.stages[s].flat.grads));
    a.dispose();
    b.dispose();
  });

  test('a stage rejects activations of the wrong width', () => {
    const model = createModel(cfg, { seed: 1, backend: 'js' });
    const specs = splitModel(cfg, 2);
    const st = new Stage(cfg, specs[1], stageValuesFromModel(model, specs[1]), { backend: 'js', compression: compressionFor(model, 4) });
    const rows = 3;
    assert.throws(
      () => st.forward({ mb: 0, batchSize: 1, seqLen: rows, inputs: new Int32Array(rows), targets: new Int32Array(rows), acts: new Float32Array(rows * cfg.dim) }),
      (e) => isPipelineError(e, 'Protocol'),
    );
    st.dispose();
  });
});
