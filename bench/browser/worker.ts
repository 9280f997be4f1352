/**
 * The bench's Web Worker (bundled by bundle.ts, driven by the page in page.ts): trains a model on the wasm backend
 * with threads, or measures WebGPU on whatever adapter navigator.gpu gives, and posts the numbers back.
 */
import { getModelConfig } from '../../src/model/config.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import { createWasmBackend, WasmBackend } from '../../src/tensor/wasm-backend.ts';
import { measureTraining, measureWebGpu, paramHash } from '../train-measure.ts';
import type { WorkerReply, WorkerTask } from './protocol.ts';

interface WorkerScope {
  onmessage: ((e: { data: WorkerTask }) => void) | null;
  postMessage(reply: WorkerReply): void;
  navigator: { hardwareConcurrency: number; userAgent: string };
  crossOriginIsolated: boolean;
}
const scope = globalThis as unknown as WorkerScope;

async function wasmTrain(t: Extract<WorkerTask, { kind: 'wasm-train' }>): Promise<WorkerReply> {
  const backend = t.waitForThreads === false ? new WasmBackend({ threads: t.threads }) : await createWasmBackend({ threads: t.threads });
  const startedBefore = backend.threadsStarted;
  const model = new LlamaModel(getModelConfig(t.config), backend, t.seed);
  try {
    const m = await measureTraining(model, t.shape);
    return {
      kind: 'wasm-train', threads: backend.threads, threadsStartedBefore: startedBefore, threadsStartedAfter: backend.threadsStarted, ...m,
      paramHash: await paramHash(model),
    };
  } finally {
    model.dispose();
  }
}

async function webgpu(t: Extract<WorkerTask, { kind: 'webgpu' }>): Promise<WorkerReply> {
  return { kind: 'webgpu', ...(await measureWebGpu(t.config, t.seed, t.shape, t.matmulSize, t.matmulReps)) };
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return `${err.name}${typeof code === 'string' ? `(${code})` : ''}: ${err.message}`;
}

scope.onmessage = (e) => {
  const t = e.data;
  const run = t.kind === 'info'
    ? Promise.resolve<WorkerReply>({
      kind: 'info', hardwareConcurrency: scope.navigator.hardwareConcurrency, crossOriginIsolated: scope.crossOriginIsolated,
      userAgent: scope.navigator.userAgent,
    })
    : t.kind === 'wasm-train' ? wasmTrain(t) : webgpu(t);
  run.then(
    (r) => scope.postMessage(r),
    (err: unknown) => scope.postMessage({ kind: 'error', message: describe(err) }),
  );
};
