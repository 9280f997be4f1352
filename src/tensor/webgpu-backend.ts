/// <reference types="@webgpu/types" />
/**
 * WebGPU backend: every kernel of the Backend interface as a WGSL compute shader (src/tensor/wgsl/), float32,
 * storage resident on the device.
 *
 * Host/device coherence. WebGPU has no synchronous readback, while `Backend.view()` promises a live typed array.
 * Each allocation (a "root"; `sub` views share it and are bound whole with an element offset) therefore has a
 * host shadow created on first use and two flags:
 *  - hostDirty: `view()` was taken, so the host may have written the shadow. Before the next kernel that touches
 *    the root, pending work is submitted and the shadow uploaded (queue order keeps earlier kernels on the old data).
 *  - deviceNewer: a kernel wrote the root after the shadow was last filled. `view()` and `sum()` then throw
 *    TensorError('NotSynced') instead of returning stale values; `await sync(bufs)` copies such roots back.
 * So a view is valid until the next kernel that writes its buffer: take views after `sync()`, write inputs through
 * them before the kernels that read them. Work is recorded into one compute pass and submitted only when an
 * upload, a clear, a full uniform ring or a sync needs it. Scalars the autograd layer would read mid-graph (a loss,
 * the upstream gradient of a sum) stay on the device through the DeviceResident kernels.
 *
 * Device errors (shader compilation, validation, lost device) arrive asynchronously; the next `sync()` throws them
 * as TensorError('KernelFailed').
 */
import type { AdamWArgs, AttentionGeom, Backend, Buf, DeviceResident, FloatArray, IntBuf } from './backend.ts';
import { TensorError } from './errors.ts';
import { ATTENTION, ATTENTION_BACKWARD_KV, ATTENTION_BACKWARD_Q } from './wgsl/attention.ts';
import {
  ADAMW, ADD, AXPY, COPY, EMBEDDING, EMBEDDING_BACKWARD, FILL, FILL_FROM, MUL, ROPE, SCALE, SCALE_BY, SILU, SILU_BACKWARD, SWIGLU,
  SWIGLU_BACKWARD, TRANSPOSE,
} from './wgsl/elementwise.ts';
import { kernelSource, uniformFields } from './wgsl/kernel.ts';
import type { KernelDef } from './wgsl/kernel.ts';
import { MATMUL, MATMUL_TILE } from './wgsl/matmul.ts';
import {
  CROSS_ENTROPY, CROSS_ENTROPY_BACKWARD, RMSNORM, RMSNORM_BACKWARD_W, RMSNORM_BACKWARD_X, SOFTMAX, SOFTMAX_BACKWARD, SUM_PARTIAL, SUM_TO,
} from './wgsl/rows.ts';

// GPUBufferUsage / GPUShaderStage / GPUMapMode values (the globals exist in browsers, not in Node)
const MAP_READ = 0x1, COPY_SRC = 0x4, COPY_DST = 0x8, UNIFORM = 0x40, STORAGE = 0x80;
const COMPUTE_STAGE = 0x4;
const MAP_MODE_READ = 0x1;

const UNIFORM_SLOT = 256;
const UNIFORM_SLOTS = 512;
const MAX_GROUPS = 65535;
/** Elements one workgroup sums (longer sums take a partial-sums pass first). */
const SUM_CHUNK = 16384;
/** Freed device buffers kept for reuse (bytes) before further frees destroy them. */
const POOL_BYTES = 256 * 1024 * 1024;

interface Root {
  readonly buffer: GPUBuffer;
  readonly length: number;
  readonly int: boolean;
  shadow: Float32Array | Int32Array | null;
  hostDirty: boolean;
  deviceNewer: boolean;
  /** bumped by every kernel that writes the root (a sync clears deviceNewer only if no write raced it) */
  writes: number;
  freed: boolean;
  handle: GpuBuf | GpuIntBuf | null;
}

class GpuBuf implements Buf {
  constructor(readonly root: Root, readonly offset: number, readonly length: number) {}
}

class GpuIntBuf implements IntBuf {
  constructor(readonly root: Root, readonly offset: number, readonly length: number) {}
}

type AnyBuf = Buf | IntBuf;

export interface WebGpuBackendOptions {
  readonly device: GPUDevice;
  /** Human-readable adapter description (what benches and logs report). */
  readonly adapterName: string;
}

export class WebGpuBackend implements Backend, DeviceResident {
  readonly name = 'webgpu';
  readonly dtype = 'float32' as const;
  readonly threads = 1;
  readonly adapterName: string;
  private readonly device: GPUDevice;
  private readonly pipelines = new Map<KernelDef, Map<string, GPUComputePipeline>>();
  private readonly layouts = new Map<number, { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout }>();
  private readonly uniforms: GPUBuffer;
  private readonly staging = new ArrayBuffer(UNIFORM_SLOT * UNIFORM_SLOTS);
  private slot = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly pool = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;
  private readonly live = new Set<Root>();
  private deviceError: string | null = null;
  private disposed = false;

  constructor(opts: WebGpuBackendOptions) {
    this.device = opts.device;
    this.adapterName = opts.adapterName;
    this.uniforms = this.device.createBuffer({ size: UNIFORM_SLOT * UNIFORM_SLOTS, usage: UNIFORM | COPY_DST });
    this.device.addEventListener('uncapturederror', (ev) => {
      const e = ev as GPUUncapturedErrorEvent;
      this.deviceError ??= e.error.message;
    });
    void this.device.lost.then((info) => {
      if (!this.disposed) this.deviceError ??= `device lost: ${info.message}`;
    });
  }

  // ---- storage ----

  alloc(n: number): Buf {
    const b = this.allocRoot(n, false);
    this.ensureEncoder();
    this.endPass();
    this.encoder!.clearBuffer(b.root.buffer);
    return b;
  }
  allocUninit(n: number): Buf {
    return this.allocRoot(n, false);
  }
  allocInt(n: number): IntBuf {
    const b = this.allocRoot(n, true);
    this.ensureEncoder();
    this.endPass();
    this.encoder!.clearBuffer(b.root.buffer);
    return b;
  }

  private allocRoot(n: number, int: true): GpuIntBuf;
  private allocRoot(n: number, int: false): GpuBuf;
  private allocRoot(n: number, int: boolean): GpuBuf | GpuIntBuf {
    this.check();
    if (!Number.isSafeInteger(n) || n < 0) throw new TensorError('InvalidArgument', `bad allocation size ${n}`);
    const bytes = Math.max(16, Math.ceil((n * 4) / 16) * 16);
    if (bytes > this.device.limits.maxStorageBufferBindingSize) {
      throw new TensorError('OutOfMemory', `webgpu: ${n} elements exceed the device's storage binding limit of ${this.device.limits.maxStorageBufferBindingSize} bytes`);
    }
    const reuse = this.pool.get(bytes)?.pop();
    if (reuse !== undefined) this.pooledBytes -= bytes;
    const buffer = reuse ?? this.device.createBuffer({ size: bytes, usage: STORAGE | COPY_SRC | COPY_DST });
    const root: Root = { buffer, length: n, int, shadow: null, hostDirty: false, deviceNewer: false, writes: 0, freed: false, handle: null };
    const h = int ? new GpuIntBuf(root, 0, n) : new GpuBuf(root, 0, n);
    root.handle = h;
    this.live.add(root);
    return h;
  }

  free(b: Buf | IntBuf): void {
    const r = this.rootOf(b);
    if (r.handle !== b || r.freed) return;
    r.freed = true;
    r.shadow = null;
    this.live.delete(r);
    const size = r.buffer.size;
    if (this.pooledBytes + size <= POOL_BYTES) {
      const list = this.pool.get(size) ?? [];
      list.push(r.buffer);
      this.pool.set(size, list);
      this.pooledBytes += size;
    } else {
      this.flush();
      r.buffer.destroy();
    }
  }

  sub(b: Buf, offset: number, length: number): Buf {
    const g = this.floatBuf(b);
    if (offset < 0 || length < 0 || offset + length > g.length) throw new TensorError('InvalidArgument', 'sub-view out of range');
    return new GpuBuf(g.root, g.offset + offset, length);
  }

  view(b: Buf): FloatArray {
    const g = this.floatBuf(b);
    return this.hostView(g.root, g.offset, g.length) as Float32Array;
  }
  intView(b: IntBuf): Int32Array {
    if (!(b instanceof GpuIntBuf)) throw new TensorError('BackendMismatch', 'int buffer does not belong to the WebGPU backend');
    return this.hostView(b.root, b.offset, b.length) as Int32Array;
  }

  /**
   * Writes `values` into b on the device without reading it back first (a view would need a sync when the device
   * wrote b last); the host view, where there is one, gets the values too.
   */
  write(b: Buf, values: Float32Array): void {
    const g = this.floatBuf(b);
    const r = this.liveRoot(g.root);
    if (values.length !== g.length) throw new TensorError('ShapeMismatch', `webgpu: writing ${values.length} values into ${g.length}`);
    if (values.length === 0) return;
    this.flush();
    // Dawn takes no SharedArrayBuffer (wasm memory with threads is one): copy such views first
    const src = values.buffer instanceof ArrayBuffer ? values : values.slice();
    this.device.queue.writeBuffer(r.buffer, g.offset * 4, src);
    r.shadow?.set(values, g.offset);
  }

  /**
   * A view for reading only (it does not mark the buffer for upload, so host writes through it are lost). Throws
   * NotSynced like view() when the device wrote the buffer since the last sync.
   */
  readView(b: Buf): Float32Array {
    const g = this.floatBuf(b);
    const r = this.liveRoot(g.root);
    if (r.deviceNewer) throw new TensorError('NotSynced', 'webgpu: buffer was written on the device since the last sync; await backend.sync() before reading it on the host');
    return (this.shadowOf(r) as Float32Array).subarray(g.offset, g.offset + g.length);
  }

  private hostView(r: Root, offset: number, length: number): Float32Array | Int32Array {
    this.liveRoot(r);
    if (r.deviceNewer) throw new TensorError('NotSynced', 'webgpu: buffer was written on the device since the last sync; await backend.sync() before reading it on the host');
    r.hostDirty = true;
    return this.shadowOf(r).subarray(offset, offset + length);
  }

  private shadowOf(r: Root): Float32Array | Int32Array {
    r.shadow ??= r.int ? new Int32Array(r.length) : new Float32Array(r.length);
    return r.shadow;
  }

  async sync(bufs?: ReadonlyArray<Buf | IntBuf>): Promise<void> {
    this.check();
    const roots = [...new Set(bufs === undefined ? this.live : bufs.map((b) => this.rootOf(b)))].filter((r) => r.deviceNewer && !r.freed);
    this.flush();
    if (roots.length > 0) {
      const offsets: number[] = [];
      let total = 0;
      for (const r of roots) {
        offsets.push(total);
        total += r.length * 4;
      }
      const readback = this.device.createBuffer({ size: Math.max(16, Math.ceil(total / 16) * 16), usage: MAP_READ | COPY_DST });
      const enc = this.device.createCommandEncoder();
      roots.forEach((r, i) => {
        if (r.length > 0) enc.copyBufferToBuffer(r.buffer, 0, readback, offsets[i], r.length * 4);
      });
      this.device.queue.submit([enc.finish()]);
      const versions = roots.map((r) => r.writes);
      try {
        await readback.mapAsync(MAP_MODE_READ);
        const data = readback.getMappedRange();
        roots.forEach((r, i) => {
          if (r.freed) return;
          const src = r.int ? new Int32Array(data, offsets[i], r.length) : new Float32Array(data, offsets[i], r.length);
          this.shadowOf(r).set(src);
          if (r.writes === versions[i]) r.deviceNewer = false;
        });
        readback.unmap();
      } finally {
        readback.destroy();
      }
    } else {
      await this.device.queue.onSubmittedWorkDone();
    }
    const err = this.deviceError;
    if (err !== null) {
      this.deviceError = null;
      throw new TensorError('KernelFailed', `webgpu: ${err}`);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.encoder = null;
    this.pass = null;
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.pool.clear();
    this.live.clear();
    this.device.destroy();
  }

  // ---- kernels ----

  fill(dst: Buf, value: number): void {
    this.elementwise(FILL, dst.length, [dst], [0], { v: value });
  }
  copy(dst: Buf, src: Buf): void {
    this.elementwise(COPY, dst.length, [dst, src], [0], {});
  }
  add(out: Buf, a: Buf, b: Buf): void {
    this.elementwise(ADD, out.length, [out, a, b], [0], {});
  }
  mul(out: Buf, a: Buf, b: Buf): void {
    this.elementwise(MUL, out.length, [out, a, b], [0], {});
  }
  scale(out: Buf, a: Buf, s: number): void {
    this.elementwise(SCALE, out.length, [out, a], [0], { s });
  }
  axpy(dst: Buf, src: Buf, s: number): void {
    this.elementwise(AXPY, dst.length, [dst, src], [0], { s });
  }

  /** On the host, from a synced buffer (float64, the reference's order); sumTo keeps a sum on the device. */
  sum(x: Buf, squares: boolean): number {
    const a = this.readView(x);
    let s = 0;
    for (let i = 0; i < a.length; i++) s += squares ? a[i] * a[i] : a[i];
    return s;
  }

  matmul(c: Buf, a: Buf, b: Buf, m: number, n: number, k: number, transA: boolean, transB: boolean, acc: boolean): void {
    if (m === 0 || n === 0) return;
    const p = {
      m, n, k, sAi: transA ? 1 : k, sAk: transA ? m : 1, sBk: transB ? 1 : n, sBj: transB ? k : 1, acc: acc ? 1 : 0,
    };
    this.run(MATMUL, [Math.ceil(n / MATMUL_TILE), Math.ceil(m / MATMUL_TILE)], [c, a, b], [0], p);
  }
  transpose2d(out: Buf, a: Buf, rows: number, cols: number): void {
    this.elementwise(TRANSPOSE, rows * cols, [out, a], [0], { rows, cols });
  }

  silu(y: Buf, x: Buf): void {
    this.elementwise(SILU, y.length, [y, x], [0], {});
  }
  siluBackward(dx: Buf, x: Buf, dy: Buf, acc: boolean): void {
    this.elementwise(SILU_BACKWARD, dx.length, [dx, x, dy], [0], { acc: acc ? 1 : 0 });
  }
  softmax(y: Buf, x: Buf, rows: number, n: number): void {
    this.rows(SOFTMAX, rows, [y, x], [0], { rows, n });
  }
  softmaxBackward(dx: Buf, y: Buf, dy: Buf, rows: number, n: number, acc: boolean): void {
    this.rows(SOFTMAX_BACKWARD, rows, [dx, y, dy], [0], { rows, n, acc: acc ? 1 : 0 });
  }

  embedding(out: Buf, w: Buf, tokens: IntBuf, n: number, dim: number): void {
    this.elementwise(EMBEDDING, n * dim, [out, w, tokens], [0], { dim });
  }
  embeddingBackward(dw: Buf, dOut: Buf, tokens: IntBuf, n: number, dim: number): void {
    this.elementwise(EMBEDDING_BACKWARD, dim, [dw, dOut, tokens], [0], { tokens: n });
  }

  rmsnorm(y: Buf, rstd: Buf, x: Buf, w: Buf, rows: number, dim: number, eps: number): void {
    this.rows(RMSNORM, rows, [y, rstd, x, w], [0, 1], { rows, n: dim, eps });
  }
  rmsnormBackwardX(dx: Buf, x: Buf, w: Buf, rstd: Buf, dy: Buf, rows: number, dim: number, acc: boolean): void {
    this.rows(RMSNORM_BACKWARD_X, rows, [dx, x, w, rstd, dy], [0], { rows, n: dim, acc: acc ? 1 : 0 });
  }
  rmsnormBackwardW(dw: Buf, x: Buf, rstd: Buf, dy: Buf, rows: number, dim: number, acc: boolean): void {
    this.elementwise(RMSNORM_BACKWARD_W, dim, [dw, x, rstd, dy], [0], { rows, acc: acc ? 1 : 0 });
  }

  rope(out: Buf, x: Buf, cos: Buf, sin: Buf, rows: number, seqLen: number, nHeads: number, nKvHeads: number, headDim: number, inverse: boolean): void {
    const width = (nHeads + 2 * nKvHeads) * headDim;
    this.elementwise(ROPE, rows * width, [out, x, cos, sin], [0], {
      seqLen, width, rotWidth: (nHeads + nKvHeads) * headDim, headDim, inverse: inverse ? 1 : 0,
    });
  }

  swiglu(h: Buf, gu: Buf, rows: number, f: number): void {
    this.elementwise(SWIGLU, rows * f, [h, gu], [0], { f });
  }
  swigluBackward(dgu: Buf, gu: Buf, dh: Buf, rows: number, f: number, acc: boolean): void {
    this.elementwise(SWIGLU_BACKWARD, rows * f, [dgu, gu, dh], [0], { f, acc: acc ? 1 : 0 });
  }

  attention(out: Buf, lse: Buf, qkv: Buf, g: AttentionGeom): void {
    const threads = g.batch * g.nHeads * g.seqLen;
    this.run(ATTENTION, this.groups(threads, 64), [out, lse, qkv], [0, 1], geomParams(g));
  }
  attentionBackward(dqkv: Buf, qkv: Buf, out: Buf, dOut: Buf, lse: Buf, g: AttentionGeom): void {
    const args = [dqkv, qkv, out, dOut, lse];
    this.run(ATTENTION_BACKWARD_Q, this.groups(g.batch * g.nHeads * g.seqLen, 64), args, [0], geomParams(g));
    this.run(ATTENTION_BACKWARD_KV, this.groups(g.batch * g.nKvHeads * g.seqLen, 64), args, [0], geomParams(g));
  }

  crossEntropy(loss: Buf, lse: Buf, logits: Buf, targets: IntBuf, rows: number, vocab: number): void {
    this.rows(CROSS_ENTROPY, rows, [loss, lse, logits, targets], [0, 1], { rows, n: vocab });
  }
  crossEntropyBackward(dx: Buf, logits: Buf, lse: Buf, targets: IntBuf, rows: number, vocab: number, s: number): void {
    const total = rows * vocab;
    if (total === 0) return;
    this.run(CROSS_ENTROPY_BACKWARD, this.groups(total, 256), [dx, logits, lse, targets], [0], { total, n: vocab, s });
  }

  adamw(p: Buf, g: Buf, m: Buf, v: Buf, a: AdamWArgs): void {
    this.elementwise(ADAMW, p.length, [p, g, m, v], [0, 2, 3], {
      gradScale: a.gradScale, beta1: a.beta1, beta2: a.beta2, omb1: 1 - a.beta1, omb2: 1 - a.beta2, eps: a.eps,
      decay: 1 - a.lr * a.weightDecay, stepSize: a.lr / (1 - a.beta1 ** a.step), bc2: Math.sqrt(1 - a.beta2 ** a.step),
    });
  }

  /** Up to SUM_CHUNK elements in one workgroup; longer buffers are first cut into per-workgroup partial sums. */
  sumTo(y: Buf, x: Buf, squares: boolean, factor: number): void {
    if (x.length <= SUM_CHUNK) {
      this.run(SUM_TO, [1, 1], [y, x], [0], { n: x.length, squares: squares ? 1 : 0, factor });
      return;
    }
    const groups = Math.ceil(x.length / SUM_CHUNK);
    const partial = this.allocUninit(groups);
    this.run(SUM_PARTIAL, this.groups(groups, 1), [partial, x], [0], { n: x.length, squares: squares ? 1 : 0, chunk: SUM_CHUNK });
    this.sumTo(y, partial, false, factor);
    this.free(partial);
  }
  fillFrom(dst: Buf, src: Buf, factor: number, acc: boolean): void {
    this.elementwise(FILL_FROM, dst.length, [dst, src], [0], { factor, acc: acc ? 1 : 0 });
  }
  scaleBy(dst: Buf, src: Buf, factor: number): void {
    this.elementwise(SCALE_BY, dst.length, [dst, src], [0], { factor });
  }

  // ---- dispatch ----

  private elementwise(def: KernelDef, n: number, bufs: AnyBuf[], writes: number[], params: Record<string, number>): void {
    if (n === 0) return;
    this.run(def, this.groups(n, 256), bufs, writes, { n, ...params });
  }

  /** One workgroup per row. */
  private rows(def: KernelDef, rows: number, bufs: AnyBuf[], writes: number[], params: Record<string, number>): void {
    if (rows === 0) return;
    this.run(def, this.groups(rows, 1), bufs, writes, params);
  }

  private groups(threads: number, perGroup: number): [number, number] {
    const g = Math.ceil(threads / perGroup);
    const x = Math.min(g, MAX_GROUPS);
    const y = Math.ceil(g / x);
    if (y > MAX_GROUPS) throw new TensorError('InvalidArgument', `webgpu: ${threads} threads exceed one dispatch`);
    return [x, y];
  }

  private run(def: KernelDef, groups: readonly [number, number], bufs: AnyBuf[], writes: number[], params: Record<string, number>): void {
    this.check();
    const roots = bufs.map((b) => this.liveRoot(this.rootOf(b)));
    if (roots.some((r) => r.hostDirty)) {
      this.flush();
      for (const r of roots) {
        if (!r.hostDirty) continue;
        this.device.queue.writeBuffer(r.buffer, 0, this.shadowOf(r), 0, r.length);
        r.hostDirty = false;
      }
    }
    if (this.slot === UNIFORM_SLOTS) this.flush();
    const alias = roots.map((r) => roots.indexOf(r));
    const distinct = roots.filter((_, i) => alias[i] === i);
    const pipeline = this.pipeline(def, alias);
    const dv = new DataView(this.staging, this.slot * UNIFORM_SLOT, UNIFORM_SLOT);
    uniformFields(def).forEach(([name, type], i) => {
      const v = name.startsWith('o_') ? (bufs[def.bufs.findIndex(([n]) => `o_${n}` === name)] as GpuBuf | GpuIntBuf).offset : params[name];
      if (v === undefined || (!Number.isFinite(v) && type !== 'f32')) throw new TensorError('KernelFailed', `webgpu: kernel ${def.name} needs parameter ${name}`);
      if (type === 'f32') dv.setFloat32(i * 4, v, true);
      else if (type === 'i32') dv.setInt32(i * 4, v, true);
      else dv.setUint32(i * 4, v, true);
    });
    const bindGroup = this.device.createBindGroup({
      layout: this.layout(distinct.length).group,
      entries: [
        ...distinct.map((r, i) => ({ binding: i, resource: { buffer: r.buffer } })),
        { binding: distinct.length, resource: { buffer: this.uniforms, offset: this.slot * UNIFORM_SLOT, size: UNIFORM_SLOT } },
      ],
    });
    this.slot++;
    const pass = this.ensurePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups[0], groups[1]);
    for (const w of writes) {
      roots[w].deviceNewer = true;
      roots[w].writes++;
    }
  }

  /** The kernel's pipeline for one aliasing pattern (arguments sharing a device buffer share a binding). */
  private pipeline(def: KernelDef, alias: readonly number[]): GPUComputePipeline {
    let variants = this.pipelines.get(def);
    if (variants === undefined) this.pipelines.set(def, (variants = new Map()));
    const key = alias.join(',');
    let p = variants.get(key);
    if (p === undefined) {
      const module = this.device.createShaderModule({ code: kernelSource(def, alias), label: def.name });
      const storage = alias.filter((a, i) => a === i).length;
      p = this.device.createComputePipeline({ layout: this.layout(storage).pipeline, compute: { module, entryPoint: 'main' }, label: def.name });
      variants.set(key, p);
    }
    return p;
  }

  private layout(storage: number): { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout } {
    let l = this.layouts.get(storage);
    if (l === undefined) {
      const entries: GPUBindGroupLayoutEntry[] = [];
      for (let i = 0; i < storage; i++) entries.push({ binding: i, visibility: COMPUTE_STAGE, buffer: { type: 'storage' } });
      entries.push({ binding: storage, visibility: COMPUTE_STAGE, buffer: { type: 'uniform' } });
      const group = this.device.createBindGroupLayout({ entries });
      l = { group, pipeline: this.device.createPipelineLayout({ bindGroupLayouts: [group] }) };
      this.layouts.set(storage, l);
    }
    return l;
  }

  private ensureEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private ensurePass(): GPUComputePassEncoder {
    this.pass ??= this.ensureEncoder().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    if (this.pass !== null) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Submits everything recorded so far (with the uniform values it reads). */
  private flush(): void {
    if (this.encoder === null) return;
    this.endPass();
    if (this.slot > 0) this.device.queue.writeBuffer(this.uniforms, 0, this.staging, 0, this.slot * UNIFORM_SLOT);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.slot = 0;
  }

  private rootOf(b: AnyBuf): Root {
    if (b instanceof GpuBuf || b instanceof GpuIntBuf) return b.root;
    throw new TensorError('BackendMismatch', 'buffer does not belong to the WebGPU backend');
  }

  private floatBuf(b: Buf): GpuBuf {
    if (!(b instanceof GpuBuf)) throw new TensorError('BackendMismatch', 'buffer does not belong to the WebGPU backend');
    return b;
  }

  private liveRoot(r: Root): Root {
    if (r.freed) throw new TensorError('Disposed', 'webgpu: buffer was freed');
    return r;
  }

  private check(): void {
    if (this.disposed) throw new TensorError('Disposed', 'webgpu backend was disposed');
  }
}

function geomParams(g: AttentionGeom): Record<string, number> {
  return { B: g.batch, T: g.seqLen, H: g.nHeads, KV: g.nKvHeads, hd: g.headDim, scale: g.scale };
}
