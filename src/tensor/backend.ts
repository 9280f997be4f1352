/**
 * The op set the model needs, as raw kernels over backend-owned storage. A backend (plain JS reference, wasm
 * SIMD, later WebGPU) implements exactly this; autograd (`tensor.ts`, `ops.ts`) is written once on top of it.
 * Every kernel writes its first argument; `acc` = accumulate into it instead of overwriting.
 */

export type DType = 'float32' | 'float64';
export type FloatArray = Float32Array | Float64Array;

/** Opaque float storage owned by a backend (a typed array for JS, a region of linear memory for wasm). */
export interface Buf {
  readonly length: number;
}

/** Opaque int32 storage (token ids, targets). */
export interface IntBuf {
  readonly length: number;
}

/** Causal grouped-query attention over a fused row layout [q heads | k heads | v heads]. */
export interface AttentionGeom {
  readonly batch: number;
  readonly seqLen: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  /** Score scale, normally 1/sqrt(headDim). */
  readonly scale: number;
}

export interface AdamWArgs {
  /** Multiplies the gradient first (the clipping coefficient, 1 when not clipping). */
  readonly gradScale: number;
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** 1-based step count after this update (bias correction). */
  readonly step: number;
}

export interface Backend {
  readonly name: string;
  readonly dtype: DType;
  readonly threads: number;

  /** Zero-filled storage. */
  alloc(n: number): Buf;
  /** Storage whose contents are unspecified (cheaper when the caller overwrites it). */
  allocUninit(n: number): Buf;
  allocInt(n: number): IntBuf;
  /** Frees storage from alloc*; views from `sub` are never freed. */
  free(b: Buf | IntBuf): void;
  /** A view of `length` elements starting at `offset`, sharing storage. */
  sub(b: Buf, offset: number, length: number): Buf;
  /** Live typed-array view of the storage (writes go through). */
  view(b: Buf): FloatArray;
  intView(b: IntBuf): Int32Array;
  /** Releases everything (threads, memory). The backend is unusable afterwards. */
  dispose(): void;

  fill(dst: Buf, value: number): void;
  copy(dst: Buf, src: Buf): void;
  add(out: Buf, a: Buf, b: Buf): void;
  mul(out: Buf, a: Buf, b: Buf): void;
  scale(out: Buf, a: Buf, s: number): void;
  /** dst += src * s */
  axpy(dst: Buf, src: Buf, s: number): void;
  /** Sum of elements (of squares when `squares`), deterministic order, as a float64 number. */
  sum(x: Buf, squares: boolean): number;

  /** c[m,n] (+)= op(a)·op(b); op(a) is [m,k] (stored [k,m] when transA), op(b) is [k,n] (stored [n,k] when transB). */
  matmul(c: Buf, a: Buf, b: Buf, m: number, n: number, k: number, transA: boolean, transB: boolean, acc: boolean): void;
  /** out[cols, rows] = a[rows, cols]^T */
  transpose2d(out: Buf, a: Buf, rows: number, cols: number): void;

  silu(y: Buf, x: Buf): void;
  siluBackward(dx: Buf, x: Buf, dy: Buf, acc: boolean): void;
  softmax(y: Buf, x: Buf, rows: number, n: number): void;
  softmaxBackward(dx: Buf, y: Buf, dy: Buf, rows: number, n: number, acc: boolean): void;

  /** out[t,:] = w[tokens[t],:] (ids already validated). */
  embedding(out: Buf, w: Buf, tokens: IntBuf, n: number, dim: number): void;
  /** dw[tokens[t],:] += dOut[t,:] in token order. */
  embeddingBackward(dw: Buf, dOut: Buf, tokens: IntBuf, n: number, dim: number): void;

  /** y = w * (x * rstd), rstd[r] = 1/sqrt(mean(x[r]^2) + eps). */
  rmsnorm(y: Buf, rstd: Buf, x: Buf, w: Buf, rows: number, dim: number, eps: number): void;
  rmsnormBackwardX(dx: Buf, x: Buf, w: Buf, rstd: Buf, dy: Buf, rows: number, dim: number, acc: boolean): void;
  rmsnormBackwardW(dw: Buf, x: Buf, rstd: Buf, dy: Buf, rows: number, dim: number, acc: boolean): void;

  /** HF rotate_half RoPE on the q and k heads of fused qkv rows (v copied); row r is position r % seqLen. */
  rope(out: Buf, x: Buf, cos: Buf, sin: Buf, rows: number, seqLen: number, nHeads: number, nKvHeads: number, headDim: number, inverse: boolean): void;

  /** gu rows are [gate (f) | up (f)]; h = silu(gate) * up. */
  swiglu(h: Buf, gu: Buf, rows: number, f: number): void;
  swigluBackward(dgu: Buf, gu: Buf, dh: Buf, rows: number, f: number, acc: boolean): void;

  /** out rows (batch*seqLen) of nHeads*headDim; lse [batch, nHeads, seqLen] for the backward. */
  attention(out: Buf, lse: Buf, qkv: Buf, g: AttentionGeom): void;
  /** Writes dqkv (all three parts). */
  attentionBackward(dqkv: Buf, qkv: Buf, out: Buf, dOut: Buf, lse: Buf, g: AttentionGeom): void;

  /** loss[r] = logsumexp(x[r]) - x[r, t[r]], 0 where t[r] < 0 (ignored). */
  crossEntropy(loss: Buf, lse: Buf, logits: Buf, targets: IntBuf, rows: number, vocab: number): void;
  /** dx[r] = (softmax(x[r]) - onehot(t[r])) * s, 0 for ignored rows. dx may be the logits buffer itself. */
  crossEntropyBackward(dx: Buf, logits: Buf, lse: Buf, targets: IntBuf, rows: number, vocab: number, s: number): void;

  /** One torch-semantics AdamW update of p with gradient g and moments m, v (all the same length). */
  adamw(p: Buf, g: Buf, m: Buf, v: Buf, args: AdamWArgs): void;
}

/** A tensor viewed as a [rows, cols] matrix cut into chunkRows × chunkCols chunks, k kept per chunk. */
export interface ChunkGeom {
  readonly rows: number;
  readonly cols: number;
  readonly chunkRows: number;
  readonly chunkCols: number;
  readonly k: number;
}

/**
 * The SparseLoCo encoder's hot loops (error feedback and chunked top-k), for backends that run them faster than
 * the plain-JS reference in optim/sparseloco, with the same results bit for bit.
 */
export interface SparseKernels {
  /** Number of NaN/±Inf elements of x. */
  countNonFinite(x: Buf): number;
  /**
   * When delta is given, e ← fl32(fl32(β·e) + delta) first. Then per chunk (numbered row-major) the k elements of
   * largest |e| (ties: the lower in-chunk number wins) go to outIdx as u16 in-chunk numbers, ascending (outIdx
   * holds numChunks·k u16, two per int), and their values of e to outVals, both at [c·k, (c+1)·k).
   * Returns the lowest chunk holding NaN/Inf (which gets no output), or -1.
   */
  efTopK(e: Buf, delta: Buf | null, beta: number, g: ChunkGeom, outIdx: IntBuf, outVals: Buf): number;
  /**
   * Aggregation and outer step of one tensor from `peers` sparse updates (optim/sparseloco/aggregate.ts): peer r has
   * numChunks·k u16 in-chunk indices at [r·kept, (r+1)·kept) of idx (two per int), as many u8 codes in codes (four
   * per int) and a float32 value table of `bins` entries at [r·bins, (r+1)·bins) of tables. Per selected coordinate
   * the values are summed in float32 in peer order and divided by the count of peers that selected it
   * (selectedMean) or by `peers`, giving g; with `apply`, θ ← fl32(θ − fl32(lr·g)). Returns how many g are NaN/Inf.
   */
  sparseApply(
    theta: Buf, g: ChunkGeom, peers: number, idx: IntBuf, codes: IntBuf, tables: Buf, bins: number, lr: number,
    selectedMean: boolean, apply: boolean,
  ): number;
  /** The storage a Float32Array view of this backend's memory covers (a view, never freed), or null. */
  bufOf(view: Float32Array): Buf | null;
}

export function hasSparseKernels(b: Backend): b is Backend & SparseKernels {
  const k = b as Partial<SparseKernels>;
  return typeof k.efTopK === 'function' && typeof k.countNonFinite === 'function' && typeof k.sparseApply === 'function' && typeof k.bufOf === 'function';
}

/**
 * What a backend whose storage lives on a device (WebGPU) adds: a host view of a buffer the device wrote is only
 * valid after `await sync()`, so scalar results (sums, a loss, a gradient scale) stay on the device until then.
 * ops.ts uses these instead of reading `view(...)[0]` when the backend has them.
 */
export interface DeviceResident {
  /** y[0] = factor · Σ x (Σ x² when squares), computed on the device. */
  sumTo(y: Buf, x: Buf, squares: boolean, factor: number): void;
  /** dst[i] = src[0] · factor (added to dst[i] when acc) for every element. */
  fillFrom(dst: Buf, src: Buf, factor: number, acc: boolean): void;
  /** dst[i] *= src[0] · factor. */
  scaleBy(dst: Buf, src: Buf, factor: number): void;
  /** Copies device-written buffers back into their host views: the given ones, or every live one. */
  sync(bufs?: ReadonlyArray<Buf | IntBuf>): Promise<void>;
}

export function isDeviceResident(b: Backend): b is Backend & DeviceResident {
  const k = b as Partial<DeviceResident>;
  return typeof k.sumTo === 'function' && typeof k.fillFrom === 'function' && typeof k.scaleBy === 'function' && typeof k.sync === 'function';
}
