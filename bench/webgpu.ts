/**
 * The WebGPU backend on whatever adapter is present (Mesa lavapipe, a CPU rasterizer, on a machine without a GPU):
 * the tiled matmul's GFLOP/s at n×n×n against the wasm kernel on all cores, and a training step (forward, backward,
 * clip, AdamW, all on the device) of a model config in tokens/s against wasm. Medians over the timed repeats.
 * Usage: npm run bench:webgpu -- [--json] [--size 512] [--reps 5] [--config tiny] [--batch 4] [--seq 64] [--steps 3]
 */
import { availableParallelism } from 'node:os';
import { getModelConfig } from '../src/model/config.ts';
import { createModel, LlamaModel } from '../src/model/llama.ts';
import { WasmBackend } from '../src/tensor/wasm-backend.ts';
import { WebGpuBackend } from '../src/tensor/webgpu-backend.ts';
import { requestWebGpuDevice } from '../src/tensor/webgpu-device.ts';
import { arg, flag, round } from './args.ts';
import { matmulGflops, measureTraining } from './train-measure.ts';

const size = Number(arg('size', '512'));
const reps = Number(arg('reps', '5'));
const configName = arg('config', 'tiny');
const batchSize = Number(arg('batch', '4'));
const seqLen = Number(arg('seq', '64'));
const steps = Number(arg('steps', '3'));
const threads = availableParallelism();

const shape = { batch: batchSize, seq: seqLen, steps };
const lastLoss = (m: { losses: readonly number[] }): number => m.losses[m.losses.length - 1];

const cfg = getModelConfig(configName);
const wasm = new WasmBackend({ threads });
const wasmMatmulGflops = await matmulGflops(wasm, size, reps);
wasm.dispose();
const wasmModel = createModel(cfg, { seed: 0, threads });
const wasmTrain = await measureTraining(wasmModel, shape);
wasmModel.dispose();

const d = await requestWebGpuDevice();
let result: Record<string, unknown>;
if (!d.ok) {
  result = { adapter: null, error: d.reason, webgpuMatmulGflops: null, webgpuTokensPerSec: null };
} else {
  const gpu = new WebGpuBackend({ device: d.device, adapterName: d.adapterName });
  const webgpuMatmulGflops = await matmulGflops(gpu, size, reps);
  gpu.dispose();
  const d2 = await requestWebGpuDevice();
  if (!d2.ok) throw new Error(d2.reason);
  const model = new LlamaModel(cfg, new WebGpuBackend({ device: d2.device, adapterName: d2.adapterName }), 0);
  const gpuTrain = await measureTraining(model, shape);
  model.dispose();
  result = {
    adapter: d.adapterName,
    webgpuMatmulGflops: round(webgpuMatmulGflops, 2),
    webgpuTokensPerSec: Math.round(gpuTrain.tokensPerSec),
    webgpuLossLast: round(lastLoss(gpuTrain), 4),
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
  wasmLossLast: round(lastLoss(wasmTrain), 4),
};
if (flag('json')) console.log(JSON.stringify(out));
else for (const [k, v] of Object.entries(out)) console.log(`${k.padEnd(20)} ${v}`);
