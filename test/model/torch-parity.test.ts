// One (and two) clipped AdamW training steps of micro LLaMA configs, against values recorded from PyTorch
// by scripts/torch/make_parity_fixture.py (HF LLaMA semantics in plain torch). Needs no torch to run.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ModelConfig } from '../../src/model/config.ts';
import { createModel, LlamaModel } from '../../src/model/llama.ts';
import { InnerTrainer } from '../../src/optim/inner-trainer.ts';
import { WebGpuBackend } from '../../src/tensor/webgpu-backend.ts';
import { requestWebGpuDevice } from '../../src/tensor/webgpu-device.ts';

interface FixtureCase {
  name: string;
  config: ModelConfig;
  batchSize: number;
  seqLen: number;
  tokens: number[];
  targetMask: number[];
  lr: number;
  maxGradNorm: number;
  steps: Array<{ loss: number; gradNorm: number; grads: Record<string, string> }>;
  params: Record<string, string>;
  paramsAfter: Record<string, string>;
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/torch-llama-step.json', import.meta.url), 'utf8')) as { cases: FixtureCase[] };

function f32(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/** max |a - b| / (max |b| over the tensor) */
function relMaxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / Math.max(m, 1e-30);
}

for (const backend of ['wasm', 'js'] as const) {
  describe(`PyTorch parity (${backend} backend)`, () => {
    for (const c of fixture.cases) {
      test(c.name, () => {
        const model = createModel(c.config, { backend, threads: 2 });
        try {
          const params = model.parameters();
          assert.deepEqual(params.map((p) => p.name).sort(), Object.keys(c.params).sort());
          for (const p of params) p.data.set(f32(c.params[p.name]));
          const trainer = new InnerTrainer(model, {
            schedule: { lr: c.lr, warmupSteps: 0, cosineSteps: 0 },
            maxGradNorm: c.maxGradNorm,
          });
          const batch = {
            tokens: Int32Array.from(c.tokens), batchSize: c.batchSize, seqLen: c.seqLen, targetMask: Uint8Array.from(c.targetMask),
          };
          for (const [i, ref] of c.steps.entries()) {
            const r = trainer.step(batch);
            assert.ok(Math.abs(r.loss - ref.loss) <= 2e-6 * Math.abs(ref.loss), `step ${i} loss ${r.loss} vs torch ${ref.loss}`);
            assert.ok(Math.abs(r.gradNorm - ref.gradNorm) <= 1e-5 * ref.gradNorm, `step ${i} grad norm ${r.gradNorm} vs ${ref.gradNorm}`);
            assert.equal(r.lr, c.lr);
            for (const g of model.gradients()) {
              const d = relMaxDiff(g.data, f32(ref.grads[g.name]));
              assert.ok(d < 2e-5, `step ${i} grad ${g.name}: relative max diff ${d}`);
            }
          }
          for (const p of model.parameters()) {
            const ref = f32(c.paramsAfter[p.name]);
            let worst = 0;
            for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(p.data[i] - ref[i]));
            // an Adam step moves each weight by ~lr; agreement to 1e-3 of that
            assert.ok(worst < 1e-3 * c.lr, `param ${p.name} after ${c.steps.length} step(s): max diff ${worst}`);
          }
          trainer.dispose();
        } finally {
          model.dispose();
        }
      });
    }
  });
}

// The same steps on WebGPU (whatever adapter is present; skipped, saying why, without one). The GPU sums in its own
// order and uses its own exp/log, so the tolerances are wider than the CPU backends': loss 1e-5 relative, gradient
// norm 5e-5, gradients 2e-4 of each tensor's largest value, parameters 1e-2 of lr after the steps.
const dev = await requestWebGpuDevice();
if (dev.ok) dev.device.destroy();
describe('PyTorch parity (webgpu backend)', { skip: dev.ok ? false : `no WebGPU adapter: ${dev.reason}` }, () => {
  for (const c of fixture.cases) {
    test(c.name, async () => {
      const d = await requestWebGpuDevice(); // a backend owns (and destroys) its device
      assert.ok(d.ok);
      const model = new LlamaModel(c.config, new WebGpuBackend({ device: d.device, adapterName: d.adapterName }), 0);
      const be = model.backend as WebGpuBackend;
      try {
        for (const p of model.parameters()) p.data.set(f32(c.params[p.name]));
        const trainer = new InnerTrainer(model, { schedule: { lr: c.lr, warmupSteps: 0, cosineSteps: 0 }, maxGradNorm: c.maxGradNorm });
        const batch = {
          tokens: Int32Array.from(c.tokens), batchSize: c.batchSize, seqLen: c.seqLen, targetMask: Uint8Array.from(c.targetMask),
        };
        for (const [i, ref] of c.steps.entries()) {
          const r = await trainer.stepAsync(batch);
          assert.ok(Math.abs(r.loss - ref.loss) <= 1e-5 * Math.abs(ref.loss), `step ${i} loss ${r.loss} vs torch ${ref.loss}`);
          assert.ok(Math.abs(r.gradNorm - ref.gradNorm) <= 5e-5 * ref.gradNorm, `step ${i} grad norm ${r.gradNorm} vs ${ref.gradNorm}`);
          await be.sync([model.flat.grads]);
          for (const g of model.gradients()) {
            const d = relMaxDiff(g.data, f32(ref.grads[g.name]));
            assert.ok(d < 2e-4, `step ${i} grad ${g.name}: relative max diff ${d}`);
          }
        }
        await be.sync([model.flat.params]);
        for (const p of model.parameters()) {
          const ref = f32(c.paramsAfter[p.name]);
          let worst = 0;
          for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(p.data[i] - ref[i]));
          assert.ok(worst < 1e-2 * c.lr, `param ${p.name} after ${c.steps.length} step(s): max diff ${worst}`);
        }
        trainer.dispose();
      } finally {
        model.dispose();
      }
    });
  }
});
