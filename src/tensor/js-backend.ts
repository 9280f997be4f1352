/**
 * Plain-JS reference backend: straightforward loops, float32 or float64 storage, one thread.
 * It defines what every kernel means; gradient checks run on it in float64 and the wasm kernels are tested
 * against it in float32.
 */
import type { AdamWArgs, AttentionGeom, Backend, Buf, DType, FloatArray, IntBuf } from './backend.ts';
import { TensorError } from './errors.ts';

function arr(b: Buf): FloatArray {
  if (!(b instanceof Float32Array || b instanceof Float64Array)) {
    throw new TensorError('BackendMismatch', 'buffer does not belong to the JS backend');
  }
  return b;
}

function ints(b: IntBuf): Int32Array {
  if (!(b instanceof Int32Array)) throw new TensorError('BackendMismatch', 'int buffer does not belong to the JS backend');
  return b;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export class JsBackend implements Backend {
  readonly name: string;
  readonly threads = 1;

  constructor(readonly dtype: DType = 'float32') {
    this.name = `js-${dtype}`;
  }

  alloc(n: number): Buf {
    if (!Number.isSafeInteger(n) || n < 0) throw new TensorError('InvalidArgument', `bad allocation size ${n}`);
    return this.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  }
  allocUninit(n: number): Buf {
    return this.alloc(n);
  }
  allocInt(n: number): IntBuf {
    return new Int32Array(n);
  }
  free(): void {}
  sub(b: Buf, offset: number, length: number): Buf {
    const a = arr(b);
    if (offset < 0 || length < 0 || offset + length > a.length) throw new TensorError('InvalidArgument', 'sub-view out of range');
    return a.subarray(offset, offset + length);
  }
  view(b: Buf): FloatArray {
    return arr(b);
  }
  intView(b: IntBuf): Int32Array {
    return ints(b);
  }
  dispose(): void {}

  fill(dst: Buf, value: number): void {
    arr(dst).fill(value);
  }
  copy(dst: Buf, src: Buf): void {
    arr(dst).set(arr(src));
  }
  add(out: Buf, a: Buf, b: Buf): void {
    const o = arr(out), x = arr(a), y = arr(b);
    for (let i = 0; i < o.length; i++) o[i] = x[i] + y[i];
  }
  mul(out: Buf, a: Buf, b: Buf): void {
    const o = arr(out), x = arr(a), y = arr(b);
    for (let i = 0; i < o.length; i++) o[i] = x[i] * y[i];
  }
  scale(out: Buf, a: Buf, s: number): void {
    const o = arr(out), x = arr(a);
    for (let i = 0; i < o.length; i++) o[i] = x[i] * s;
  }
  axpy(dst: Buf, src: Buf, s: number): void {
    const o = arr(dst), x = arr(src);
    for (let i = 0; i < o.length; i++) o[i] += x[i] * s;
  }
  sum(x: Buf, squares: boolean): number {
    const a = arr(x);
    let s = 0;
    for (let i = 0; i < a.length; i++) s += squares ? a[i] * a[i] : a[i];
    return s;
  }

  matmul(c: Buf, a: Buf, b: Buf, m: number, n: number, k: number, transA: boolean, transB: boolean, acc: boolean): void {
    const C = arr(c), A = arr(a), B = arr(b);
    const sAi = transA ? 1 : k, sAk = transA ? m : 1;
    const sBk = transB ? 1 : n, sBj = transB ? k : 1;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = acc ? C[i * n + j] : 0;
        for (let p = 0; p < k; p++) s += A[i * sAi + p * sAk] * B[p * sBk + j * sBj];
        C[i * n + j] = s;
      }
    }
  }
  transpose2d(out: Buf, a: Buf, rows: number, cols: number): void {
    const o = arr(out), x = arr(a);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) o[c * rows + r] = x[r * cols + c];
  }

  silu(y: Buf, x: Buf): void {
    const o = arr(y), a = arr(x);
    for (let i = 0; i < o.length; i++) o[i] = a[i] * sigmoid(a[i]);
  }
  siluBackward(dx: Buf, x: Buf, dy: Buf, acc: boolean): void {
    const o = arr(dx), a = arr(x), g = arr(dy);
    for (let i = 0; i < o.length; i++) {
      const s = sigmoid(a[i]);
      const d = g[i] * s * (1 + a[i] * (1 - s));
      o[i] = acc ? o[i] + d : d;
    }
  }
  softmax(y: Buf, x: Buf, rows: number, n: number): void {
    const o = arr(y), a = arr(x);
    for (let r = 0; r < rows; r++) {
      let m = -Infinity;
      for (let j = 0; j < n; j++) m = Math.max(m, a[r * n + j]);
      let s = 0;
      for (let j = 0; j < n; j++) s += Math.exp(a[r * n + j] - m);
      for (let j = 0; j < n; j++) o[r * n + j] = Math.exp(a[r * n + j] - m) / s;
    }
  }
  softmaxBackward(dx: Buf, y: Buf, dy: Buf, rows: number, n: number, acc: boolean): void {
    const o = arr(dx), p = arr(y), g = arr(dy);
    for (let r = 0; r < rows; r++) {
      let dot = 0;
      for (let j = 0; j < n; j++) dot += g[r * n + j] * p[r * n + j];
      for (let j = 0; j < n; j++) {
        const d = p[r * n + j] * (g[r * n + j] - dot);
        o[r * n + j] = acc ? o[r * n + j] + d : d;
      }
    }
  }

  embedding(out: Buf, w: Buf, tokens: IntBuf, n: number, dim: number): void {
    const o = arr(out), W = arr(w), t = ints(tokens);
    for (let i = 0; i < n; i++) o.set(W.subarray(t[i] * dim, t[i] * dim + dim), i * dim);
  }
  embeddingBackward(dw: Buf, dOut: Buf, tokens: IntBuf, n: number, dim: number): void {
    const D = arr(dw), g = arr(dOut), t = ints(tokens);
    for (let i = 0; i < n; i++) for (let c = 0; c < dim; c++) D[t[i] * dim + c] += g[i * dim + c];
  }

  rmsnorm(y: Buf, rstd: Buf, x: Buf, w: Buf, rows: number, dim: number, eps: number): void {
    const o = arr(y), rs = arr(rstd), a = arr(x), W = arr(w);
    for (let r = 0; r < rows; r++) {
      let ss = 0;
      for (let c = 0; c < dim; c++) ss += a[r * dim + c] * a[r * dim + c];
      const s = 1 / Math.sqrt(ss / dim + eps);
      rs[r] = s;
      for (let c = 0; c < dim; c++) o[r * dim + c] = W[c] * (a[r * dim + c] * s);
    }
  }
  rmsnormBackwardX(dx: Buf, x: Buf, w: Buf, rstd: Buf, dy: Buf, rows: number, dim: number, acc: boolean): void {
    const o = arr(dx), a = arr(x), W = arr(w), rs = arr(rstd), g = arr(dy);
    for (let r = 0; r < rows; r++) {
      let dot = 0;
      for (let c = 0; c < dim; c++) dot += g[r * dim + c] * W[c] * a[r * dim + c];
      const s = rs[r];
      const k = s * s * (dot / dim);
      for (let c = 0; c < dim; c++) {
        const d = s * (g[r * dim + c] * W[c] - a[r * dim + c] * k);
        o[r * dim + c] = acc ? o[r * dim + c] + d : d;
      }
    }
  }
  rmsnormBackwardW(dw: Buf, x: Buf, rstd: Buf, dy: Buf, rows: number, dim: number, acc: boolean): void {
    const o = arr(dw), a = arr(x), rs = arr(rstd), g = arr(dy);
    for (let c = 0; c < dim; c++) {
      let s = acc ? o[c] : 0;
      for (let r = 0; r < rows; r++) s += g[r * dim + c] * (a[r * dim + c] * rs[r]);
      o[c] = s;
    }
  }

  rope(out: Buf, x: Buf, cos: Buf, sin: Buf, rows: number, seqLen: number, nHeads: number, nKvHeads: number, headDim: number, inverse: boolean): void {
    const o = arr(out), a = arr(x), C = arr(cos), S = arr(sin);
    const h = headDim / 2;
    const width = (nHeads + 2 * nKvHeads) * headDim;
    const rotHeads = nHeads + nKvHeads;
    for (let r = 0; r < rows; r++) {
      const pos = r % seqLen;
      const base = r * width;
      for (let hh = 0; hh < rotHeads; hh++) {
        const off = base + hh * headDim;
        for (let d = 0; d < h; d++) {
          const p = a[off + d], q = a[off + d + h], c = C[pos * h + d], s = S[pos * h + d];
          if (inverse) {
            o[off + d] = p * c + q * s;
            o[off + d + h] = q * c - p * s;
          } else {
            o[off + d] = p * c - q * s;
            o[off + d + h] = q * c + p * s;
          }
        }
      }
      for (let i = rotHeads * headDim; i < width; i++) o[base + i] = a[base + i];
    }
  }

  swiglu(h: Buf, gu: Buf, rows: number, f: number): void {
    const o = arr(h), a = arr(gu);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < f; c++) {
        const g = a[r * 2 * f + c];
        o[r * f + c] = g * sigmoid(g) * a[r * 2 * f + f + c];
      }
    }
  }
  swigluBackward(dgu: Buf, gu: Buf, dh: Buf, rows: number, f: number, acc: boolean): void {
    const o = arr(dgu), a = arr(gu), d = arr(dh);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < f; c++) {
        const gi = r * 2 * f + c, ui = gi + f;
        const g = a[gi], s = sigmoid(g);
        const dg = d[r * f + c] * a[ui] * s * (1 + g * (1 - s));
        const du = d[r * f + c] * g * s;
        o[gi] = acc ? o[gi] + dg : dg;
        o[ui] = acc ? o[ui] + du : du;
      }
    }
  }

  attention(out: Buf, lse: Buf, qkv: Buf, g: AttentionGeom): void {
    const O = arr(out), L = arr(lse), X = arr(qkv);
    const { batch: B, seqLen: T, nHeads: H, nKvHeads: KV, headDim: hd, scale } = g;
    const width = (H + 2 * KV) * hd;
    const group = H / KV;
    const p = new Float64Array(T);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const kv = Math.floor(h / group);
        const qo = h * hd, ko = (H + kv) * hd, vo = (H + KV + kv) * hd;
        for (let i = 0; i < T; i++) {
          const qi = (b * T + i) * width + qo;
          let m = -Infinity;
          for (let j = 0; j <= i; j++) {
            const kj = (b * T + j) * width + ko;
            let s = 0;
            for (let d = 0; d < hd; d++) s += X[qi + d] * X[kj + d];
            p[j] = s * scale;
            m = Math.max(m, p[j]);
          }
          let sum = 0;
          for (let j = 0; j <= i; j++) {
            p[j] = Math.exp(p[j] - m);
            sum += p[j];
          }
          L[(b * H + h) * T + i] = m + Math.log(sum);
          const oi = (b * T + i) * H * hd + qo;
          for (let d = 0; d < hd; d++) {
            let s = 0;
            for (let j = 0; j <= i; j++) s += p[j] * X[(b * T + j) * width + vo + d];
            O[oi + d] = s / sum;
          }
        }
      }
    }
  }
  attentionBackward(dqkv: Buf, qkv: Buf, out: Buf, dOut: Buf, lse: Buf, g: AttentionGeom): void {
    const dX = arr(dqkv), X = arr(qkv), O = arr(out), dO = arr(dOut), L = arr(lse);
    const { batch: B, seqLen: T, nHeads: H, nKvHeads: KV, headDim: hd, scale } = g;
    const width = (H + 2 * KV) * hd;
    const group = H / KV;
    dX.fill(0);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const kv = Math.floor(h / group);
        const qo = h * hd, ko = (H + kv) * hd, vo = (H + KV + kv) * hd;
        for (let i = 0; i < T; i++) {
          const qi = (b * T + i) * width + qo;
          const oi = (b * T + i) * H * hd + qo;
          const l = L[(b * H + h) * T + i];
          let D = 0;
          for (let d = 0; d < hd; d++) D += dO[oi + d] * O[oi + d];
          for (let j = 0; j <= i; j++) {
            const kj = (b * T + j) * width + ko;
            const vj = (b * T + j) * width + vo;
            let s = 0, dp = 0;
            for (let d = 0; d < hd; d++) {
              s += X[qi + d] * X[kj + d];
              dp += dO[oi + d] * X[vj + d];
            }
            const p = Math.exp(s * scale - l);
            const ds = p * (dp - D) * scale;
            for (let d = 0; d < hd; d++) {
              dX[qi + d] += ds * X[kj + d];
              dX[kj + d] += ds * X[qi + d];
              dX[vj + d] += p * dO[oi + d];
            }
          }
        }
      }
    }
  }

  crossEntropy(loss: Buf, lse: Buf, logits: Buf, targets: IntBuf, rows: number, vocab: number): void {
    const Lo = arr(loss), L = arr(lse), X = arr(logits), t = ints(targets);
    for (let r = 0; r < rows; r++) {
      let m = -Infinity;
      for (let j = 0; j < vocab; j++) m = Math.max(m, X[r * vocab + j]);
      let s = 0;
      for (let j = 0; j < vocab; j++) s += Math.exp(X[r * vocab + j] - m);
      const l = m + Math.log(s);
      L[r] = l;
      Lo[r] = t[r] < 0 ? 0 : l - X[r * vocab + t[r]];
    }
  }
  crossEntropyBackward(dx: Buf, logits: Buf, lse: Buf, targets: IntBuf, rows: number, vocab: number, s: number): void {
    const D = arr(dx), X = arr(logits), L = arr(lse), t = ints(targets);
    for (let r = 0; r < rows; r++) {
      const tr = t[r];
      for (let j = 0; j < vocab; j++) {
        const i = r * vocab + j;
        D[i] = tr < 0 ? 0 : (Math.exp(X[i] - L[r]) - (j === tr ? 1 : 0)) * s;
      }
    }
  }

  adamw(p: Buf, g: Buf, m: Buf, v: Buf, a: AdamWArgs): void {
    const P = arr(p), G = arr(g), M = arr(m), V = arr(v);
    const decay = 1 - a.lr * a.weightDecay;
    const stepSize = a.lr / (1 - a.beta1 ** a.step);
    const bc2 = Math.sqrt(1 - a.beta2 ** a.step);
    for (let i = 0; i < P.length; i++) {
      const gi = G[i] * a.gradScale;
      M[i] = M[i] * a.beta1 + gi * (1 - a.beta1);
      V[i] = V[i] * a.beta2 + gi * gi * (1 - a.beta2);
      P[i] = P[i] * decay - stepSize * (M[i] / (Math.sqrt(V[i]) / bc2 + a.eps));
    }
  }
}
