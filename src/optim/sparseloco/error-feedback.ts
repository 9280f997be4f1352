/**
 * The miner's side of SparseLoCo: pseudo-gradient and error feedback (reference §2.2 step 6).
 *   Δ = θ_start − θ_after_H_inner_steps
 *   e ← β·e + Δ;   send ŝ = Q(TopK(e));   e ← e − dequant(ŝ)
 * Only what was actually sent (the dequantized top-k) leaves e, so e keeps both the unsent mass and the
 * quantization error. Float32 semantics, element-wise:
 *   e_mid   = fl32(fl32(fl32(β)·e) + Δ)            (torch: e.mul_(β).add_(Δ))
 *   e_after = fl32(e_mid − sent)  at kept positions, e_mid elsewhere
 * so e_mid − (sent + e_after) is exactly 0 off the kept set and at most half an ulp of e_after on it.
 * Given a backend with SparseKernels (wasm: SIMD, all threads), e and a staging copy of Δ live in its memory and the
 * update and top-k run there; the results are the same bit for bit.
 */
import type { ParamSpec } from '../../model/config.ts';
import type { Backend, Buf, IntBuf, SparseKernels } from '../../tensor/backend.ts';
import { numel, type ParamTensor } from '../../tensor/params.ts';
import { chunkBase, chunkLayout, inChunkOffsets, type ChunkLayout } from './chunking.ts';
import { compressTensor, type CompressedTensor } from './compress.ts';
import { validateCompressionConfig, type CompressionConfig } from './config.ts';
import { SparseLoCoError } from './errors.ts';
import { dequantTable, quantize } from './quantize.ts';

/** A backend that also runs the encoder's kernels. */
export type EncoderBackend = Backend & SparseKernels;

/** Δ = start − current, element-wise in float32. */
export function pseudoGradient(start: readonly ParamTensor[], current: readonly ParamTensor[]): ParamTensor[] {
  checkAligned(start, current, 'pseudoGradient');
  return start.map((s, i) => {
    const a = s.data;
    const b = current[i].data;
    const out = new Float32Array(a.length);
    for (let j = 0; j < a.length; j++) out[j] = a[j] - b[j];
    return { name: s.name, shape: [...s.shape], data: out };
  });
}

/**
 * A pseudo-gradient taken from `from` (from − end) re-taken against `now` (now − end), in place: delta += now − from.
 * An overlapped miner's update once the delayed outer step has moved its parameters from `from` to `now`.
 */
export function rebasePseudoGradient(delta: readonly ParamTensor[], from: readonly ParamTensor[], now: readonly ParamTensor[]): void {
  checkAligned(delta, from, 'rebasePseudoGradient');
  checkAligned(delta, now, 'rebasePseudoGradient');
  delta.forEach((d, i) => {
    const f = from[i].data;
    const n = now[i].data;
    for (let j = 0; j < d.data.length; j++) d.data[j] += n[j] - f[j];
  });
}

function checkAligned(a: readonly ParamTensor[], b: readonly { name: string; shape: readonly number[]; data?: Float32Array }[], what: string): void {
  if (a.length !== b.length) throw new SparseLoCoError('ShapeMismatch', `${what}: ${a.length} vs ${b.length} tensors`);
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.name !== y.name || x.shape.length !== y.shape.length || x.shape.some((d, j) => d !== y.shape[j])) {
      throw new SparseLoCoError('ShapeMismatch', `${what}: tensor ${i} is ${x.name} [${x.shape.join(', ')}] vs ${y.name} [${y.shape.join(', ')}]`);
    }
    if (x.data.length !== numel(x.shape) || (y.data !== undefined && y.data.length !== x.data.length)) {
      throw new SparseLoCoError('ShapeMismatch', `${what}: tensor ${x.name} has a buffer of the wrong length`);
    }
  }
}

export interface ErrorFeedbackConfig extends CompressionConfig {
  readonly beta: number;
}

/** The buffers and scratch of ErrorFeedback in a backend's memory. */
class KernelState {
  readonly eBufs: Buf[];
  readonly deltaBufs: Buf[];
  readonly deltaViews: Float32Array[];
  private outIdx: IntBuf | null = null;
  private outVals: Buf | null = null;
  private outLen = 0;

  constructor(
    readonly backend: EncoderBackend,
    sizes: readonly number[],
  ) {
    this.eBufs = sizes.map((n) => backend.alloc(n));
    this.deltaBufs = sizes.map((n) => backend.allocUninit(n));
    this.deltaViews = this.deltaBufs.map((b) => backend.view(b) as Float32Array);
  }

  eView(t: number): Float32Array {
    return this.backend.view(this.eBufs[t]) as Float32Array;
  }

  /** Top-k of e (after e ← β·e + Δ when `withDelta`) into fresh arrays: in-chunk indices and the values of e. */
  topK(t: number, layout: ChunkLayout, beta: number, withDelta: boolean, name: string): { indices: Uint16Array; values: Float32Array } {
    const kept = layout.numChunks * layout.k;
    if (kept > this.outLen) {
      if (this.outIdx !== null) this.backend.free(this.outIdx);
      if (this.outVals !== null) this.backend.free(this.outVals);
      this.outIdx = this.backend.allocInt(Math.ceil(kept / 2));
      this.outVals = this.backend.allocUninit(kept);
      this.outLen = kept;
    }
    const bad = this.backend.efTopK(this.eBufs[t], withDelta ? this.deltaBufs[t] : null, beta, layout, this.outIdx!, this.outVals!);
    if (bad >= 0) throw new SparseLoCoError('NonFinite', `error feedback ${name}: chunk ${bad} holds NaN or Inf`);
    const iv = this.backend.intView(this.outIdx!);
    return {
      indices: new Uint16Array(iv.buffer, iv.byteOffset, kept).slice(),
      values: (this.backend.view(this.outVals!) as Float32Array).slice(0, kept),
    };
  }

  dispose(): void {
    for (const b of [...this.eBufs, ...this.deltaBufs]) this.backend.free(b);
    if (this.outIdx !== null) this.backend.free(this.outIdx);
    if (this.outVals !== null) this.backend.free(this.outVals);
    this.outIdx = null;
    this.outVals = null;
  }
}

export class ErrorFeedback {
  private readonly tensors: ParamTensor[];
  private readonly kernels: KernelState | null;

  /** `initial`: contents to start from (adopted without a backend, copied into it with one); zeros otherwise. */
  private constructor(specs: readonly ParamSpec[], backend: EncoderBackend | null, initial: readonly ParamTensor[] | null) {
    const sizes = specs.map((s) => numel(s.shape));
    const ks = backend === null ? null : new KernelState(backend, sizes);
    this.kernels = ks;
    this.tensors = specs.map((s, t) => {
      let data: Float32Array;
      if (ks !== null) {
        data = ks.eView(t);
        if (initial !== null) data.set(initial[t].data);
      } else data = initial !== null ? initial[t].data : new Float32Array(sizes[t]);
      return { name: s.name, shape: [...s.shape], data };
    });
  }

  /** The error-feedback buffers e, one per parameter, in parameter order (live views; writes go through). */
  get buffers(): readonly ParamTensor[] {
    return this.tensors;
  }

  /** Zero buffers; in `backend`'s memory when given (dispose() frees them). */
  static zeros(specs: readonly ParamSpec[], backend?: EncoderBackend): ErrorFeedback {
    return new ErrorFeedback(specs, backend ?? null, null);
  }

  /** Adopts existing buffers (e.g. restored from disk; copied when a backend is given); they must be finite. */
  static fromBuffers(buffers: readonly ParamTensor[], backend?: EncoderBackend): ErrorFeedback {
    for (const b of buffers) {
      if (b.data.length !== numel(b.shape)) throw new SparseLoCoError('ShapeMismatch', `buffer ${b.name} has the wrong length`);
      for (let i = 0; i < b.data.length; i++) {
        if (!Number.isFinite(b.data[i])) throw new SparseLoCoError('NonFinite', `buffer ${b.name} holds NaN or Inf`);
      }
    }
    return new ErrorFeedback(buffers, backend ?? null, buffers);
  }

  /**
   * Where to write Δ to spare step() a copy (null without a backend): step() uses a delta tensor whose data is
   * one of these arrays in place.
   */
  deltaViews(): readonly Float32Array[] | null {
    return this.kernels === null ? null : this.kernels.deltaViews;
  }

  /**
   * One round: e ← β·e + Δ, compress e, remove what is sent. Δ is checked for NaN/Inf before e is touched,
   * so a bad pseudo-gradient throws NonFinite and leaves e as it was.
   */
  step(delta: readonly ParamTensor[], cfg: ErrorFeedbackConfig): CompressedTensor[] {
    validateCompressionConfig(cfg);
    if (!(cfg.beta >= 0 && cfg.beta <= 1)) throw new SparseLoCoError('InvalidConfig', `beta must be in [0, 1], got ${cfg.beta}`);
    checkAligned(this.tensors, delta, 'ErrorFeedback.step');
    const beta = Math.fround(cfg.beta);
    if (this.kernels !== null) return this.stepWithKernels(this.kernels, delta, cfg, beta);
    for (const d of delta) {
      const x = d.data;
      for (let i = 0; i < x.length; i++) {
        if (!(Math.abs(x[i]) < Infinity)) throw new SparseLoCoError('NonFinite', `pseudo-gradient ${d.name} holds NaN or Inf`);
      }
    }
    const out: CompressedTensor[] = [];
    for (let t = 0; t < this.tensors.length; t++) {
      const e = this.tensors[t].data;
      const d = delta[t].data;
      for (let i = 0; i < e.length; i++) e[i] = Math.fround(beta * e[i]) + d[i];
      const buf = this.tensors[t];
      out.push(this.subtractSent(t, compressTensor(buf.name, buf.shape, buf.data, cfg)));
    }
    return out;
  }

  private stepWithKernels(ks: KernelState, delta: readonly ParamTensor[], cfg: ErrorFeedbackConfig, beta: number): CompressedTensor[] {
    delta.forEach((d, t) => {
      if (d.data !== ks.deltaViews[t]) ks.deltaViews[t].set(d.data);
    });
    delta.forEach((d, t) => {
      if (ks.backend.countNonFinite(ks.deltaBufs[t]) > 0) throw new SparseLoCoError('NonFinite', `pseudo-gradient ${d.name} holds NaN or Inf`);
    });
    return this.tensors.map((_, t) => this.subtractSent(t, this.compressWithKernels(ks, t, cfg, beta, true)));
  }

  private compressWithKernels(ks: KernelState, t: number, cfg: CompressionConfig, beta: number, withDelta: boolean): CompressedTensor {
    const { name, shape } = this.tensors[t];
    const layout = chunkLayout(shape, cfg);
    const { indices, values } = ks.topK(t, layout, beta, withDelta, name);
    const codes = new Uint8Array(values.length);
    const quant = quantize(values, cfg.quantBins, cfg.quantRange, codes);
    return { name, shape: [...shape], layout, indices, codes, quant };
  }

  /** Templar's null round (warm-up, or no peers): e ← 0 and an all-zero update is sent. */
  nullRound(cfg: CompressionConfig): CompressedTensor[] {
    validateCompressionConfig(cfg);
    this.reset();
    const ks = this.kernels;
    if (ks !== null) return this.tensors.map((_, t) => this.compressWithKernels(ks, t, cfg, 1, false));
    return this.tensors.map((b) => compressTensor(b.name, b.shape, b.data, cfg));
  }

  /** e ← 0 without producing an update. */
  reset(): void {
    for (const b of this.tensors) b.data.fill(0);
  }

  /** Frees the buffers in the backend's memory (nothing to do without one); the object is unusable afterwards. */
  dispose(): void {
    this.kernels?.dispose();
  }

  private subtractSent(t: number, ct: CompressedTensor): CompressedTensor {
    const { layout, indices, codes } = ct;
    const table = dequantTable(ct.quant);
    const offsets = inChunkOffsets(layout);
    const e = this.tensors[t].data;
    const k = layout.k;
    for (let c = 0, p = 0; c < layout.numChunks; c++) {
      const base = chunkBase(layout, c);
      for (let end = p + k; p < end; p++) {
        const at = base + offsets[indices[p]];
        e[at] = e[at] - table[codes[p]];
      }
    }
    return ct;
  }
}
