/**
 * The miner's side of SparseLoCo: pseudo-gradient and error feedback (reference §2.2 step 6).
 *   Δ = θ_start − θ_after_H_inner_steps
 *   e ← β·e + Δ;   send ŝ = Q(TopK(e));   e ← e − dequant(ŝ)
 * Only what was actually sent (the dequantized top-k) leaves e, so e keeps both the unsent mass and the
 * quantization error. Float32 semantics, element-wise:
 *   e_mid   = fl32(fl32(fl32(β)·e) + Δ)            (torch: e.mul_(β).add_(Δ))
 *   e_after = fl32(e_mid − sent)  at kept positions, e_mid elsewhere
 * so e_mid − (sent + e_after) is exactly 0 off the kept set and at most half an ulp of e_after on it.
 */
import type { ParamSpec } from '../../model/config.ts';
import { numel, type ParamTensor } from '../../tensor/params.ts';
import { chunkBase, inChunkOffsets } from './chunking.ts';
import { compressTensor, type CompressedTensor } from './compress.ts';
import { validateCompressionConfig, type CompressionConfig } from './config.ts';
import { SparseLoCoError } from './errors.ts';
import { dequantTable } from './quantize.ts';

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

export class ErrorFeedback {
  /** The error-feedback buffers e, one per parameter, in parameter order. */
  readonly buffers: readonly ParamTensor[];

  private constructor(buffers: ParamTensor[]) {
    this.buffers = buffers;
  }

  static zeros(specs: readonly ParamSpec[]): ErrorFeedback {
    return new ErrorFeedback(specs.map((s) => ({ name: s.name, shape: [...s.shape], data: new Float32Array(numel(s.shape)) })));
  }

  /** Adopts existing buffers (e.g. restored from disk); they must be finite. */
  static fromBuffers(buffers: readonly ParamTensor[]): ErrorFeedback {
    for (const b of buffers) {
      if (b.data.length !== numel(b.shape)) throw new SparseLoCoError('ShapeMismatch', `buffer ${b.name} has the wrong length`);
      for (let i = 0; i < b.data.length; i++) {
        if (!Number.isFinite(b.data[i])) throw new SparseLoCoError('NonFinite', `buffer ${b.name} holds NaN or Inf`);
      }
    }
    return new ErrorFeedback(buffers.map((b) => ({ name: b.name, shape: [...b.shape], data: b.data })));
  }

  /**
   * One round: e ← β·e + Δ, compress e, remove what is sent. Δ is checked for NaN/Inf before e is touched,
   * so a bad pseudo-gradient throws NonFinite and leaves e as it was.
   */
  step(delta: readonly ParamTensor[], cfg: ErrorFeedbackConfig): CompressedTensor[] {
    validateCompressionConfig(cfg);
    if (!(cfg.beta >= 0 && cfg.beta <= 1)) throw new SparseLoCoError('InvalidConfig', `beta must be in [0, 1], got ${cfg.beta}`);
    checkAligned(this.buffers, delta, 'ErrorFeedback.step');
    for (const d of delta) {
      const x = d.data;
      for (let i = 0; i < x.length; i++) {
        if (!(Math.abs(x[i]) < Infinity)) throw new SparseLoCoError('NonFinite', `pseudo-gradient ${d.name} holds NaN or Inf`);
      }
    }
    const beta = Math.fround(cfg.beta);
    const out: CompressedTensor[] = [];
    for (let t = 0; t < this.buffers.length; t++) {
      const e = this.buffers[t].data;
      const d = delta[t].data;
      for (let i = 0; i < e.length; i++) e[i] = Math.fround(beta * e[i]) + d[i];
      out.push(this.compressAndSubtract(t, cfg));
    }
    return out;
  }

  /** Templar's null round (warm-up, or no peers): e ← 0 and an all-zero update is sent. */
  nullRound(cfg: CompressionConfig): CompressedTensor[] {
    validateCompressionConfig(cfg);
    for (const b of this.buffers) b.data.fill(0);
    return this.buffers.map((b) => compressTensor(b.name, b.shape, b.data, cfg));
  }

  /** e ← 0 without producing an update. */
  reset(): void {
    for (const b of this.buffers) b.data.fill(0);
  }

  private compressAndSubtract(t: number, cfg: CompressionConfig): CompressedTensor {
    const buf = this.buffers[t];
    const ct = compressTensor(buf.name, buf.shape, buf.data, cfg);
    const { layout, indices, codes } = ct;
    const table = dequantTable(ct.quant);
    const offsets = inChunkOffsets(layout);
    const e = buf.data;
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
