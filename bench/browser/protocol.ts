/** Messages between the bench page (driven by Playwright) and its worker. */
import type { TrainMeasurement, TrainShape, WebGpuMeasurement } from '../train-measure.ts';

export type WorkerTask =
  | { readonly kind: 'info' }
  | {
    readonly kind: 'wasm-train'; readonly config: string; readonly threads: number; readonly seed: number; readonly shape: TrainShape;
    /** false: build the backend with `new WasmBackend` and train at once, before its workers have started (default true). */
    readonly waitForThreads?: boolean;
  }
  | {
    readonly kind: 'webgpu'; readonly config: string; readonly seed: number; readonly shape: TrainShape;
    readonly matmulSize: number; readonly matmulReps: number;
  };

export type WorkerReply =
  | { readonly kind: 'info'; readonly hardwareConcurrency: number; readonly crossOriginIsolated: boolean; readonly userAgent: string }
  | (TrainMeasurement & { readonly kind: 'wasm-train'; readonly threads: number; readonly threadsStartedBefore: boolean;
    readonly threadsStartedAfter: boolean; readonly paramHash: string })
  | (WebGpuMeasurement & { readonly kind: 'webgpu' })
  | { readonly kind: 'error'; readonly message: string };
