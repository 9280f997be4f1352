/**
 * Runs one wasm kernel at a time on `threads` threads (this one + threads-1 workers) that share one
 * WebAssembly.Memory. Every thread calls the same export with (…args, tid, threads); the kernels partition
 * their work by tid alone, so what each thread computes never depends on timing.
 * Control block: Int32 [0] job generation, [1] export index (-1 = exit), [2] finished workers, [3] error flag,
 * [4] argument count; then Float64 arguments.
 */
import { Worker } from 'node:worker_threads';
import { TensorError } from './errors.ts';
import { WA } from './wasm-api.ts';
import type { WasmInstance, WasmMemory, WasmModule } from './wasm-api.ts';

const MAX_ARGS = 32;
const SPIN = 20000;

const workerSource = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctrl, tid, threads, names, spin } = workerData;
const instance = new WebAssembly.Instance(module, { env: { memory } });
const fns = names.map((n) => instance.exports[n]);
const I = new Int32Array(ctrl, 0, 16);
const A = new Float64Array(ctrl, 64, ${MAX_ARGS});
let gen = 0;
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
`;

type KernelFn = (...args: number[]) => void;

export class ThreadPool {
  private readonly workers: Worker[] = [];
  private readonly ctrlI: Int32Array;
  private readonly ctrlA: Float64Array;
  private readonly fns: KernelFn[];
  private readonly index = new Map<string, number>();
  private disposed = false;

  constructor(
    module: WasmModule,
    memory: WasmMemory,
    instance: WasmInstance,
    readonly threads: number,
  ) {
    const names = WA.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name);
    this.fns = names.map((n) => instance.exports[n] as KernelFn);
    names.forEach((n, i) => this.index.set(n, i));
    const ctrl = new SharedArrayBuffer(64 + MAX_ARGS * 8);
    this.ctrlI = new Int32Array(ctrl, 0, 16);
    this.ctrlA = new Float64Array(ctrl, 64, MAX_ARGS);
    for (let tid = 1; tid < threads; tid++) {
      const w = new Worker(workerSource, {
        eval: true,
        workerData: { module, memory, ctrl, tid, threads, names, spin: SPIN },
      });
      w.unref();
      this.workers.push(w);
    }
  }

  /** Calls export `name` on every thread with args + (tid, threads); returns when all are done. */
  run(name: string, args: readonly number[]): void {
    if (this.disposed) throw new TensorError('Disposed', 'thread pool was disposed');
    const f = this.index.get(name);
    if (f === undefined) throw new TensorError('KernelFailed', `no kernel named ${name}`);
    const nt = this.threads;
    if (nt === 1) {
      this.fns[f](...args, 0, 1);
      return;
    }
    if (args.length > MAX_ARGS) throw new TensorError('KernelFailed', `too many kernel arguments for ${name}`);
    const I = this.ctrlI;
    for (let i = 0; i < args.length; i++) this.ctrlA[i] = args[i];
    I[4] = args.length;
    I[1] = f;
    Atomics.store(I, 3, 0);
    Atomics.store(I, 2, 0);
    Atomics.add(I, 0, 1);
    Atomics.notify(I, 0);
    let mainError: unknown = null;
    try {
      this.fns[f](...args, 0, nt);
    } catch (e) {
      mainError = e;
    }
    let spins = 0;
    for (;;) {
      const done = Atomics.load(I, 2);
      if (done >= nt - 1) break;
      if (++spins > SPIN) Atomics.wait(I, 2, done);
    }
    if (mainError !== null || Atomics.load(I, 3) !== 0) {
      throw new TensorError('KernelFailed', `kernel ${name} trapped: ${String(mainError ?? 'in a worker')}`);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.workers.length > 0) {
      Atomics.store(this.ctrlI, 1, -1);
      Atomics.add(this.ctrlI, 0, 1);
      Atomics.notify(this.ctrlI, 0);
      for (const w of this.workers) void w.terminate();
    }
  }
}
