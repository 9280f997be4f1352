/**
 * Measurements shared by bench:webgpu and bench:browser, free of Node built-ins so the browser bench bundles them
 * into its worker: matmul GFLOP/s of a backend, training-step tokens/s of a model, both on WebGPU.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { getModelConfig } from '../src/model/config.ts';
import { LlamaModel } from '../src/model/llama.ts';
import { InnerTrainer } from '../src/optim/inner-trainer.ts';
import type { Backend } from '../src/tensor/backend.ts';
import { isDeviceResident } from '../src/tensor/backend.ts';
import { Rng } from '../src/tensor/rng.ts';
import { WebGpuBackend } from '../src/tensor/webgpu-backend.ts';
import { requestWebGpuDevice } from '../src/tensor/webgpu-device.ts';
import { median } from './args.ts';

/** GFLOP/s of `reps` back-to-back n×n×n matmuls per timing, median of 3 timings after a warm-up. */
export async function matmulGflops(be: Backend, n: number, reps: number): Promise<number> {
  const done = async (): Promise<void> => {
    if (isDeviceResident(be)) await be.sync([]);
  };
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

export interface TrainShape {
  readonly batch: number;
  readonly seq: number;
  /** Timed steps, after one warm-up step. */
  readonly steps: number;
  /** Seed of the random token batches (default 2). */
  readonly dataSeed?: number;
  /** Train on the first batch every step (a loss that must fall) instead of a fresh one each step. */
  readonly repeatBatch?: boolean;
}

export interface TrainMeasurement {
  /** batch × seq × 1000 / median step ms */
  readonly tokensPerSec: number;
  readonly stepMs: readonly number[];
  /** Loss of every step, the warm-up first. */
  readonly losses: readonly number[];
}

/** Tokens/s of forward + backward + clip(1.0) + AdamW (lr 1e-3) steps, median over the timed ones. */
export async function measureTraining(model: LlamaModel, shape: TrainShape): Promise<TrainMeasurement> {
  const { batch, seq, steps } = shape;
  const rng = new Rng(shape.dataSeed ?? 2);
  const vocab = model.config.vocabSize;
  const batches = Array.from({ length: shape.repeatBatch === true ? 1 : steps + 1 }, () => ({
    tokens: Int32Array.from({ length: batch * (seq + 1) }, () => rng.nextU32() % vocab), batchSize: batch, seqLen: seq,
  }));
  const trainer = new InnerTrainer(model, { schedule: { lr: 1e-3, warmupSteps: 0, cosineSteps: 0 } });
  const losses = [(await trainer.stepAsync(batches[0])).loss];
  const stepMs: number[] = [];
  for (let s = 1; s <= steps; s++) {
    const t0 = performance.now();
    losses.push((await trainer.stepAsync(batches[s % batches.length])).loss);
    stepMs.push(performance.now() - t0);
  }
  trainer.dispose();
  return { tokensPerSec: (batch * seq * 1000) / median(stepMs), stepMs, losses };
}

/** sha256 (hex) of the model's flat float32 parameters: equal hashes = bit-identical parameters. */
export async function paramHash(model: LlamaModel): Promise<string> {
  const be = model.backend;
  if (isDeviceResident(be)) await be.sync([model.flat.params]);
  const v = be.view(model.flat.params).slice();
  return bytesToHex(sha256(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)));
}

export interface WebGpuMeasurement {
  /** The adapter's name, null when there is none. */
  readonly adapter: string | null;
  /** Why there is no adapter or device, else null. */
  readonly reason: string | null;
  readonly matmulGflops: number | null;
  readonly tokensPerSec: number | null;
  readonly losses: readonly number[];
}

/** matmulGflops (n×n×n, `reps`) and measureTraining of `config` on the first WebGPU adapter (navigator.gpu or Dawn). */
export async function measureWebGpu(config: string, seed: number, shape: TrainShape, n: number, reps: number): Promise<WebGpuMeasurement> {
  const d = await requestWebGpuDevice();
  if (!d.ok) return { adapter: null, reason: d.reason, matmulGflops: null, tokensPerSec: null, losses: [] };
  const gpu = new WebGpuBackend({ device: d.device, adapterName: d.adapterName });
  let gflops: number;
  try {
    gflops = await matmulGflops(gpu, n, reps);
  } finally {
    gpu.dispose(); // destroys the device: training gets a fresh one
  }
  const d2 = await requestWebGpuDevice();
  if (!d2.ok) return { adapter: d.adapterName, reason: d2.reason, matmulGflops: gflops, tokensPerSec: null, losses: [] };
  const model = new LlamaModel(getModelConfig(config), new WebGpuBackend({ device: d2.device, adapterName: d2.adapterName }), seed);
  try {
    const m = await measureTraining(model, shape);
    return { adapter: d.adapterName, reason: null, matmulGflops: gflops, tokensPerSec: m.tokensPerSec, losses: m.losses };
  } finally {
    model.dispose();
  }
}
