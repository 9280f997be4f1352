// The tiny LLaMA on WebGPU against the wasm backend: loss and gradients of one batch, AdamW steps run on the device,
// and the outer step, which every replica applies on the CPU from decoded payloads, leaving WebGPU and CPU replicas
// bit-identical. Skipped, saying why, without a WebGPU adapter (CI runs it on Mesa lavapipe).
// Tolerances (float32 on both sides, different summation orders and exp/log): loss 1e-5 relative, gradients 2e-4 of
// each tensor's largest value, parameters after 3 AdamW steps within lr/10 (Adam normalises each coordinate, so a
// gradient near zero whose rounding differs can move its weight by a fraction of lr either way).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODEL_CONFIGS, paramSpecs } from '../../src/model/config.ts';
import { createModel, LlamaModel } from '../../src/model/llama.ts';
import { InnerTrainer } from '../../src/optim/inner-trainer.ts';
import { applyOuterStep, compress, DEFAULT_SPARSELOCO, type PeerUpdate } from '../../src/optim/sparseloco/index.ts';
import { Rng } from '../../src/tensor/rng.ts';
import type { WasmBackend } from '../../src/tensor/wasm-backend.ts';
import { WebGpuBackend } from '../../src/tensor/webgpu-backend.ts';
import { requestWebGpuDevice } from '../../src/tensor/webgpu-device.ts';
import { bitsEqual, randomParams } from '../optim/sparseloco/helpers.ts';

const cfg = MODEL_CONFIGS.tiny;
const probe = await requestWebGpuDevice();
if (probe.ok) probe.device.destroy();
const skip = probe.ok ? false : `no WebGPU adapter: ${probe.reason}`;

async function gpuModel(seed: number): Promise<{ model: LlamaModel; be: WebGpuBackend }> {
  const d = await requestWebGpuDevice();
  assert.ok(d.ok, d.ok ? '' : d.reason);
  const be = new WebGpuBackend({ device: d.device, adapterName: d.adapterName });
  return { model: new LlamaModel(cfg, be, seed), be };
}

function batch(seed: number) {
  const rng = new Rng(seed);
  const batchSize = 2, seqLen = 32;
  return { tokens: Int32Array.from({ length: batchSize * (seqLen + 1) }, () => rng.nextU32() % cfg.vocabSize), batchSize, seqLen };
}

function relMaxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / Math.max(m, 1e-30);
}

describe('tiny LLaMA on WebGPU vs wasm', { skip }, () => {
  test('loss and every gradient of a batch', async () => {
    const ref = createModel(cfg, { seed: 5, threads: 1 });
    const { model, be } = await gpuModel(5);
    try {
      const b = batch(1);
      const want = ref.lossAndGrad(b);
      assert.throws(() => model.lossAndGrad(b), /use lossAndGradAsync/);
      const got = await model.lossAndGradAsync(b);
      assert.ok(Math.abs(got - want) <= 1e-5 * want, `loss ${got} vs wasm ${want}`);
      assert.throws(() => model.gradients(), /NotSynced|sync/, 'gradients live on the device until synced');
      await be.sync([model.flat.grads]);
      const wantG = ref.gradients();
      model.gradients().forEach((g, i) => {
        const d = relMaxDiff(g.data, wantG[i].data);
        assert.ok(d < 2e-4, `${g.name}: relative max diff ${d}`);
      });
      assert.ok(Math.abs((await model.lossAsync(b)) - ref.loss(b)) <= 1e-5 * want, 'forward-only loss');
      // no atomics, fixed reduction orders: the same batch again gives the same bits on the same device
      const grads = Float32Array.from(be.readView(model.flat.grads));
      assert.equal(await model.lossAndGradAsync(b), got);
      await be.sync([model.flat.grads]);
      assert.ok(bitsEqual(be.readView(model.flat.grads), grads), 'gradients repeat bit for bit');
    } finally {
      ref.dispose();
      model.dispose();
    }
  });

  test('three clipped AdamW steps on the device follow the wasm trainer', async () => {
    const ref = createModel(cfg, { seed: 6, threads: 1 });
    const { model, be } = await gpuModel(6);
    const lr = 1e-3;
    const opts = { schedule: { lr, warmupSteps: 0, cosineSteps: 0 }, maxGradNorm: 0.5 };
    const tRef = new InnerTrainer(ref, opts);
    const tGpu = new InnerTrainer(model, opts);
    try {
      for (let s = 0; s < 3; s++) {
        const b = batch(10 + s);
        const want = tRef.step(b);
        const got = await tGpu.stepAsync(b);
        assert.ok(Math.abs(got.loss - want.loss) <= 1e-5 * want.loss, `step ${s} loss ${got.loss} vs ${want.loss}`);
        assert.ok(Math.abs(got.gradNorm - want.gradNorm) <= 1e-4 * want.gradNorm, `step ${s} grad norm ${got.gradNorm} vs ${want.gradNorm}`);
      }
      await be.sync([model.flat.params]);
      const wantP = ref.parameters();
      model.parameters().forEach((p, i) => {
        let worst = 0;
        for (let j = 0; j < p.data.length; j++) worst = Math.max(worst, Math.abs(p.data[j] - wantP[i].data[j]));
        assert.ok(worst < lr / 10, `${p.name}: max diff ${worst}`);
      });
    } finally {
      tRef.dispose();
      tGpu.dispose();
      ref.dispose();
      model.dispose();
    }
  });

  test('the outer step runs on the CPU from decoded payloads: WebGPU and wasm replicas stay bit-identical', async () => {
    const cpu = createModel(cfg, { seed: 7, threads: 1 });
    const g1 = await gpuModel(8);
    const g2 = await gpuModel(9);
    try {
      // the window's start: every replica holds the same θ (here the CPU replica's, written through host views)
      const theta = cpu.parameters();
      for (const g of [g1, g2]) g.model.parameters().forEach((p, i) => p.data.set(theta[i].data));
      // device work in between (a forward and backward reading θ) leaves the host copy of θ as it was
      await g1.model.lossAndGradAsync(batch(3));
      const specs = paramSpecs(cfg);
      const peers: PeerUpdate[] = [0, 1, 2].map((i) => ({ uid: 10 + i, tensors: compress(randomParams(specs, 40 + i, 1e-3), DEFAULT_SPARSELOCO) }));
      const options = { lr: 0.4, mode: 'selected-mean' as const, clipToMedianNorm: true };
      const want = applyOuterStep(cpu.parameters(), peers, options, cpu.backend as WasmBackend);
      for (const g of [g1, g2]) {
        await g.be.sync([g.model.flat.params]);
        const got = applyOuterStep(g.model.parameters(), [...peers].reverse(), options);
        assert.deepEqual(got, want);
      }
      const after = cpu.parameters();
      for (const g of [g1, g2]) {
        await g.be.sync([g.model.flat.params]);
        g.model.parameters().forEach((p, i) => assert.ok(bitsEqual(p.data, after[i].data), `${p.name} differs from the CPU replica`));
      }
      // the host-written θ is what the device computes with next
      const b = batch(4);
      const lossCpu = cpu.loss(b);
      for (const g of [g1, g2]) {
        const l = await g.model.lossAsync(b);
        assert.ok(Math.abs(l - lossCpu) <= 1e-5 * lossCpu, `loss after the outer step ${l} vs CPU ${lossCpu}`);
      }
    } finally {
      cpu.dispose();
      g1.model.dispose();
      g2.model.dispose();
    }
  });
});
