/**
 * Runs one wasm kernel at a time on `threads` threads (this one + threads-1 workers) that share one
 * WebAssembly.Memory. Every thread calls the same export with (…args, tid, threads); the kernels partition
 * their work by tid alone, so what each thread computes never depends on timing. The control block and the
 * worker's loop are in kernel-worker.ts; the platform (platform.ts, or platform.browser.ts in a bundle) starts
 * the workers.
 * Where workers only start once their creator yields (browsers), `run` does every tid's share on this thread until
 * all of them have reported in: the same results, one thread. `whenStarted()` yields until they have.
 */
import { TensorError } from './errors.ts';
import { CTRL_BYTES, CTRL_STARTED, MAX_ARGS } from './kernel-worker.ts';
import type { KernelWorker } from './kernel-worker.ts';
import { platform } from './platform.ts';
import { WA } from './wasm-api.ts';
import type { WasmInstance, WasmMemory, WasmModule } from './wasm-api.ts';

const SPIN = 20000;

type KernelFn = (...args: number[]) => void;

export class ThreadPool {
  private readonly workers: KernelWorker[] = [];
  private readonly ctrlI: Int32Array;
  private readonly ctrlA: Float64Array;
  private readonly fns: KernelFn[];
  private readonly index = new Map<string, number>();
  private started: boolean;
  private failure: string | null = null;
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
    const ctrl = new SharedArrayBuffer(CTRL_BYTES);
    this.ctrlI = new Int32Array(ctrl, 0, 16);
    this.ctrlA = new Float64Array(ctrl, 64, MAX_ARGS);
    this.started = threads === 1 || platform.workersStartWhileBlocked;
    try {
      for (let tid = 1; tid < threads; tid++) {
        const init = { module, memory, ctrl, tid, threads, names, spin: SPIN };
        this.workers.push(platform.startKernelWorker(init, (reason) => (this.failure ??= reason)));
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** Whether the workers compute (else `run` does all of it on this thread). */
  get workersStarted(): boolean {
    if (!this.started && Atomics.load(this.ctrlI, CTRL_STARTED) === this.threads - 1) this.started = true;
    return this.started;
  }

  /** Resolves once every worker has reported in, yielding to the event loop meanwhile (a browser starts them then). */
  async whenStarted(timeoutMs = 30_000): Promise<void> {
    const t0 = performance.now();
    while (!this.workersStarted) {
      if (this.failure !== null) throw new TensorError('ThreadsUnavailable', `a kernel worker failed: ${this.failure}`);
      if (this.disposed) throw new TensorError('Disposed', 'thread pool was disposed');
      if (performance.now() - t0 > timeoutMs) {
        const n = Atomics.load(this.ctrlI, CTRL_STARTED);
        throw new TensorError('ThreadsUnavailable', `${n} of ${this.threads - 1} kernel workers started within ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 2));
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
    if (!this.workersStarted) {
      try {
        for (let tid = 0; tid < nt; tid++) this.fns[f](...args, tid, nt);
      } catch (e) {
        throw new TensorError('KernelFailed', `kernel ${name} trapped: ${String(e)}`);
      }
      return;
    }
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
      for (const w of this.workers) w.terminate();
    }
  }
}
