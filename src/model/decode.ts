/**
 * Incremental decoding for sampling: a per-layer KV cache of RoPE-rotated keys and values, so each new token
 * costs one row through the network instead of a forward over the whole context. Forward only, on the raw
 * backend kernels (no graph); every intermediate is freed before `append` returns.
 *
 * A prompt appended to an empty cache runs the backend's fused causal attention (the very computation of
 * `LlamaModel.tokenLogProbs`); rows appended after that attend to the cache in plain JS (float64 sums).
 */
import type { Backend, Buf, IntBuf } from '../tensor/backend.ts';
import { headDim, type ModelConfig } from './config.ts';
import { TesseraError } from '../core/errors.ts';

export type DecodeErrorCode = 'ContextFull' | 'BadToken' | 'Disposed';

export class DecodeError extends TesseraError<DecodeErrorCode> {
  override readonly name = 'DecodeError';
}

export function isDecodeError(err: unknown, code?: DecodeErrorCode): err is DecodeError {
  return err instanceof DecodeError && (code === undefined || err.code === code);
}

export interface DecodeLayerWeights {
  readonly attnNorm: Buf;
  /** fused [q; k; v] rows */
  readonly qkv: Buf;
  readonly o: Buf;
  readonly mlpNorm: Buf;
  /** fused [gate; up] rows */
  readonly gateUp: Buf;
  readonly down: Buf;
}

export interface DecodeWeights {
  readonly embed: Buf;
  readonly layers: readonly DecodeLayerWeights[];
  readonly finalNorm: Buf;
  readonly lmHead: Buf;
  /** RoPE tables [maxSeqLen, headDim/2] */
  readonly cos: Buf;
  readonly sin: Buf;
}

export class KvDecoder {
  private readonly keys: Buf[] = [];
  private readonly values: Buf[] = [];
  private used = 0;
  private disposed = false;

  constructor(readonly config: ModelConfig, private readonly be: Backend, private readonly w: DecodeWeights) {
    const kvDim = config.nKvHeads * headDim(config);
    try {
      for (let i = 0; i < config.nLayers; i++) {
        this.keys.push(be.alloc(config.maxSeqLen * kvDim));
        this.values.push(be.alloc(config.maxSeqLen * kvDim));
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** Tokens held in the cache (their positions are 0..length-1). */
  get length(): number {
    return this.used;
  }

  /** Empties the cache (the next append starts at position 0). */
  reset(): void {
    this.used = 0;
  }

  /**
   * Feeds `tokens` at the next positions and returns the logits (a copy, vocabSize values) that predict the
   * token after the last of them. Refuses (changing nothing) ids outside the vocabulary or a context past maxSeqLen.
   */
  append(tokens: readonly number[]): Float32Array {
    if (this.disposed) throw new DecodeError('Disposed', 'decoder was disposed');
    const cfg = this.config;
    const n = tokens.length;
    if (n === 0) throw new DecodeError('BadToken', 'append needs at least one token');
    if (this.used + n > cfg.maxSeqLen) {
      throw new DecodeError('ContextFull', `${this.used} cached + ${n} new tokens exceed the model's maxSeqLen ${cfg.maxSeqLen}`);
    }
    tokens.forEach((id, i) => {
      if (!(Number.isInteger(id) && id >= 0 && id < cfg.vocabSize)) throw new DecodeError('BadToken', `token ${i} = ${id} outside [0, ${cfg.vocabSize})`);
    });
    const be = this.be;
    const scratch: Buf[] = [];
    const tmp = (size: number): Buf => {
      const b = be.allocUninit(size);
      scratch.push(b);
      return b;
    };
    const ids = be.allocInt(n);
    try {
      be.intView(ids).set(tokens);
      const logits = this.forward(ids, n, tmp);
      this.used += n;
      return Float32Array.from(be.view(logits));
    } finally {
      be.free(ids);
      for (const b of scratch) be.free(b);
    }
  }

  private forward(ids: IntBuf, n: number, tmp: (size: number) => Buf): Buf {
    const cfg = this.config;
    const be = this.be;
    const d = cfg.dim;
    const hd = headDim(cfg);
    const H = cfg.nHeads, KV = cfg.nKvHeads;
    const qkvWidth = (H + 2 * KV) * hd;
    const kvDim = KV * hd;
    const half = hd / 2;
    const p0 = this.used;
    const x = tmp(n * d);
    be.embedding(x, this.w.embed, ids, n, d);
    const h = tmp(n * d);
    const rstd = tmp(n);
    const qkv = tmp(n * qkvWidth);
    const qkvR = tmp(n * qkvWidth);
    const att = tmp(n * H * hd);
    const lse = tmp(H * n);
    const proj = tmp(n * d);
    const gu = tmp(n * 2 * cfg.ffnDim);
    const m = tmp(n * cfg.ffnDim);
    const cos = be.sub(this.w.cos, p0 * half, n * half);
    const sin = be.sub(this.w.sin, p0 * half, n * half);
    this.w.layers.forEach((l, li) => {
      be.rmsnorm(h, rstd, x, l.attnNorm, n, d, cfg.normEps);
      be.matmul(qkv, h, l.qkv, n, qkvWidth, d, false, true, false);
      // the sub-tables start at position p0, so row r is rotated for position p0 + r
      be.rope(qkvR, qkv, cos, sin, n, n, H, KV, hd, false);
      const rows = be.view(qkvR);
      const K = be.view(this.keys[li]);
      const V = be.view(this.values[li]);
      for (let r = 0; r < n; r++) {
        K.set(rows.subarray(r * qkvWidth + H * hd, r * qkvWidth + H * hd + kvDim), (p0 + r) * kvDim);
        V.set(rows.subarray(r * qkvWidth + (H + KV) * hd, (r + 1) * qkvWidth), (p0 + r) * kvDim);
      }
      if (p0 === 0) be.attention(att, lse, qkvR, { batch: 1, seqLen: n, nHeads: H, nKvHeads: KV, headDim: hd, scale: 1 / Math.sqrt(hd) });
      else cachedAttention(be.view(att), rows, K, V, p0, n, H, KV, hd);
      be.matmul(proj, att, l.o, n, d, H * hd, false, true, false);
      be.axpy(x, proj, 1);
      be.rmsnorm(h, rstd, x, l.mlpNorm, n, d, cfg.normEps);
      be.matmul(gu, h, l.gateUp, n, 2 * cfg.ffnDim, d, false, true, false);
      be.swiglu(m, gu, n, cfg.ffnDim);
      be.matmul(proj, m, l.down, n, d, cfg.ffnDim, false, true, false);
      be.axpy(x, proj, 1);
    });
    const hf = tmp(d);
    be.rmsnorm(hf, tmp(1), be.sub(x, (n - 1) * d, d), this.w.finalNorm, 1, d, cfg.normEps);
    const logits = tmp(cfg.vocabSize);
    be.matmul(logits, hf, this.w.lmHead, 1, cfg.vocabSize, d, false, true, false);
    return logits;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of [...this.keys, ...this.values]) this.be.free(b);
    this.keys.length = 0;
    this.values.length = 0;
  }
}

/** Causal GQA attention of n new query rows (positions p0..p0+n-1) over the cached keys/values 0..p0+n-1. */
function cachedAttention(
  out: Float32Array | Float64Array, qkv: Float32Array | Float64Array, K: Float32Array | Float64Array, V: Float32Array | Float64Array,
  p0: number, n: number, H: number, KV: number, hd: number,
): void {
  const width = (H + 2 * KV) * hd;
  const kvDim = KV * hd;
  const group = H / KV;
  const scale = 1 / Math.sqrt(hd);
  const p = new Float64Array(p0 + n);
  const acc = new Float64Array(hd);
  for (let r = 0; r < n; r++) {
    const last = p0 + r;
    for (let head = 0; head < H; head++) {
      const kvOff = Math.floor(head / group) * hd;
      const q = r * width + head * hd;
      let max = -Infinity;
      for (let j = 0; j <= last; j++) {
        const k = j * kvDim + kvOff;
        let s = 0;
        for (let i = 0; i < hd; i++) s += qkv[q + i] * K[k + i];
        p[j] = s * scale;
        if (p[j] > max) max = p[j];
      }
      let sum = 0;
      acc.fill(0);
      for (let j = 0; j <= last; j++) {
        const e = Math.exp(p[j] - max);
        sum += e;
        const v = j * kvDim + kvOff;
        for (let i = 0; i < hd; i++) acc[i] += e * V[v + i];
      }
      const o = r * H * hd + head * hd;
      for (let i = 0; i < hd; i++) out[o + i] = acc[i] / sum;
    }
  }
}
