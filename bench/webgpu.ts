/**
 * The WebGPU backend on whatever adapter is present (Mesa lavapipe, a CPU rasterizer, on a machine without a GPU):
 * the tiled matmul's GFLOP/s at n×n×n against the wasm kernel on all cores, and a training step (forward, backward,
 * clip, AdamW, all on the device) of a model config in tokens/s against wasm. Medians over the timed repeats.
 * Usage: npm run bench:webgpu -- [--json] [--size 512] [--reps 5] [--config tiny] [--batch 4] [--seq 64] [--steps 3]
 */
import { availableParallelism } from 'node:os';
import { getModelConfig } from '../src/model/config.ts';
import { createModel, LlamaModel } from '../src/model/llama.ts';
import { InnerTrainer } from '../src/optim/inner-trainer.ts';
import type { Backend } from '../src/tensor/backend.ts';
import { Rng } from '../src/tensor/rng.ts';
import { WasmBackend } from '../src/tensor/wasm-backend.ts';
import { WebGpuBackend } from '../src/tensor/webgpu-backend.ts';
import { requestWebGpuDevice } from '../src/tensor/webgpu-device.ts';
import { arg, flag, median, round } from './args.ts';

const size = Number(arg('size', '512'));
const reps = Number(arg('reps', '5'));
const configName = arg('config', 'tiny');
const batchSize = Number(arg('batch', '4'));
const seqLen = Number(arg('seq', '64'));
const steps = Number(arg('steps', '3'));
const threads = availableParallelism();

/** GFLOP/s of `reps` back-to-back n×n×n matmuls per timing, median of 3 timings after a warm-up. */
async function matmulGflops(be: Backend, done: () => Promise<void>): Promise<number> {
  const n = size;
  const rng = new Rng(1);
  const a = be.alloc(n * n), b = be.alloc(n * n), c = be.alloc(n * n);
  be.view(a).set(Float32Array.from({ length: n * n }, () => rng.normal()));
  be.view(b).set(Float32Array.from({ length: n * n }, () => rng.normal()));
  be.matmul(c, a, b, n, n, n, false, false, false);
  await done();
  const times: number[] = [];
  for (let t = 0; t < 3; t++) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) be.matmul(c, a, b, n, n, n, false, r % 2 === 1, false);
    await done();
    times.push(performance.now() - t0);
  }
  for (const x of [a, b, c]) be.free(x);
  return (2 * n * n * n * reps) / (median(times) * 1e6);
}

function batches(vocab: number): Array<{ tokens: Int32Array; batchSize: number; seqLen: number }> {
  const rng = new Rng(2);
  return Array.from({ length: steps + 1 }, () => ({
    tokens: Int32Array.from({ length: batchSize * (seqLen + 1) }, () => rng.nextU32() % vocab), batchSize, seqLen,
  }));
}

/** Tokens/s of a training step (median over `steps` after one warm-up step). */
async function trainTokensPerSec(model: LlamaModel): Promise<{ tokensPerSec: number; loss: number }> {
  const trainer = new InnerTrainer(model, { schedule: { lr: 1e-3, warmupSteps: 0, cosineSteps: 0 } });
  const bs = batches(model.config.vocabSize);
  await trainer.stepAsync(bs[0]);
  const ms: number[] = [];
  let loss = NaN;
  for (let s = 1; s <= steps; s++) {
    const t0 = performance.now();
    loss = (await trainer.stepAsync(bs[s])).loss;
    ms.push(performance.now() - t0);
  }
  trainer.dispose();
  return { tokensPerSec: (batchSize * seqLen * 1000) / median(ms), loss };
}

const cfg = getModelConfig(configName);
const wasm = new WasmBackend({ threads });
const wasmMatmulGflops = await matmulGflops(wasm, async () => {});
wasm.dispose();
const wasmModel = createModel(cfg, { seed: 0, threads });
const wasmTrain = await trainTokensPerSec(wasmModel);
wasmModel.dispose();

const d = await requestWebGpuDevice();
let result: Record<string, unknown>;
if (!d.ok) {
  result = { adapter: null, error: d.reason, webgpuMatmulGflops: null, webgpuTokensPerSec: null };
} else {
  const gpu = new WebGpuBackend({ device: d.device, adapterName: d.adapterName });
  const webgpuMatmulGflops = await matmulGflops(gpu, () => gpu.sync([]));
  gpu.dispose();
  const d2 = await requestWebGpuDevice();
  if (!d2.ok) throw new Error(d2.reason);
  const model = new LlamaModel(cfg, new WebGpuBackend({ device: d2.device, adapterName: d2.adapterName }), 0);
  const gpuTrain = await trainTokensPerSec(model);
  model.dispose();
  result = {
    adapter: d.adapterName,
    webgpuMatmulGflops: round(webgpuMatmulGflops, 2),
    webgpuTokensPerSec: Math.round(gpuTrain.tokensPerSec),
    webgpuLossLast: round(gpuTrain.loss, 4),
  };
}
const out = {
  ...result,
  matmulSize: size,
  matmulReps: reps,
  wasmMatmulGflops: round(wasmMatmulGflops, 2),
  wasmThreads: threads,
  config: configName,
  batch: batchSize,
  seq: seqLen,
  steps,
  wasmTokensPerSec: Math.round(wasmTrain.tokensPerSec),
  wasmLossLast: round(wasmTrain.loss, 4),
};
if (flag('json')) console.log(JSON.stringify(out));
else for (const [k, v] of Object.entries(out)) console.log(`${k.padEnd(20)} ${v}`);
