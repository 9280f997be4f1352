/**
 * Float32 backend on the simd128 kernels of assembly/kernels.ts (built into kernels/kernels.wasm by
 * `npm run build:wasm`), one shared WebAssembly.Memory, spread over `threads` threads.
 * All storage lives in that memory; `view()` returns Float32Arrays over it (backed by a SharedArrayBuffer).
 * Runs in Node and, bundled (src/browser/bundle.ts), in a browser Web Worker: platform.ts is the seam.
 */
import type { AdamWArgs, AttentionGeom, Backend, Buf, ChunkGeom, FloatArray, IntBuf, SparseKernels } from './backend.ts';
import { TensorError } from './errors.ts';
import { Heap } from './heap.ts';
import { platform } from './platform.ts';
import { ThreadPool } from './thread-pool.ts';
import { WA } from './wasm-api.ts';
import type { WasmMemory, WasmModule } from './wasm-api.ts';

const PAGE = 65536;
const ALIGN = 64;
const HEAP_BASE = 65536; // the kernels keep no data in memory; page 0 stays unused so 0 is never a valid pointer
const SUM_CHUNK = 16384;

let cachedModule: WasmModule | null = null;

export function kernelModule(): WasmModule {
  if (cachedModule === null) {
    cachedModule = new WA.Module(platform.kernelBytes());
  }
  return cachedModule;
}

class WasmBuf implements Buf, IntBuf {
  private f32: Float32Array | null = null;
  private i32: Int32Array | null = null;
  freed = false;
  constructor(
    readonly ptr: number,
    readonly length: number,
    /** allocated bytes; 0 for a view */
    readonly bytes: number,
    readonly owner: WasmBackend,
  ) {}
  floats(mem: WasmMemory): Float32Array {
    if (this.f32 === null) this.f32 = new Float32Array(mem.buffer, this.ptr, this.length);
    return this.f32;
  }
  ints(mem: WasmMemory): Int32Array {
    if (this.i32 === null) this.i32 = new Int32Array(mem.buffer, this.ptr, this.length);
    return this.i32;
  }
}

export interface WasmBackendOptions {
  /**
   * Threads to compute on (default: os.availableParallelism() in Node, navigator.hardwareConcurrency in a
   * browser). Results do not depend on it.
   */
  threads?: number;
  /** Upper bound of the linear memory in MiB (default 4096, the wasm32 limit). */
  maxMemoryMB?: number;
}

export class WasmBackend implements Backend, SparseKernels {
  readonly name = 'wasm-simd';
  readonly dtype = 'float32' as const;
  readonly threads: number;
  private readonly memory: WasmMemory;
  private readonly pool: ThreadPool;
  private readonly maxPages: number;
  private readonly heap = new Heap(HEAP_BASE, (end) => this.ensureMemory(end));
  private scratch: WasmBuf | null = null;
  private scratchStride = 0;
  private partials: WasmBuf | null = null;
  private readonly matmulScratch: number;
  private readonly attnScratchFn: (t: number, hd: number) => number;
  private readonly efTopKScratchFn: (maxLen: number) => number;
  private readonly sparseApplyScratchFn: (maxLen: number) => number;
  /** Every SharedArrayBuffer the memory has exposed (a new one after each grow); views over them are ours. */
  private readonly exposed = new WeakSet<SharedArrayBuffer>();
  private status: WasmBuf | null = null;
  private disposed = false;
  /** bytes currently allocated (not counting freed blocks kept for reuse) */
  liveBytes = 0;

  constructor(opts: WasmBackendOptions = {}) {
    const noShared = platform.sharedMemoryProblem();
    if (noShared !== null) throw new TensorError('NoSharedMemory', noShared);
    const threads = opts.threads ?? platform.defaultThreads();
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
      throw new TensorError('InvalidArgument', `threads must be an integer in [1, 256], got ${threads}`);
    }
    this.threads = threads;
    const maxMB = opts.maxMemoryMB ?? 4096;
    this.maxPages = Math.min(65536, Math.max(2, Math.floor((maxMB * 1024 * 1024) / PAGE)));
    const module = kernelModule();
    this.memory = new WA.Memory({ initial: 16, maximum: this.maxPages, shared: true });
    const instance = new WA.Instance(module, { env: { memory: this.memory } });
    const ex = instance.exports;
    this.matmulScratch = (ex.matmulScratchBytes as () => number)();
    this.attnScratchFn = ex.attentionScratchBytes as (t: number, hd: number) => number;
    this.efTopKScratchFn = ex.efTopKScratchBytes as (maxLen: number) => number;
    this.sparseApplyScratchFn = ex.sparseApplyScratchBytes as (maxLen: number) => number;
    this.exposed.add(this.memory.buffer);
    this.pool = new ThreadPool(module, this.memory, instance, threads);
  }

  /**
   * Whether the worker threads compute yet. Always in Node; in a browser only once they have started, which needs
   * the creating thread to yield (`createWasmBackend` waits for it) — until then every kernel runs all `threads`
   * shares on the calling thread, with the same results.
   */
  get threadsStarted(): boolean {
    return this.pool.workersStarted;
  }

  /** Resolves once the worker threads compute; TensorError('ThreadsUnavailable') if they cannot start. */
  whenThreadsStarted(timeoutMs?: number): Promise<void> {
    return this.pool.whenStarted(timeoutMs);
  }

  // ------------------------------------------------------------ memory

  private allocBytes(bytes: number): [number, number] {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    const r = this.heap.alloc(size);
    this.liveBytes += r[1];
    return r;
  }

  private ensureMemory(end: number): void {
    if (end <= this.memory.buffer.byteLength) return;
    const needPages = Math.ceil(end / PAGE);
    if (needPages > this.maxPages) {
      throw new TensorError('OutOfMemory', `wasm backend needs ${Math.ceil(end / 2 ** 20)} MiB, limit is ${this.maxPages / 16} MiB`);
    }
    const cur = this.memory.buffer.byteLength / PAGE;
    // grow geometrically to limit the number of grow calls
    const target = Math.min(this.maxPages, Math.max(needPages, Math.ceil(cur * 1.25)));
    this.memory.grow(target - cur);
    this.exposed.add(this.memory.buffer);
  }

  private make(n: number, bytesPer: number): WasmBuf {
    if (this.disposed) throw new TensorError('Disposed', 'backend was disposed');
    if (!Number.isSafeInteger(n) || n < 0) throw new TensorError('InvalidArgument', `bad allocation size ${n}`);
    const [ptr, size] = this.allocBytes(n * bytesPer);
    return new WasmBuf(ptr, n, size, this);
  }

  alloc(n: number): Buf {
    const b = this.make(n, 4);
    b.floats(this.memory).fill(0);
    return b;
  }
  allocUninit(n: number): Buf {
    return this.make(n, 4);
  }
  allocInt(n: number): IntBuf {
    const b = this.make(n, 4);
    b.ints(this.memory).fill(0);
    return b;
  }
  free(buf: Buf | IntBuf): void {
    const b = this.own(buf);
    if (b.bytes === 0 || b.freed) return;
    b.freed = true;
    this.liveBytes -= b.bytes;
    this.heap.free(b.ptr, b.bytes);
  }
  sub(buf: Buf, offset: number, length: number): Buf {
    const b = this.own(buf);
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > b.length) {
      throw new TensorError('InvalidArgument', 'sub-view out of range');
    }
    return new WasmBuf(b.ptr + offset * 4, length, 0, this);
  }
  view(buf: Buf): FloatArray {
    return this.own(buf).floats(this.memory);
  }
  intView(buf: IntBuf): Int32Array {
    return this.own(buf).ints(this.memory);
  }
  /** Bytes of linear memory reserved so far. */
  memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool.dispose();
  }

  private own(b: Buf | IntBuf): WasmBuf {
    if (!(b instanceof WasmBuf) || b.owner !== this) throw new TensorError('BackendMismatch', 'buffer does not belong to this wasm backend');
    if (b.freed) throw new TensorError('Disposed', 'buffer was freed');
    return b;
  }

  private p(b: Buf | IntBuf, atLeast: number): number {
    const w = this.own(b);
    if (w.length < atLeast) throw new TensorError('ShapeMismatch', `buffer of ${w.length} elements, kernel needs ${atLeast}`);
    return w.ptr;
  }

  private ensureScratch(perThread: number): void {
    const stride = Math.ceil(perThread / ALIGN) * ALIGN;
    if (this.scratch !== null && this.scratchStride >= stride) return;
    if (this.scratch !== null) this.free(this.scratch);
    this.scratch = this.make(Math.ceil((stride * this.threads) / 4), 4);
    this.scratchStride = stride;
  }

  /** Per-kernel call counts and milliseconds, when profiling was switched on. */
  profile: Map<string, { calls: number; ms: number }> | null = null;

  private run(name: string, args: number[]): void {
    if (this.disposed) throw new TensorError('Disposed', 'backend was disposed');
    if (this.profile === null) {
      this.pool.run(name, args);
      return;
    }
    const t0 = performance.now();
    this.pool.run(name, args);
    const key = name === 'matmul' ? `matmul ${args[3]}x${args[4]}x${args[5]} ${args[6] === 1 ? 'T' : 'N'}${args[9] === 1 ? 'N' : 'T'}` : name;
    const e = this.profile.get(key) ?? { calls: 0, ms: 0 };
    e.calls++;
    e.ms += performance.now() - t0;
    this.profile.set(key, e);
  }

  // ------------------------------------------------------------ kernels

  fill(dst: Buf, value: number): void {
    const n = dst.length;
    this.run('fill', [this.p(dst, n), n, value]);
  }
  copy(dst: Buf, src: Buf): void {
    const n = dst.length;
    this.run('copy', [this.p(dst, n), this.p(src, n), n]);
  }
  add(out: Buf, a: Buf, b: Buf): void {
    const n = out.length;
    this.run('add', [this.p(out, n), this.p(a, n), this.p(b, n), n]);
  }
  mul(out: Buf, a: Buf, b: Buf): void {
    const n = out.length;
    this.run('mul', [this.p(out, n), this.p(a, n), this.p(b, n), n]);
  }
  scale(out: Buf, a: Buf, s: number): void {
    const n = out.length;
    this.run('scale', [this.p(out, n), this.p(a, n), n, s]);
  }
  axpy(dst: Buf, src: Buf, s: number): void {
    const n = dst.length;
    this.run('axpy', [this.p(dst, n), this.p(src, n), n, s]);
  }
  sum(x: Buf, squares: boolean): number {
    const n = x.length;
    const chunks = Math.ceil(n / SUM_CHUNK);
    if (chunks === 0) return 0;
    if (this.partials === null || this.partials.length < chunks * 2) {
      if (this.partials !== null) this.free(this.partials);
      this.partials = this.make(chunks * 2, 4);
    }
    this.run('sumPartials', [this.partials.ptr, this.p(x, n), n, SUM_CHUNK, squares ? 1 : 0]);
    const parts = new Float64Array(this.memory.buffer, this.partials.ptr, chunks);
    let s = 0;
    for (let i = 0; i < chunks; i++) s += parts[i];
    return s;
  }

  matmul(c: Buf, a: Buf, b: Buf, m: number, n: number, k: number, transA: boolean, transB: boolean, acc: boolean): void {
    this.ensureScratch(this.matmulScratch);
    const sAi = transA ? 1 : k, sAk = transA ? m : 1;
    const sBk = transB ? 1 : n, sBj = transB ? k : 1;
    this.run('matmul', [
      this.p(c, m * n), this.p(a, m * k), this.p(b, k * n), m, n, k, sAi, sAk, sBk, sBj, acc ? 1 : 0,
      this.scratch!.ptr, this.scratchStride,
    ]);
  }
  transpose2d(out: Buf, a: Buf, rows: number, cols: number): void {
    this.run('transpose2d', [this.p(out, rows * cols), this.p(a, rows * cols), rows, cols]);
  }

  silu(y: Buf, x: Buf): void {
    const n = y.length;
    this.run('siluFwd', [this.p(y, n), this.p(x, n), n]);
  }
  siluBackward(dx: Buf, x: Buf, dy: Buf, acc: boolean): void {
    const n = dx.length;
    this.run('siluBwd', [this.p(dx, n), this.p(x, n), this.p(dy, n), n, acc ? 1 : 0]);
  }
  softmax(y: Buf, x: Buf, rows: number, n: number): void {
    this.run('softmaxFwd', [this.p(y, rows * n), this.p(x, rows * n), rows, n]);
  }
  softmaxBackward(dx: Buf, y: Buf, dy: Buf, rows: number, n: number, acc: boolean): void {
    this.run('softmaxBwd', [this.p(dx, rows * n), this.p(y, rows * n), this.p(dy, rows * n), rows, n, acc ? 1 : 0]);
  }

  embedding(out: Buf, w: Buf, tokens: IntBuf, n: number, dim: number): void {
    this.run('embeddingFwd', [this.p(out, n * dim), this.p(w, dim), this.p(tokens, n), n, dim]);
  }
  embeddingBackward(dw: Buf, dOut: Buf, tokens: IntBuf, n: number, dim: number): void {
    this.run('embeddingBwd', [this.p(dw, dim), this.p(dOut, n * dim), this.p(tokens, n), n, dim]);
  }

  rmsnorm(y: Buf, rstd: Buf, x: Buf, w: Buf, rows: number, dim: number, eps: number): void {
    this.run('rmsnormFwd', [this.p(y, rows * dim), this.p(rstd, rows), this.p(x, rows * dim), this.p(w, dim), rows, dim, eps]);
  }
  rmsnormBackwardX(dx: Buf, x: Buf, w: Buf, rstd: Buf, dy: Buf, rows: number, dim: number, acc: boolean): void {
    this.run('rmsnormBwdX', [
      this.p(dx, rows * dim), this.p(x, rows * dim), this.p(w, dim), this.p(rstd, rows), this.p(dy, rows * dim), rows, dim, acc ? 1 : 0,
    ]);
  }
  rmsnormBackwardW(dw: Buf, x: Buf, rstd: Buf, dy: Buf, rows: number, dim: number, acc: boolean): void {
    this.run('rmsnormBwdW', [this.p(dw, dim), this.p(x, rows * dim), this.p(rstd, rows), this.p(dy, rows * dim), rows, dim, acc ? 1 : 0]);
  }

  rope(out: Buf, x: Buf, cos: Buf, sin: Buf, rows: number, seqLen: number, nHeads: number, nKvHeads: number, headDim: number, inverse: boolean): void {
    const width = (nHeads + 2 * nKvHeads) * headDim;
    const half = headDim / 2;
    this.run('rope', [
      this.p(out, rows * width), this.p(x, rows * width), this.p(cos, seqLen * half), this.p(sin, seqLen * half),
      rows, seqLen, nHeads, nKvHeads, headDim, inverse ? 1 : 0,
    ]);
  }

  swiglu(h: Buf, gu: Buf, rows: number, f: number): void {
    this.run('swigluFwd', [this.p(h, rows * f), this.p(gu, rows * 2 * f), rows, f]);
  }
  swigluBackward(dgu: Buf, gu: Buf, dh: Buf, rows: number, f: number, acc: boolean): void {
    this.run('swigluBwd', [this.p(dgu, rows * 2 * f), this.p(gu, rows * 2 * f), this.p(dh, rows * f), rows, f, acc ? 1 : 0]);
  }

  attention(out: Buf, lse: Buf, qkv: Buf, g: AttentionGeom): void {
    const rows = g.batch * g.seqLen;
    const width = (g.nHeads + 2 * g.nKvHeads) * g.headDim;
    this.ensureScratch(Math.max(this.matmulScratch, this.attnScratchFn(g.seqLen, g.headDim)));
    this.run('attentionFwd', [
      this.p(out, rows * g.nHeads * g.headDim), this.p(lse, g.batch * g.nHeads * g.seqLen), this.p(qkv, rows * width),
      g.batch, g.seqLen, g.nHeads, g.nKvHeads, g.headDim, g.scale, this.scratch!.ptr, this.scratchStride,
    ]);
  }
  attentionBackward(dqkv: Buf, qkv: Buf, out: Buf, dOut: Buf, lse: Buf, g: AttentionGeom): void {
    const rows = g.batch * g.seqLen;
    const width = (g.nHeads + 2 * g.nKvHeads) * g.headDim;
    const ow = g.nHeads * g.headDim;
    this.ensureScratch(Math.max(this.matmulScratch, this.attnScratchFn(g.seqLen, g.headDim)));
    this.run('attentionBwd', [
      this.p(dqkv, rows * width), this.p(qkv, rows * width), this.p(out, rows * ow), this.p(dOut, rows * ow),
      this.p(lse, g.batch * g.nHeads * g.seqLen), g.batch, g.seqLen, g.nHeads, g.nKvHeads, g.headDim, g.scale,
      this.scratch!.ptr, this.scratchStride,
    ]);
  }

  crossEntropy(loss: Buf, lse: Buf, logits: Buf, targets: IntBuf, rows: number, vocab: number): void {
    this.run('crossEntropyFwd', [this.p(loss, rows), this.p(lse, rows), this.p(logits, rows * vocab), this.p(targets, rows), rows, vocab]);
  }
  crossEntropyBackward(dx: Buf, logits: Buf, lse: Buf, targets: IntBuf, rows: number, vocab: number, s: number): void {
    this.run('crossEntropyBwd', [
      this.p(dx, rows * vocab), this.p(logits, rows * vocab), this.p(lse, rows), this.p(targets, rows), rows, vocab, s,
    ]);
  }

  countNonFinite(x: Buf): number {
    const st = this.statusBuf();
    this.run('countNonFinite', [st.ptr, this.p(x, 0), x.length]);
    const counts = st.ints(this.memory);
    let n = 0;
    for (let t = 0; t < this.threads; t++) n += counts[t];
    return n;
  }
  efTopK(e: Buf, delta: Buf | null, beta: number, g: ChunkGeom, outIdx: IntBuf, outVals: Buf): number {
    const { rows, cols, chunkRows, chunkCols, k } = g;
    const len = chunkRows * chunkCols;
    if (rows % chunkRows !== 0 || cols % chunkCols !== 0 || !(k >= 1 && k <= len) || len > 65536) {
      throw new TensorError('InvalidArgument', `chunks of ${chunkRows}x${chunkCols} (k ${k}) do not tile [${rows}, ${cols}]`);
    }
    const n = rows * cols;
    const kept = (n / len) * k;
    this.ensureScratch(this.efTopKScratchFn(len));
    const st = this.statusBuf();
    this.run('efTopK', [
      this.p(e, n), delta === null ? 0 : this.p(delta, n), Math.fround(beta), rows, cols, chunkRows, chunkCols, k,
      this.p(outIdx, Math.ceil(kept / 2)), this.p(outVals, kept), st.ptr, this.scratch!.ptr, this.scratchStride,
    ]);
    const bad = st.ints(this.memory);
    let first = -1;
    for (let t = 0; t < this.threads; t++) if (bad[t] >= 0 && (first < 0 || bad[t] < first)) first = bad[t];
    return first;
  }
  sparseApply(
    theta: Buf, g: ChunkGeom, peers: number, idx: IntBuf, codes: IntBuf, tables: Buf, bins: number, lr: number,
    selectedMean: boolean, apply: boolean,
  ): number {
    const { rows, cols, chunkRows, chunkCols, k } = g;
    const len = chunkRows * chunkCols;
    if (rows % chunkRows !== 0 || cols % chunkCols !== 0 || !(k >= 1 && k <= len) || len > 65536 || !(peers >= 1)) {
      throw new TensorError('InvalidArgument', `sparseApply: chunks of ${chunkRows}x${chunkCols} (k ${k}) over [${rows}, ${cols}], ${peers} peers`);
    }
    const n = rows * cols;
    const kept = (n / len) * k;
    this.ensureScratch(this.sparseApplyScratchFn(len));
    const st = this.statusBuf();
    this.run('sparseApply', [
      this.p(theta, n), rows, cols, chunkRows, chunkCols, k, peers, this.p(idx, Math.ceil((peers * kept) / 2)),
      this.p(codes, Math.ceil((peers * kept) / 4)), this.p(tables, peers * bins), bins, Math.fround(lr), selectedMean ? 1 : 0,
      apply ? 1 : 0, st.ptr, this.scratch!.ptr, this.scratchStride,
    ]);
    const counts = st.ints(this.memory);
    let bad = 0;
    for (let t = 0; t < this.threads; t++) bad += counts[t];
    return bad;
  }
  bufOf(view: Float32Array): Buf | null {
    if (this.disposed || !(view.buffer instanceof SharedArrayBuffer) || !this.exposed.has(view.buffer)) return null;
    return new WasmBuf(view.byteOffset, view.length, 0, this);
  }
  private statusBuf(): WasmBuf {
    if (this.status === null) this.status = this.make(this.threads, 4);
    return this.status;
  }
  adamw(p: Buf, g: Buf, m: Buf, v: Buf, a: AdamWArgs): void {
    const n = p.length;
    const stepSize = a.lr / (1 - a.beta1 ** a.step);
    const bc2 = Math.sqrt(1 - a.beta2 ** a.step);
    this.run('adamw', [
      this.p(p, n), this.p(g, n), this.p(m, n), this.p(v, n), n, a.gradScale, 1 - a.lr * a.weightDecay,
      a.beta1, a.beta2, 1 - a.beta1, 1 - a.beta2, a.eps, stepSize, bc2,
    ]);
  }
}

/**
 * A wasm backend whose worker threads are running: the way to get a threaded backend in a browser Web Worker
 * (`new LlamaModel(config, await createWasmBackend({ threads }), seed)`), and equivalent to `new WasmBackend` in Node.
 * In a browser the page must be cross-origin isolated and the caller a Web Worker (the pool waits with Atomics.wait).
 */
export async function createWasmBackend(opts: WasmBackendOptions & { startTimeoutMs?: number } = {}): Promise<WasmBackend> {
  const backend = new WasmBackend(opts);
  try {
    await backend.whenThreadsStarted(opts.startTimeoutMs);
  } catch (e) {
    backend.dispose();
    throw e;
  }
  return backend;
}
