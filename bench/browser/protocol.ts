/** Messages between the bench page (driven by Playwright) and its worker. */
import type { TrainMeasurement, TrainShape } from '../train-measure.ts';

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
  | {
    readonly kind: 'webgpu'; readonly adapter: string | null; readonly reason: string | null; readonly matmulGflops: number | null;
    readonly tokensPerSec: number | null; readonly losses: readonly number[];
  }
  | { readonly kind: 'error'; readonly message: string };
