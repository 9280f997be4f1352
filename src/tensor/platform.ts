/**
 * The engine's host seam, Node side: kernel bytes from the file next to this module, os.availableParallelism()
 * threads, node:worker_threads workers. Browser bundles replace this module by platform.browser.ts (same exports;
 * src/browser/bundle.ts swaps any X.ts for an X.browser.ts beside it), so no Node built-in reaches them.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { KERNEL_WORKER_MAIN } from './kernel-worker.ts';
import type { KernelWorker, KernelWorkerInit, TensorPlatform } from './kernel-worker.ts';

const workerSource = `const { workerData } = require('node:worker_threads');\n(${KERNEL_WORKER_MAIN})(workerData);\n`;

export const platform: TensorPlatform = {
  name: 'node',
  kernelBytes: () => readFileSync(new URL('./kernels/kernels.wasm', import.meta.url)),
  sharedMemoryProblem: () => null,
  defaultThreads: () => availableParallelism(),
  workersStartWhileBlocked: true,
  startKernelWorker(init: KernelWorkerInit, onError: (reason: string) => void): KernelWorker {
    const w = new Worker(workerSource, { eval: true, workerData: init });
    w.on('error', (e) => onError(e.message));
    w.unref();
    return { terminate: () => void w.terminate() };
  },
};
