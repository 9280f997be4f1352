/**
 * What a kernel worker thread runs, and what a platform (platform.ts in Node, platform.browser.ts in browser
 * bundles) must provide so that thread-pool.ts can start one. No imports: both platforms share it.
 * Control block (SharedArrayBuffer): Int32 [0] job generation, [1] export index (-1 = exit), [2] finished workers,
 * [3] error flag, [4] argument count, [5] workers started; then Float64 arguments from byte 64.
 */
import type { WasmMemory, WasmModule } from './wasm-api.ts';

export const MAX_ARGS = 32;
export const CTRL_BYTES = 64 + MAX_ARGS * 8;
export const CTRL_STARTED = 5;

/** Everything a worker needs, sent once (structured-cloneable: the module, the shared memory and control block). */
export interface KernelWorkerInit {
  readonly module: WasmModule;
  readonly memory: WasmMemory;
  readonly ctrl: SharedArrayBuffer;
  readonly tid: number;
  readonly threads: number;
  /** Kernel export names, in the index order the control block uses. */
  readonly names: readonly string[];
  /** Polls of the control block before a worker blocks in Atomics.wait. */
  readonly spin: number;
}

export interface KernelWorker {
  terminate(): void;
}

/** The seam between the engine and its host: how to get the kernel bytes, how many threads, how to start one. */
export interface TensorPlatform {
  readonly name: 'node' | 'browser';
  /** The bytes of kernels/kernels.wasm. */
  kernelBytes(): Uint8Array;
  /** Why SharedArrayBuffer (and so shared wasm memory) is unavailable here, or null. */
  sharedMemoryProblem(): string | null;
  /** Threads to compute on when the caller does not say. */
  defaultThreads(): number;
  /**
   * Whether a worker gets going while the thread that created it is blocked. Node's do; a browser starts a Worker
   * only once its creator returns to the event loop, so there the pool must not block on workers that have not
   * reported in (control word CTRL_STARTED).
   */
  readonly workersStartWhileBlocked: boolean;
  /** Starts a thread that runs KERNEL_WORKER_MAIN on `init`; `onError` gets the reason if it dies. */
  startKernelWorker(init: KernelWorkerInit, onError: (reason: string) => void): KernelWorker;
}

/**
 * Source of `function kernelWorkerMain(init)`: instantiates the kernels on the shared memory, reports in, then runs
 * every job the control block announces until told to exit. Never returns before that.
 */
export const KERNEL_WORKER_MAIN = `function kernelWorkerMain(init) {
  const { module, memory, ctrl, tid, threads, names, spin } = init;
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const fns = names.map((n) => instance.exports[n]);
  const I = new Int32Array(ctrl, 0, 16);
  const A = new Float64Array(ctrl, 64, ${MAX_ARGS});
  let gen = 0;
  Atomics.add(I, ${CTRL_STARTED}, 1);
  for (;;) {
    let spins = 0;
    while (Atomics.load(I, 0) === gen) {
      if (++spins > spin) Atomics.wait(I, 0, gen);
    }
    gen = Atomics.load(I, 0);
    const f = I[1];
    if (f < 0) break;
    const n = I[4];
    const args = new Array(n + 2);
    for (let i = 0; i < n; i++) args[i] = A[i];
    args[n] = tid;
    args[n + 1] = threads;
    try {
      fns[f].apply(null, args);
    } catch (e) {
      Atomics.store(I, 3, 1);
    }
    if (Atomics.add(I, 2, 1) === threads - 2) Atomics.notify(I, 2);
  }
}`;
