/**
 * The WebGPU backend on whatever adapter is present (Mesa lavapipe, a CPU rasterizer, on a machine without a GPU):
 * the tiled matmul's GFLOP/s at n×n×n against the wasm kernel on all cores, and a training step (forward, backward,
 * clip, AdamW, all on the device) of a model config in tokens/s against wasm. Medians over the timed repeats.
 * Usage: npm run bench:webgpu -- [--json] [--size 512] [--reps 5] [--config tiny] [--batch 4] [--seq 64] [--steps 3]
 */
import { availableParallelism } from 'node:os';
import { getModelConfig } from '../src/model/config.ts';
import { createModel } from '../src/model/llama.ts';
import { WasmBackend } from '../src/tensor/wasm-backend.ts';
import { arg, flag, round } from './args.ts';
import { matmulGflops, measureTraining, measureWebGpu } from './train-measure.ts';

const size = Number(arg('size', '512'));
const reps = Number(arg('reps', '5'));
const configName = arg('config', 'tiny');
const batchSize = Number(arg('batch', '4'));
const seqLen = Number(arg('seq', '64'));
const steps = Number(arg('steps', '3'));
const threads = availableParallelism();

const shape = { batch: batchSize, seq: seqLen, steps };
const lastLoss = (losses: readonly number[]): number => losses[losses.length - 1];

const wasm = new WasmBackend({ threads });
const wasmMatmulGflops = await matmulGflops(wasm, size, reps);
wasm.dispose();
const wasmModel = createModel(getModelConfig(configName), { seed: 0, threads });
const wasmTrain = await measureTraining(wasmModel, shape);
wasmModel.dispose();

const gpu = await measureWebGpu(configName, 0, shape, size, reps);
const result = gpu.adapter === null || gpu.tokensPerSec === null || gpu.matmulGflops === null
  ? { adapter: gpu.adapter, error: gpu.reason, webgpuMatmulGflops: gpu.matmulGflops, webgpuTokensPerSec: null }
  : {
    adapter: gpu.adapter,
    webgpuMatmulGflops: round(gpu.matmulGflops, 2),
    webgpuTokensPerSec: Math.round(gpu.tokensPerSec),
    webgpuLossLast: round(lastLoss(gpu.losses), 4),
  };
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
  wasmLossLast: round(lastLoss(wasmTrain.losses), 4),
};
if (flag('json')) console.log(JSON.stringify(out));
else for (const [k, v] of Object.entries(out)) console.log(`${k.padEnd(20)} ${v}`);
