/**
 * The engine's host seam in a browser (bundles put this module in place of platform.ts): the kernel bytes are
 * embedded in the bundle (esbuild's `binary` loader turns the .wasm import into a Uint8Array), threads default to
 * navigator.hardwareConcurrency, and kernel workers are Web Workers started from a Blob URL.
 * Sharing the wasm memory needs SharedArrayBuffer, i.e. a cross-origin isolated page (served with
 * `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`); the thread that
 * drives the pool waits with Atomics.wait, which a Web Worker may do and a page's main thread may not.
 */
import kernelWasm from './kernels/kernels.wasm';
import { KERNEL_WORKER_MAIN } from './kernel-worker.ts';
import type { KernelWorker, KernelWorkerInit, TensorPlatform } from './kernel-worker.ts';

interface WebWorker {
  postMessage(message: unknown): void;
  terminate(): void;
  addEventListener(type: 'error' | 'messageerror', listener: (e: { message?: string }) => void): void;
}
interface BrowserGlobals {
  Worker: new (url: string, options?: { name?: string }) => WebWorker;
  Blob: new (parts: string[], options: { type: string }) => Blob;
  URL: { createObjectURL(blob: Blob): string };
  navigator?: { hardwareConcurrency?: number };
  crossOriginIsolated?: boolean;
}

const g = globalThis as unknown as BrowserGlobals;
const workerSource = `self.onmessage = (e) => {\n  self.onmessage = null;\n  (${KERNEL_WORKER_MAIN})(e.data);\n};\n`;
let workerUrl: string | null = null;

export const platform: TensorPlatform = {
  name: 'browser',
  kernelBytes: () => kernelWasm,
  sharedMemoryProblem: () =>
    g.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function'
      ? null
      : 'the wasm backend needs SharedArrayBuffer: serve the page cross-origin isolated (Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: require-corp)',
  defaultThreads: () => Math.max(1, g.navigator?.hardwareConcurrency ?? 1),
  workersStartWhileBlocked: false,
  startKernelWorker(init: KernelWorkerInit, onError: (reason: string) => void): KernelWorker {
    workerUrl ??= g.URL.createObjectURL(new g.Blob([workerSource], { type: 'text/javascript' }));
    const w = new g.Worker(workerUrl, { name: `tessera-kernels-${init.tid}` });
    w.addEventListener('error', (e) => onError(e.message ?? 'kernel worker failed to start'));
    w.addEventListener('messageerror', () => onError('kernel worker could not receive the shared memory'));
    w.postMessage(init);
    return { terminate: () => w.terminate() };
  },
};
